"""pandas accessors ``DataFrame.emotions`` and ``Series.emotions``, registered when
``emospark`` is imported with pandas installed.

The accessors hold only the pandas object and delegate to the core. The result is
the one schema of :mod:`emospark.core.schema` as a pandas ``ArrowDtype`` column (the same
Arrow type Spark returns), or, with ``expand=True``, the flat columns of
:mod:`emospark.core.tables` (``emotions_<label>`` float32 with NaN for missing texts,
``emotions_labels``, ``emotions_top``, ``emotions_top_score``). Index, order and row
count are kept; missing texts give null scores, no labels and a null ``top``.

>>> import pandas as pd
>>> import emospark
>>> df = pd.DataFrame({"text": ["Thank you so much!", None]}, index=[10, 20])
>>> out = df.emotions.score()
>>> out["emotions"].dtype == pd.ArrowDtype(emospark.core.schema.result_type())
True
>>> out["emotions"].tolist()[0]["labels"]
['gratitude']
>>> out["emotions"].struct.field("top").fillna("(none)").tolist()
['gratitude', '(none)']
>>> wide = df.emotions.score(expand=True, top_k=1)
>>> wide.loc[10, "emotions_labels"], wide.loc[10, "emotions_top"], bool(pd.isna(wide.loc[20, "emotions_joy"]))
(['gratitude'], 'gratitude', True)
>>> df["text"].emotions.score().index.tolist()
[10, 20]
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from ..core.inputs import first_not_text, not_text
from ..core.language import warn_not_english
from ..core.model import EmotionModel
from ..core.model_cache import ModelRef, cached_model
from ..core.progress import Progress
from ..core.schema import DEFAULT_COLUMN, SCHEMA_VERSION
from ..core.scoring import score_arrow, score_type
from ..core.tables import check_free, check_names, is_text
from ..core.tables import expand as flat_columns
from ..errors import InputError, TextTypeError, require

pd = require("pandas", "pandas", "the pandas accessor (df.emotions)")

Threshold = float | Sequence[float] | Mapping[str, float] | None


def text_column(df: pd.DataFrame, text_col: str) -> pd.Series:
    """The column ``text_col`` of ``df``, refused clearly if it is absent or not text."""
    if text_col not in df.columns:
        raise InputError(f"no column {text_col!r} to score: the DataFrame's columns are {list(df.columns)}")
    column = df[text_col]
    if isinstance(column, pd.DataFrame):
        raise InputError(f"the column name {text_col!r} is not unique in this DataFrame")
    return check_text(column, text_col)


def check_text(texts: pd.Series, name: object) -> pd.Series:
    """``texts`` if its dtype can hold strings (object, string, categories of strings, and the
    Arrow string types of :func:`emospark.core.tables.is_text`: string, large_string,
    string_view, dictionary of strings)
    or if every value is missing (a column of nulls read as float64 NaN is a column of missing texts)."""
    dtype = texts.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    arrow_text = isinstance(dtype, pd.ArrowDtype) and is_text(dtype.pyarrow_dtype)  # large, view, dictionary too
    if not arrow_text and not pd.api.types.is_string_dtype(dtype) and not texts.isna().all():
        raise TextTypeError(f"column {name!r} has dtype {texts.dtype}, not text: cast it with .astype('string') first")
    return texts


def resolve_model(model: ModelRef | EmotionModel) -> EmotionModel:
    """A loaded model as it is, or this process's cached instance of a name or path."""
    return model if isinstance(model, EmotionModel) else cached_model(model)


def score_texts(
    texts: pd.Series,
    model: EmotionModel,
    *,
    expand: bool = False,
    name: str = DEFAULT_COLUMN,
    prefix: str | None = None,
    threshold: Threshold = None,
    top_k: int | None = None,
    batch_size: int | None = None,
    rollups: Sequence[str] = (),
    schema_version: int = SCHEMA_VERSION,
    progress: Progress = None,
) -> pd.Series | pd.DataFrame:
    """The result of each text on the index of ``texts``: an ``ArrowDtype`` struct Series
    called ``name``, or with ``expand=True`` a DataFrame of the flat columns of
    :func:`emospark.core.tables.expand` (``<prefix>_<label>`` float32 with NaN for missing
    texts, ``<prefix>_labels``, ``<prefix>_top``, ``<prefix>_top_score``, roll-ups), the
    prefix defaulting to ``name``."""
    try:
        result = score_arrow(model, texts, threshold=threshold, top_k=top_k, rollups=rollups, batch_size=batch_size,
                             schema_version=schema_version, progress=progress)
    except TextTypeError:  # name the row by its index label too
        row = first_not_text(texts)
        if row is None:
            raise
        raise TextTypeError(
            f"column {texts.name!r}, index label {texts.index[row : row + 1].tolist()[0]!r}: texts[{row}] is {not_text(texts.iloc[row])}"
        ) from None
    if schema_version >= 2:
        warn_not_english(result.field("english"), stacklevel=3)
    if not expand:
        return arrow_series(result, texts.index, name)
    columns = flat_columns(result, name if prefix is None else prefix)
    check_names([], [c for c, _ in columns])
    return pd.DataFrame({c: pandas_values(values) for c, values in columns}, index=texts.index)


