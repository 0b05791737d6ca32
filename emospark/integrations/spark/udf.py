"""The vectorized pandas UDF that adds the emotions struct column, and :func:`score`.

A factory in the manner of pyspark's ``predict_batch_udf``: the options are checked on
the driver (:func:`.options.check_options`) and only they travel to the executors, as
plain values; each Python worker loads the model on its first batch, once
(:mod:`emospark.core.model_cache`), with as many onnxruntime and tokenizer threads as
the task has CPUs (``spark.task.cpus``) unless ``threads`` says otherwise. The pickled
function needs nothing of emospark to be unpickled: a worker whose Python lacks
emospark fails its first task with one message naming that Python and the fix.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any

import pandas as pd  # the UDF's type hints name it
from pyspark.sql import Column, DataFrame  # noqa: E402
from pyspark.sql.functions import col, pandas_udf  # noqa: E402
from pyspark.sql.pandas.types import from_arrow_type  # noqa: E402
from pyspark.sql.types import DataType, NullType, StringType  # noqa: E402

from ...core.schema import DEFAULT_COLUMN
from ...core.scoring import score_type
from ...errors import InputError, UsageError
from ...labels import GO_EMOTIONS
from .environment import FIX_HINT, use_driver_python
from .options import SparkOptions, check_options

MISSING_EMOSPARK = "emospark cannot be imported by the Spark worker's Python"


def spark_type(options: SparkOptions) -> DataType:
    """The Spark type of the result column: always :func:`~emospark.core.scoring.score_type`'s."""
    return from_arrow_type(score_type(GO_EMOTIONS, options.rollups, options.schema_version))


def emotions_udf(model: Any = None, **options: Any) -> Callable[..., Column]:
    """A pandas UDF mapping a string column to the emotions struct column.

    ``model``: None (the bundled default), a registered name, a bundle directory the
    driver and every executor can read, or :func:`ship_bundle`'s result. ``threshold``,
    ``top_k`` and ``batch_size`` are those of :meth:`emospark.EmotionModel.predict`;
    ``threads`` defaults to the task's CPUs; ``rollups`` adds the Ekman / sentiment
    groupings (:mod:`emospark.core.rollups`) as struct fields; ``schema_version`` 1 drops
    ``top`` and ``top_score``; ``long_texts``, ``aggregate`` and ``overlap`` go to
    :func:`emospark.load` on the executors. Everything is checked here, on the driver.
    """
    checked = check_options(model, **options)
    use_driver_python()
    return udf_for(checked)


def udf_for(options: SparkOptions):
    """The pandas UDF for already checked options."""
    return pandas_udf(batch_scorer(asdict(options)), returnType=spark_type(options))


def batch_scorer(spec: dict[str, Any]) -> Callable[[Iterator[Any]], Iterator[Any]]:
    """The UDF function. A closure (cloudpickle sends it by value) over ``spec``, plain
    values only; it imports emospark when it runs, on the worker."""

    def score_emotions(batches: Iterator[pd.Series]) -> Iterator[pd.DataFrame]:
        try:
            from emospark.integrations.spark.worker import score_batches
        except ImportError as exc:
            import sys

            raise RuntimeError(f"{MISSING_EMOSPARK} {sys.executable} ({exc}): {FIX_HINT}") from None
        return score_batches(batches, spec)

    return score_emotions


def score(df: DataFrame, text_col: str = "text", out_col: str = DEFAULT_COLUMN, *, overwrite: bool = False,
          **options: Any) -> DataFrame:
    """``df`` with the emotions struct column ``out_col`` for the string column ``text_col``;
    ``options`` are those of :func:`emotions_udf`. An existing ``out_col`` is an error
    unless ``overwrite=True``. Columns and options are checked before any job runs."""
    check_columns(df, text_col, out_col, overwrite=overwrite)
    checked = check_options(**options)
    if not is_connect_frame(df):
        use_driver_python(df.sparkSession.sparkContext)
    return df.withColumn(out_col, udf_for(checked)(col(quoted(text_col)).cast(StringType())))


def check_columns(df: DataFrame, text_col: str, out_col: str, *, overwrite: bool = False) -> None:
    """``text_col`` exists and holds strings (or only nulls); ``out_col`` is new unless
    ``overwrite``. Spark resolves names without regard to case, and so does this check."""
    if not isinstance(text_col, str) or not isinstance(out_col, str) or not out_col:
        raise UsageError(f"column names must be non-empty strings, got text_col={text_col!r}, out_col={out_col!r}")
    fields = {f.name: f.dataType for f in df.schema.fields}
    if text_col not in fields:
        raise InputError(f"no column {text_col!r} to score: the DataFrame's columns are {list(fields)}")
    if not isinstance(fields[text_col], (StringType, NullType)):  # a column of nulls only is scored as nulls
        raise InputError(f"column {text_col!r} has type {fields[text_col].simpleString()}, not string: cast it first")
    clash = [name for name in fields if name.lower() == out_col.lower()]
    if clash and not overwrite:
        raise UsageError(f"the DataFrame already has a column {clash[0]!r}: choose another out_col or pass "
                         "overwrite=True to replace it")


def is_connect_frame(df: DataFrame) -> bool:
    return type(df).__module__.startswith("pyspark.sql.connect")


def quoted(name: str) -> str:
    """A column name as Spark SQL reads it literally (dots and backticks included)."""
    return "`" + name.replace("`", "``") + "`"

