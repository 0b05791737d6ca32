"""The emotions function in Spark SQL.

Example::

    emospark.spark.register(spark, "emotions", rollups=["sentiment"])
    spark.sql("SELECT text, emotions(text).labels, emotions(text).sentiment.positive FROM comments")

The options are fixed when the function is registered (SQL calls take the text only);
register it again, or under another name, for other options. Works on classic Spark
and on Spark Connect; the function lives in the session (``spark.udf.register``).
"""
from __future__ import annotations

from typing import Any

from ...errors import UsageError
from .environment import use_driver_python
from .options import check_options
from .shipping import is_connect
from .udf import udf_for


def register(spark, name: str = "emotions", model: Any = None, **options: Any):
    """Register the emotions UDF in ``spark`` as the SQL function ``name``; ``options``
    are those of :func:`~emospark.integrations.spark.emotions_udf`, checked here.
    Returns the registered UDF (usable in DataFrame code too)."""
    if not isinstance(name, str) or not name.isidentifier():
        raise UsageError(f"the SQL function name must be a plain identifier, got {name!r}")
    checked = check_options(model, **options)
    if not is_connect(spark):
        use_driver_python(spark.sparkContext)
    return spark.udf.register(name, udf_for(checked))
