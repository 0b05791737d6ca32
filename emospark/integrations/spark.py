"""Spark: a vectorized pandas UDF that adds the emotions struct column, over the same core.

The UDF is a factory in the manner of pyspark's ``predict_batch_udf``: only the model
reference and the options travel to the executors; each Python worker process loads
the model on its first batch, once (:mod:`emospark.core.model_cache`), with as many
onnxruntime and tokenizer threads as the task has CPUs (``spark.task.cpus``) unless
``threads`` says otherwise. Missing texts give rows with null scores and no labels.
It works with classic Spark and with Spark Connect.

Example (the result equals ``df.toPandas().emotions.score()`` row by row)::

    from pyspark.sql import SparkSession
    import emospark.spark

    spark = SparkSession.builder.master("local[2]").getOrCreate()
    df = spark.createDataFrame([("Thank you so much!",), (None,)], "text string")
    scored = emospark.spark.score(df, "text")            # or, equivalently:
    scored = df.withColumn("emotions", emospark.spark.emotions_udf()("text"))
    scored.select("text", "emotions.labels", "emotions.scores.gratitude").show()

A custom bundle directory reaches the executors through a path they can all read,
or by :func:`ship_bundle`::

    model = emospark.spark.ship_bundle(spark, "/data/my-bundle")
    df.withColumn("emotions", emospark.spark.emotions_udf(model)("text"))
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from ..bundles.bundle import Bundle
from ..errors import EmosparkError, require
from ..labels import GO_EMOTIONS
from ..core.model import EmotionModel
from ..core.model_cache import ModelRef, cached_model
from ..core.schema import DEFAULT_COLUMN
from ..core.scoring import score_arrow, score_type

require("pyspark", "spark", "emospark.spark")
from pyspark.sql import Column, DataFrame, SparkSession  # noqa: E402
from pyspark.sql.functions import col, pandas_udf  # noqa: E402
from pyspark.sql.pandas.types import from_arrow_type  # noqa: E402
from pyspark.sql.types import NullType, StringType  # noqa: E402

from .pandas import Threshold, pd  # noqa: E402


@dataclass(frozen=True)
class ShippedBundle:
    """A bundle sent to the executors by :func:`ship_bundle`, found there by its name."""

    name: str

    def local_path(self) -> str:
        """Where the bundle is unpacked in this process (driver or executor)."""
        from pyspark import SparkFiles

        return SparkFiles.get(self.name)


SparkModelRef = ModelRef | ShippedBundle


def ship_bundle(spark: SparkSession, bundle_dir: str | os.PathLike, name: str | None = None) -> ShippedBundle:
    """Zip a bundle directory and send it to every executor (``SparkContext.addArchive``,
    or ``addArtifacts(archive=True)`` on Spark Connect); pass the result as the UDF's model.

    The zip lives in a temporary directory removed when the driver exits.
    """
    bundle = Bundle.from_dir(bundle_dir)
    bundle.verify()
    name = name or bundle.root.name
    workdir = tempfile.mkdtemp(prefix="emospark-ship-")
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    archive = f"{shutil.make_archive(str(Path(workdir) / name), 'zip', bundle.root)}#{name}"
    if is_connect(spark):
        spark.addArtifacts(archive, archive=True)
    else:
        spark.sparkContext.addArchive(archive)
    return ShippedBundle(name)


def is_connect(spark: SparkSession) -> bool:
    """True for a Spark Connect session (which has no ``SparkContext``)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def emotions_udf(
    model: SparkModelRef = None,
    *,
    threshold: Threshold = None,
    top_k: int | None = None,
    batch_size: int | None = None,
    threads: int | None = None,
    rollups: Sequence[str] = (),
    **load_options: Any,
) -> Callable[..., Column]:
    """A pandas UDF mapping a string column to the emotions struct column.

    ``model``: None (the bundled default), a registered name, a bundle directory every
    executor can read, or :func:`ship_bundle`'s result. ``threshold``, ``top_k`` and
    ``batch_size`` are those of :meth:`emospark.EmotionModel.predict`; ``threads``
    defaults to the task's CPUs; ``rollups`` adds the Ekman / sentiment groupings
    (:mod:`emospark.core.rollups`) as struct fields; other keywords (``long_texts``, ``aggregate``, ...)
    go to :func:`emospark.load` on the executors.
    """

    def score_batches(batches: Iterator[pd.Series]) -> Iterator[pd.DataFrame]:
        scorer = executor_model(model, threads, load_options)
        for texts in batches:
            result = score_arrow(scorer, texts, threshold=threshold, top_k=top_k, batch_size=batch_size, rollups=rollups)
            yield pa.Table.from_struct_array(result).to_pandas(types_mapper=pd.ArrowDtype)

    return pandas_udf(score_batches, returnType=from_arrow_type(score_type(GO_EMOTIONS, rollups)))


def score(df: DataFrame, text_col: str = "text", out_col: str = DEFAULT_COLUMN, **options) -> DataFrame:
    """``df`` with the emotions struct column ``out_col`` for the string column ``text_col``;
    ``options`` are those of :func:`emotions_udf`."""
    fields = {f.name: f.dataType for f in df.schema.fields}
    if text_col not in fields:
        raise ValueError(f"no column {text_col!r} to score: the DataFrame's columns are {list(fields)}")
    if not isinstance(fields[text_col], (StringType, NullType)):  # a column of nulls only is scored as nulls
        raise TypeError(
            f"column {text_col!r} has type {fields[text_col].simpleString()}, not string: cast it first"
        )
    return df.withColumn(out_col, emotions_udf(**options)(col(quoted(text_col)).cast(StringType())))


def quoted(name: str) -> str:
    """A column name as Spark SQL reads it literally (dots and backticks included)."""
    return "`" + name.replace("`", "``") + "`"


def executor_model(model: SparkModelRef, threads: int | None, load_options: dict[str, Any]) -> EmotionModel:
    """The model for this task, loaded once per Python worker, with threads fitted to the task."""
    threads = threads or task_cpus()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true" if threads > 1 else "false")
    os.environ.setdefault("RAYON_NUM_THREADS", str(threads))
    path = model.local_path() if isinstance(model, ShippedBundle) else model
    loaded = cached_model(path, threads=threads, **load_options)
    if loaded.labels != GO_EMOTIONS:
        raise EmosparkError(
            f"model {loaded.name} has labels {list(loaded.labels)}; the Spark column holds the 28 go_emotions labels"
        )
    return loaded


def task_cpus() -> int:
    """CPUs given to the running Spark task (``spark.task.cpus``), 1 outside a task."""
    from pyspark import TaskContext

    context = TaskContext.get()
    return context.cpus() if context is not None else 1


__all__ = ["ShippedBundle", "emotions_udf", "is_connect", "score", "ship_bundle"]
