"""Polars: ``pl.col("text").emotions.score(...)``, ``df.emotions.score("text", ...)`` and
the plain function :func:`score`, registered by ``import emospark.polars``.

Each returns the one result schema (:mod:`emospark.core.schema`) as a native
``pl.Struct``, or with ``expand=True`` (on frames) the flat columns of
:mod:`emospark.core.tables`. The expression declares its ``return_dtype``, so building
a lazy plan (``.schema``, ``.explain()``) never loads the model, and is elementwise, so
Polars hands it batches (``head(5)`` scores 5 rows, the streaming engine streams).

>>> import polars as pl
>>> import emospark.polars
>>> df = pl.DataFrame({"text": ["Thank you so much!", None]})
>>> out = df.select(pl.col("text").emotions.score().alias("e"))
>>> out.schema["e"] == emospark.polars.score_dtype()
True
>>> out.select(pl.col("e").struct.field("top")).to_series().to_list()
['gratitude', None]
>>> df.emotions.score("text", expand=True).columns[:3]
['text', 'emotions_admiration', 'emotions_amusement']
>>> df.lazy().with_columns(emospark.polars.score("text").alias("emotions")).collect_schema()["emotions"].fields[2]
Field('top', String)
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from ..bundles.locate import resolve
from ..core.language import warn_not_english
from ..core.model import EmotionModel
from ..core.model_cache import ModelRef, cached_model
from ..core.progress import Progress, progress_bar
from ..core.schema import DEFAULT_COLUMN, SCHEMA_VERSION
from ..core.scoring import Threshold, score_arrow, score_type
from ..core.tables import check_free, check_names
from ..core.tables import expand as flat_columns
from ..errors import InputError, require

pl = require("polars", "polars", "the Polars namespace (pl.col(...).emotions)")


def model_labels(model: ModelRef | EmotionModel) -> tuple[str, ...]:
    """The labels of a model, read from its manifest without loading the ONNX files."""
    return model.labels if isinstance(model, EmotionModel) else tuple(resolve(model).labels)


def score_dtype(
    model: ModelRef | EmotionModel = None, rollups: Sequence[str] = (), schema_version: int = SCHEMA_VERSION
) -> pl.DataType:
    """The ``pl.Struct`` that :func:`score` returns for these options (no model is loaded;
    bad roll-ups or schema versions fail here, when the plan is built)."""
    arrow = score_type(model_labels(model), rollups, schema_version)
    return pl.from_arrow(pa.array([], type=arrow)).dtype


def check_text(dtype: pl.DataType, name: str) -> None:
    """Raise :class:`InputError` unless ``dtype`` holds text (String, Categorical, Enum, Null)."""
    if dtype.base_type() not in (pl.String, pl.Null, pl.Categorical, pl.Enum):
        raise InputError(f"column {name!r} holds {dtype}, not text: cast it with .cast(pl.String) first")


def score_series(texts: pl.Series, model: ModelRef | EmotionModel = None, *, progress: Progress = False,
                 **options: Any) -> pl.Series:
    """The result struct of each text of a Polars Series (the batch function of :func:`score`)."""
    check_text(texts.dtype, texts.name)
    model = model if isinstance(model, EmotionModel) else cached_model(model)
    result = score_arrow(model, texts.cast(pl.String).to_arrow(), progress=progress, **options)
    if "english" in result.type.names:
        warn_not_english(result.field("english"))
    return pl.Series(texts.name, result)


def score(
    expr: pl.Expr | str,
    *,
    model: ModelRef | EmotionModel = None,
    threshold: Threshold = None,
    top_k: int | None = None,
    rollups: Sequence[str] = (),
    schema_version: int = SCHEMA_VERSION,
    batch_size: int | None = None,
    progress: Progress = False,
) -> pl.Expr:
    """An expression giving the result struct of each text of ``expr`` (an expression or a
    column name), named like it. ``model`` is a registered name, a bundle directory or a
    loaded model; the other options are those of :func:`emospark.core.scoring.score_arrow`.
    ``progress`` (off by default: Polars may call once per batch) shows a bar per call."""
    expr = pl.col(expr) if isinstance(expr, str) else expr
    dtype = score_dtype(model, rollups, schema_version)
    options = dict(threshold=threshold, top_k=top_k, rollups=tuple(rollups), schema_version=schema_version,
                   batch_size=batch_size, progress=progress)
    return expr.map_batches(lambda s: score_series(s, model, **options), return_dtype=dtype, is_elementwise=True)


@pl.api.register_expr_namespace("emotions")
class EmotionsExpr:
    """``pl.col("text").emotions.score(...)``: see :func:`score`."""

    def __init__(self, expr: pl.Expr):
        self._expr = expr

    def score(self, **options: Any) -> pl.Expr:
        return score(self._expr, **options)


@pl.api.register_dataframe_namespace("emotions")
class EmotionsFrame:
    """``df.emotions.score("text", ...)``: ``df`` plus the result column ``out_col`` (or,
    with ``expand=True``, its flat columns ``<prefix>_<label>``, ...; ``prefix`` defaults
    to ``out_col``). A taken name is a :class:`~emospark.errors.UsageError` unless
    ``overwrite=True``. ``progress`` (auto: a bar over 5,000 rows where someone watches)
    shows one bar for the frame. Other options are those of :func:`score`."""

    def __init__(self, df: pl.DataFrame):
        self._df = df

    def score(
        self,
        text_col: str = "text",
        out_col: str = DEFAULT_COLUMN,
        expand: bool = False,
        *,
        prefix: str | None = None,
        overwrite: bool = False,
        progress: Progress = None,
        **options: Any,
    ) -> pl.DataFrame:
        if text_col not in self._df.columns:
            raise InputError(f"no column {text_col!r} to score: the DataFrame's columns are {self._df.columns}")
        check_text(self._df.schema[text_col], text_col)
        result_type = score_type(model_labels(options.get("model")), options.get("rollups", ()),
                                 options.get("schema_version", SCHEMA_VERSION))
        check_free(self._df.columns, result_type, out_col, flat=expand, prefix=prefix, overwrite=overwrite)
        with progress_bar(progress, self._df.height) as bar:
            result = self._df.select(score(pl.col(text_col), progress=bar, **options).alias(out_col)).to_series()
        if not expand:
            return self._df.with_columns(result)
        flat = flat_columns(result.to_arrow(), out_col if prefix is None else prefix)
        return self._df.with_columns(pl.Series(name, values) for name, values in flat)


@pl.api.register_lazyframe_namespace("emotions")
class EmotionsLazyFrame:
    """``lf.emotions.score("text", ...)``: the lazy frame plus the result column (lazily)."""

    def __init__(self, lf: pl.LazyFrame):
        self._lf = lf

    def score(self, text_col: str = "text", out_col: str = DEFAULT_COLUMN, **options: Any) -> pl.LazyFrame:
        check_names(self._lf.collect_schema().names(), [out_col], overwrite=options.pop("overwrite", False))
        return self._lf.with_columns(score(pl.col(text_col), **options).alias(out_col))