def pandas_values(values: pa.Array):
    """A flat result column for pandas: floats as numpy float32 (NaN for nulls), the
    rest (label lists, top labels) as Arrow-backed arrays."""
    if pa.types.is_floating(values.type):
        return values.to_numpy(zero_copy_only=False)
    return pd.arrays.ArrowExtensionArray(values)


def arrow_series(values: pa.Array, index: pd.Index, name: str) -> pd.Series:
    """An Arrow array as an ``ArrowDtype`` Series."""
    return pd.Series(pd.arrays.ArrowExtensionArray(values), index=index, name=name)


@pd.api.extensions.register_dataframe_accessor("emotions")
class EmotionsFrameAccessor:
    """``df.emotions``: score a text column of a DataFrame."""

    def __init__(self, df: pd.DataFrame):
        self._df = df

    def score(
        self,
        text_col: str = "text",
        out_col: str = DEFAULT_COLUMN,
        expand: bool = False,
        *,
        prefix: str | None = None,
        overwrite: bool = False,
        model: ModelRef | EmotionModel = None,
        threshold: Threshold = None,
        top_k: int | None = None,
        batch_size: int | None = None,
        rollups: Sequence[str] = (),
        schema_version: int = SCHEMA_VERSION,
        progress: Progress = None,
    ) -> pd.DataFrame:
        """A new DataFrame: ``df`` plus the struct column ``out_col``, or with
        ``expand=True`` plus flat columns named ``<prefix>_<label>``, ``<prefix>_labels``,
        ``<prefix>_top``, ``<prefix>_top_score`` (``prefix`` defaults to ``out_col``; see
        :mod:`emospark.core.tables`). A result column whose name ``df`` already has is a
        :class:`~emospark.errors.UsageError` unless ``overwrite=True``.

        ``rollups`` (``["ekman"]``, ``["sentiment"]`` or both) adds the GoEmotions paper's
        groupings, a group scoring the max of its members (:mod:`emospark.core.rollups`).
        ``model`` is a registered name, a bundle directory or a loaded
        :class:`~emospark.EmotionModel` (default: the bundled model); ``threshold``
        and ``top_k`` are those of :meth:`~emospark.EmotionModel.predict`; ``schema_version=1``
        gives emospark 0.1's result (no ``top``/``top_score``); ``progress`` is that of
        :meth:`~emospark.EmotionModel.predict_proba` (auto: a bar for over 5,000 rows where
        someone watches).
        """
        texts = text_column(self._df, text_col)
        model = resolve_model(model)
        check_free([str(c) for c in self._df.columns], score_type(model.labels, rollups, schema_version), out_col,
                   flat=expand, prefix=prefix, overwrite=overwrite)
        new = score_texts(
            texts, model, expand=expand, name=out_col, prefix=prefix, threshold=threshold, top_k=top_k,
            batch_size=batch_size, rollups=rollups, schema_version=schema_version, progress=progress,
        )
        columns = new if expand else new.to_frame()
        return self._df.assign(**{str(c): columns[c].array for c in columns.columns})


@pd.api.extensions.register_series_accessor("emotions")
class EmotionsSeriesAccessor:
    """``series.emotions``: score a Series of texts."""

    def __init__(self, series: pd.Series):
        self._series = series

    def score(
        self,
        expand: bool = False,
        *,
        name: str = DEFAULT_COLUMN,
        model: ModelRef | EmotionModel = None,
        **options: Any,
    ) -> pd.Series | pd.DataFrame:
        """The struct Series called ``name`` on the same index, or with ``expand=True``
        a DataFrame of the flat columns (``<prefix>_<label>``, ... with ``prefix``
        defaulting to ``name``). ``prefix``, ``model``, ``threshold``, ``top_k``,
        ``batch_size``, ``rollups``, ``schema_version`` and ``progress`` are those of
        :meth:`EmotionsFrameAccessor.score`."""
        texts = check_text(self._series, self._series.name)
        return score_texts(texts, resolve_model(model), expand=expand, name=name, **options)
