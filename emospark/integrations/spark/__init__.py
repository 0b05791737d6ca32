"""Spark: the emotions struct column as a pandas UDF, a ``pyspark.ml`` Transformer and a
Spark SQL function, over the same core (:func:`emospark.core.scoring.score_arrow`).

Example (the result equals ``df.toPandas().emotions.score()`` row by row)::

    from pyspark.sql import SparkSession
    import emospark.spark

    spark = SparkSession.builder.master("local[2]").getOrCreate()
    df = spark.createDataFrame([("Thank you so much!",), (None,)], "text string")
    scored = emospark.spark.score(df, "text")            # or, equivalently:
    scored = df.withColumn("emotions", emospark.spark.emotions_udf()("text"))
    scored.select("text", "emotions.labels", "emotions.scores.gratitude").show()

    emospark.spark.register(spark, "emotions")           # SQL: SELECT emotions(text).labels ...
    stage = emospark.spark.EmotionClassifier(inputCol="text", outputCol="emotions")  # pyspark.ml

Every option is checked on the driver, before a job runs (:mod:`.options`). In local
mode the Python workers run the driver's interpreter unless ``PYSPARK_PYTHON`` or
``spark.pyspark.python`` says otherwise (:mod:`.environment`). Modules: :mod:`.udf`
(UDF and ``score``), :mod:`.ml` (Transformer), :mod:`.sql` (``register``),
:mod:`.shipping` (``ship_bundle``), :mod:`.worker` (what runs on the executors).
"""
from __future__ import annotations

from ...errors import require

require("pyspark", "spark", "emospark.spark")

from .environment import use_driver_python  # noqa: E402
from .ml import EmotionClassifier  # noqa: E402
from .options import SparkOptions, check_options  # noqa: E402
from .shipping import ShippedBundle, is_connect, ship_bundle  # noqa: E402
from .sql import register  # noqa: E402
from .udf import check_columns, emotions_udf, quoted, score  # noqa: E402

use_driver_python()  # a session started before ``import emospark.spark`` gets the rule too

__all__ = ["EmotionClassifier", "ShippedBundle", "SparkOptions", "check_columns", "check_options", "emotions_udf",
           "is_connect", "quoted", "register", "score", "ship_bundle", "use_driver_python"]
