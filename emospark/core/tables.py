"""Scoring Arrow record batches: every input column is kept, in order, and the result
is added as one struct column (see :mod:`emospark.core.schema`, plus a field per roll-up)
or, with ``expand=True``, as flat columns. The flat rule (:func:`expand`) is the one
pandas, Polars and the CLI share; ``<prefix>`` is the result column's name (``out_col``,
default ``emotions``) unless a prefix is given:

- ``<prefix>_<label>``: float32 score of each label;
- ``<prefix>_labels``: list of the labels that reach their thresholds;
- ``<prefix>_top``, ``<prefix>_top_score`` and ``<prefix>_english`` (schema v2);
- ``<prefix>_<rollup>_<group>``: float32 score of each roll-up group.

A result column whose name is already taken is an error (:func:`check_names`) unless
overwriting is asked for.

>>> import emospark, pyarrow as pa
>>> scorer = BatchScorer(emospark.load(), "text", rollups=["sentiment"])
>>> batch = pa.RecordBatch.from_pydict({"id": [1, 2], "text": ["Thank you!", None]})
>>> out = scorer(batch)
>>> out.schema.names
['id', 'text', 'emotions']
>>> out.column("emotions").to_pylist()[0]["labels"], out.column("emotions").to_pylist()[1]["labels"]
(['gratitude'], [])
>>> BatchScorer(emospark.load(), "text", expand=True)(batch).schema.names[2:5]
['emotions_admiration', 'emotions_amusement', 'emotions_anger']
"""
from __future__ import annotations

from collections import Counter
from typing import Mapping, Sequence

import pyarrow as pa

from ..errors import InputError, UsageError
from .language import count_message
from .model import EmotionModel
from .options import check_rollups
from .schema import DEFAULT_COLUMN, SCHEMA_VERSION
from .scoring import score_arrow


