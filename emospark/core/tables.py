"""Scoring Arrow record batches: every input column is kept, in order, and the result
is added as one struct column (see :mod:`emospark.core.schema`, plus a field per roll-up)
or, with ``expand=True``, as flat columns:

- ``<out>_<label>``: float32 score of each label;
- ``<out>_labels``: list of the labels that reach their thresholds;
- ``<out>_<rollup>_<group>``: float32 score of each roll-up group.

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

from typing import Mapping, Sequence

import pyarrow as pa

from ..errors import InputError, UsageError
from .model import EmotionModel
from .rollups import mapping
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
    """The fields of a result struct as flat named columns (see the module doc)."""
    columns = []
    for i, field in enumerate(result.type):
        child = result.field(i)
        if pa.types.is_struct(field.type):
            stem = prefix if field.name == "scores" else f"{prefix}_{field.name}"
            columns += [(f"{stem}_{sub.name}", child.field(j)) for j, sub in enumerate(field.type)]
        else:
            columns.append((f"{prefix}_{field.name}", child))
    return columns


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
        schema_version: int = SCHEMA_VERSION,
    ):
        for name in rollups:
            mapping(name)  # unknown names fail here, not on the first batch
        self.model = model
        self.text_col = text_col
        self.out_col = out_col
        self.thresholds = model.threshold_array(threshold)
        self.top_k = top_k
        self.rollups = tuple(rollups)
        self.expand = expand
        self.schema_version = schema_version

    def result_columns(self, texts: pa.Array) -> list[tuple[str, pa.Array]]:
        """The result for ``texts`` as (name, column) pairs."""
        result = score_arrow(self.model, texts, threshold=self.thresholds, top_k=self.top_k, rollups=self.rollups,
                             schema_version=self.schema_version)
        return expand(result, self.out_col) if self.expand else [(self.out_col, result)]

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """``batch`` with the result columns appended."""
        names, columns = zip(*self.result_columns(batch.column(self.text_col)))
        return pa.RecordBatch.from_arrays([*batch.columns, *columns], names=[*batch.schema.names, *names])

    def output_schema(self, schema: pa.Schema, where: str) -> pa.Schema:
        """The schema of scored batches of ``schema``, after checking that the text
        column is there and holds text and that no result column is already taken."""
        check_column(schema, self.text_col, where, text=True)
        empty = self(pa.RecordBatch.from_pylist([], schema=schema))
        taken = [name for name in empty.schema.names[len(schema):] if name in schema.names]
        if taken:
            raise UsageError(f"{where} already has the columns {taken}: name the result otherwise with --out-col")
        return empty.schema

