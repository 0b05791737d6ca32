"""pandas accessors ``DataFrame.emotions`` and ``Series.emotions``, registered when
``emospark`` is imported with pandas installed.

The accessors hold only the pandas object and delegate to the core. The result is
the one schema of :mod:`emospark.core.schema` as a pandas ``ArrowDtype`` column (the same
Arrow type Spark returns), or, with ``expand=True``, one float32 column per label
(NaN for missing texts) plus a ``labels`` list column. Index, order and row count
are kept; missing texts give null scores and no labels.

>>> import pandas as pd
>>> import emospark
>>> df = pd.DataFrame({"text": ["Thank you so much!", None]}, index=[10, 20])
>>> out = df.emotions.score()
>>> out["emotions"].dtype == pd.ArrowDtype(emospark.core.schema.result_type())
True
>>> out["emotions"].tolist()[0]["labels"]
['gratitude']
>>> wide = df.emotions.score(expand=True, top_k=1)
>>> wide.loc[10, "labels"], bool(pd.isna(wide.loc[20, "joy"]))
(['gratitude'], True)
>>> df["text"].emotions.score().index.tolist()
[10, 20]
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa

from ..errors import require
from ..core.inputs import first_not_text, not_text
from ..core.model import EmotionModel
from ..core.model_cache import ModelRef, cached_model
from ..core.rollups import groups
from ..core.schema import DEFAULT_COLUMN
from ..core.scoring import score_arrow

pd = require("pandas", "pandas", "the pandas accessor (df.emotions)")

Threshold = float | Sequence[float] | Mapping[str, float] | None


def text_column(df: pd.DataFrame, text_col: str) -> pd.Series:
    """The column ``text_col`` of ``df``, refused clearly if it is absent or not text."""
    if text_col not in df.columns:
        raise ValueError(f"no column {text_col!r} to score: the DataFrame's columns are {list(df.columns)}")
    column = df[text_col]
    if isinstance(column, pd.DataFrame):
        raise ValueError(f"the column name {text_col!r} is not unique in this DataFrame")
    return check_text(column, text_col)


def check_text(texts: pd.Series, name: object) -> pd.Series:
    """``texts`` if its dtype can hold strings (object, string, Arrow string, categories of strings)
    or if every value is missing (a column of nulls read as float64 NaN is a column of missing texts)."""
    dtype = texts.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    if not pd.api.types.is_string_dtype(dtype) and not texts.isna().all():
        raise TypeError(f"column {name!r} has dtype {texts.dtype}, not text: cast it with .astype('string') first")
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
    threshold: Threshold = None,
    top_k: int | None = None,
    batch_size: int | None = None,
    rollups: Sequence[str] = (),
) -> pd.Series | pd.DataFrame:
    """The result of each text on the index of ``texts``: an ``ArrowDtype`` struct Series
    called ``name``, or with ``expand=True`` a DataFrame of one float32 column per label
    (NaN for missing texts) and a ``labels`` list column. Each of ``rollups`` (see
    :mod:`emospark.core.rollups`) adds a struct field, or ``<rollup>_<group>`` columns."""
    try:
        result = score_arrow(model, texts, threshold=threshold, top_k=top_k, rollups=rollups, batch_size=batch_size)
    except TypeError:  # name the row by its index label too
        row = first_not_text(texts)
        if row is None:
            raise
        raise TypeError(
            f"column {texts.name!r}, index label {texts.index[row : row + 1].tolist()[0]!r}: texts[{row}] is {not_text(texts.iloc[row])}"
        ) from None
    if not expand:
        return arrow_series(result, texts.index, name)
    scores = result.field("scores")
    out = pd.DataFrame({lab: scores.field(j).to_numpy(zero_copy_only=False) for j, lab in enumerate(model.labels)},
                       index=texts.index)
    out["labels"] = arrow_series(result.field("labels"), texts.index, "labels").array
    for rollup in rollups:
        group_scores = result.field(rollup)
        for j, group in enumerate(groups(rollup)):
            out[f"{rollup}_{group}"] = group_scores.field(j).to_numpy(zero_copy_only=False)
    return out


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
        model: ModelRef | EmotionModel = None,
        threshold: Threshold = None,
        top_k: int | None = None,
        batch_size: int | None = None,
        rollups: Sequence[str] = (),
    ) -> pd.DataFrame:
        """A new DataFrame: ``df`` plus the struct column ``out_col``, or with
        ``expand=True`` plus one float32 column per label and ``labels``.
        New columns replace existing ones of the same name, as with ``DataFrame.assign``.

        ``rollups`` (``["ekman"]``, ``["sentiment"]`` or both) adds the GoEmotions paper's
        groupings, a group scoring the max of its members (:mod:`emospark.core.rollups`).
        ``model`` is a registered name, a bundle directory or a loaded
        :class:`~emospark.EmotionModel` (default: the bundled model); ``threshold``
        and ``top_k`` are those of :meth:`~emospark.EmotionModel.predict`.
        """
        texts = text_column(self._df, text_col)
        new = score_texts(
            texts, resolve_model(model), expand=expand, name=out_col, threshold=threshold, top_k=top_k,
            batch_size=batch_size, rollups=rollups,
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
        threshold: Threshold = None,
        top_k: int | None = None,
        batch_size: int | None = None,
        rollups: Sequence[str] = (),
    ) -> pd.Series | pd.DataFrame:
        """The struct Series called ``name`` on the same index, or with ``expand=True``
        a DataFrame of one float32 column per label and ``labels``.
        Options are those of :meth:`EmotionsFrameAccessor.score`."""
        texts = check_text(self._series, self._series.name)
        return score_texts(
            texts, resolve_model(model), expand=expand, name=name, threshold=threshold, top_k=top_k,
            batch_size=batch_size, rollups=rollups,
        )
