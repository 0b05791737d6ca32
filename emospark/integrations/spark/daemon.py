"""pyspark's Python daemon, with the modules the emotions UDF needs imported once.

Spark starts one daemon per executor (``python -m <spark.python.daemon.module>``) and
the daemon forks one Python worker per task slot. pyspark's own daemon imports almost
nothing, so every worker imports pyspark's worker, pandas, pyarrow, onnxruntime and
emospark itself on its first task (about 1.5 CPU-seconds each, paid again by every
worker). This daemon imports them once, before it forks; the workers inherit them.
Nothing here loads a model or starts a thread pool: each worker loads its model with
the task's CPUs (:func:`.worker.executor_model`). If an import fails the daemon carries
on as pyspark's own would, and the task reports the failure as usual.

:func:`.environment.use_driver_python` selects it in local mode when the user has set
neither ``spark.python.daemon.module`` nor the workers' Python (see docs/spark.md).
"""
from __future__ import annotations

MODULE = __name__


def preload() -> None:
    """Import what every emotions task imports (nothing of it starts a thread pool)."""
    try:
        import pyspark.worker  # noqa: F401
        import pyspark.sql.pandas.serializers  # noqa: F401

        import emospark.integrations.spark.worker  # noqa: F401
    except Exception:  # the task that needs it says what is wrong, with the usual message
        pass


if __name__ == "__main__":
    preload()
    from pyspark.daemon import manager

    manager()
