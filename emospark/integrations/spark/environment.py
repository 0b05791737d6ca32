"""Which Python the Spark workers run, without set-up.

pyspark starts its Python workers with ``PYSPARK_PYTHON``, else ``python3`` from the
PATH (read once, when the ``SparkContext`` starts): a venv that is not activated is
not found, and a ``spark.pyspark.python`` set in the session builder is ignored unless
``spark-submit`` read it. :func:`use_driver_python` fixes both on classic Spark:

- ``PYSPARK_PYTHON`` set: kept as it is;
- else ``spark.pyspark.python`` set: the workers run it;
- else, in local mode: the workers run the driver's interpreter (``sys.executable``),
  which has emospark since the driver imported it.

On a cluster nothing is guessed: a worker that cannot import emospark fails its first
task with :func:`missing_emospark_message` (see :mod:`.udf`).
"""
from __future__ import annotations

import os
import sys


def use_driver_python(sc=None) -> None:
    """Apply the rule above to ``sc`` (default: the active ``SparkContext``, if any)."""
    if sc is None:
        from pyspark import SparkContext

        sc = SparkContext._active_spark_context
    if sc is None or os.environ.get("PYSPARK_PYTHON"):
        return
    configured = sc.getConf().get("spark.pyspark.python", None)
    if configured:
        sc.pythonExec = configured
    elif sc.master.startswith("local"):
        sc.pythonExec = sys.executable


FIX_HINT = ("install emospark (pip install \"emospark[spark]\") into that Python on every node, or point Spark "
            "at a Python that has it: PYSPARK_PYTHON=/path/to/python or --conf spark.pyspark.python=/path/to/python "
            "(on YARN/Kubernetes: ship a packed environment or image, see docs/spark.md)")