def is_text(t: pa.DataType) -> bool:
    """Arrow types that hold text (or only nulls)."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    is_view = getattr(pa.types, "is_string_view", lambda _: False)  # pyarrow >= 16
    return pa.types.is_string(t) or pa.types.is_large_string(t) or is_view(t) or pa.types.is_null(t)


def check_column(schema: pa.Schema, name: str, where: str, *, text: bool = False) -> None:
    """Raise :class:`InputError` unless ``schema`` has the column ``name`` (holding text
    if ``text``); the message names ``where`` (the file) and lists the candidates."""
    if name not in schema.names:
        raise InputError(f"{where}: no column '{name}'; the columns are {schema.names}")
    if text and not is_text(schema.field(name).type):
        candidates = [f.name for f in schema if is_text(f.type)]
        raise InputError(
            f"{where}: column '{name}' holds {schema.field(name).type}, not text; the text columns are {candidates}"
        )


def expand(result: pa.StructArray, prefix: str) -> list[tuple[str, pa.Array]]:
    """The fields of a result struct as flat named columns (see the module doc).

    >>> from emospark.core.schema import to_arrow
    >>> import numpy as np
    >>> [name for name, _ in expand(to_arrow(np.array([[0.9, 0.1]]), [["joy"]], ("joy", "anger")), "emo")]
    ['emo_joy', 'emo_anger', 'emo_labels', 'emo_top', 'emo_top_score', 'emo_english']
    """
    columns = []
    for i, field in enumerate(result.type):
        child = result.field(i)
        if pa.types.is_struct(field.type):
            stem = prefix if field.name == "scores" else f"{prefix}_{field.name}"
            columns += [(f"{stem}_{sub.name}", child.field(j)) for j, sub in enumerate(field.type)]
        else:
            columns.append((f"{prefix}_{field.name}", child))
    return columns


def check_free(existing: Sequence[str], result: pa.StructType, out_col: str, *, flat: bool = False,
               prefix: str | None = None, overwrite: bool = False) -> None:
    """:func:`check_names` for the columns a result of type ``result`` will add: ``out_col``,
    or with ``flat`` the columns of :func:`expand` (``prefix`` defaulting to ``out_col``).

    >>> from emospark.core.schema import result_type
    >>> check_free(["id", "emo_joy"], result_type(("joy",)), "emo", flat=True)
    Traceback (most recent call last):
    ...
    emospark.errors.UsageError: the result columns ['emo_joy'] are already in the table: ...
    """
    empty = pa.array([], type=result)
    new = [name for name, _ in expand(empty, out_col if prefix is None else prefix)] if flat else [out_col]
    check_names(existing, new, overwrite=overwrite)


def check_names(existing: Sequence[str], new: Sequence[str], *, overwrite: bool = False, how: str = "") -> None:
    """Raise :class:`UsageError` if a result column name in ``new`` is taken in ``existing``
    (unless ``overwrite``) or given twice; ``how`` says how to choose other names.

    >>> check_names(["id", "joy"], ["emotions_joy"])
    >>> check_names(["id", "emotions_joy"], ["emotions_joy"])
    Traceback (most recent call last):
    ...
    emospark.errors.UsageError: the result columns ['emotions_joy'] are already in the table: ...
    """
    how = how or "name the result otherwise (out_col=, prefix=) or pass overwrite=True to replace them"
    twice = sorted({name for name in new if list(new).count(name) > 1})
    if twice:
        raise UsageError(f"the result column names {twice} would be given twice: {how}")
    taken = [name for name in new if name in set(existing)]
    if taken and not overwrite:
        raise UsageError(f"the result columns {taken} are already in the table: {how}")


class BatchScorer:
    """Adds emotion results for the text column ``text_col`` to record batches.

    ``threshold`` and ``top_k`` are those of :meth:`EmotionModel.predict`; ``rollups``
    names roll-ups of :mod:`emospark.core.rollups` to add.
    """

    def __init__(
        self,
        model: EmotionModel,
        text_col: str,
        *,
        out_col: str = DEFAULT_COLUMN,
        threshold: float | Sequence[float] | Mapping[str, float] | None = None,
        top_k: int | None = None,
        rollups: Sequence[str] = (),
        expand: bool = False,
        prefix: str | None = None,
        schema_version: int = SCHEMA_VERSION,
    ):
        self.model = model
        self.text_col = text_col
        self.out_col = out_col
        self.thresholds = model.threshold_array(threshold)
        self.top_k = top_k
        self.rollups = check_rollups(rollups)  # unknown names fail here, not on the first batch
        self.expand = expand
        self.prefix = out_col if prefix is None else prefix
        self.schema_version = schema_version
        self.english = Counter()  # True/False: texts found English or not so far (schema v2)

    def not_english_message(self) -> str | None:
        """What to tell the user about the texts scored so far that are not English
        (:func:`emospark.core.language.count_message`)."""
        return count_message(self.english[False], self.english[True] + self.english[False])

    def result_columns(self, texts: pa.Array) -> list[tuple[str, pa.Array]]:
        """The result for ``texts`` as (name, column) pairs."""
        result = score_arrow(self.model, texts, threshold=self.thresholds, top_k=self.top_k, rollups=self.rollups,
                             schema_version=self.schema_version)
        if self.schema_version >= 2:
            self.english.update(result.field("english").drop_null().to_pylist())
        return expand(result, self.prefix) if self.expand else [(self.out_col, result)]

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """``batch`` with the result columns appended."""
        names, columns = zip(*self.result_columns(batch.column(self.text_col)), strict=True)
        return pa.RecordBatch.from_arrays([*batch.columns, *columns], names=[*batch.schema.names, *names])

    def output_schema(self, schema: pa.Schema, where: str) -> pa.Schema:
        """The schema of scored batches of ``schema``, after checking that the text
        column is there and holds text and that no result column is already taken."""
        check_column(schema, self.text_col, where, text=True)
        empty = self(pa.RecordBatch.from_pylist([], schema=schema))
        try:
            check_names(schema.names, empty.schema.names[len(schema):], how="name the result otherwise with --out-col")
        except UsageError as exc:
            raise UsageError(f"{where}: {exc}") from None
        return empty.schema

