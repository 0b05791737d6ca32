"""The one result schema shared by every entry point: core Arrow output, pandas,
Polars, DuckDB, Spark and the CLI.

Schema version 2 (the default), a struct column (default name ``emotions``) with

- ``scores``: struct of one float32 field per label, in go_emotions order;
- ``labels``: list<string>, the labels that reach their thresholds, in label order
  (most probable first when ``top_k`` is used);
- ``top``: string, the most probable label (whether or not it passes its threshold);
- ``top_score``: float32, its probability;
- ``english``: bool, False where the text is reliably in another language, which the
  default models cannot read (see :mod:`emospark.core.language`); null for a missing
  text, and null everywhere where the language check is not installed;
- one float32 struct per roll-up (see :mod:`emospark.core.rollups`), if asked for.

Schema version 1 is the same without ``top``, ``top_score`` and ``english`` (the shape of
emospark 0.1), for appending to tables written before.

A missing text (None/NaN/NA) gives a row whose scores, ``top``, ``top_score`` and
``english`` are null and whose labels are empty; the row itself is never dropped.

>>> import numpy as np, pyarrow as pa
>>> from emospark.core.schema import result_type, to_arrow
>>> str(result_type(("joy", "anger"), schema_version=1))
'struct<scores: struct<joy: float, anger: float>, labels: list<item: string>>'
>>> [f.name for f in result_type(("joy", "anger"))]
['scores', 'labels', 'top', 'top_score', 'english']
>>> rows = to_arrow(np.array([[0.9, 0.1], [np.nan, np.nan]], dtype=np.float32), [["joy"], []], ("joy", "anger"),
...                 english=pa.array([True, None]))
>>> rows.to_pylist()[1]
{'scores': {'joy': None, 'anger': None}, 'labels': [], 'top': None, 'top_score': None, 'english': None}
>>> rows.to_pylist()[0]["top"]
'joy'
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pyarrow as pa

from ..labels import GO_EMOTIONS

DEFAULT_COLUMN = "emotions"
SCHEMA_VERSIONS = (1, 2)
SCHEMA_VERSION = 2  # the default


def scores_type(labels: Sequence[str] = GO_EMOTIONS) -> pa.StructType:
    """The ``scores`` struct: one float32 per label."""
    return pa.struct([pa.field(lab, pa.float32()) for lab in labels])


def result_type(
    labels: Sequence[str] = GO_EMOTIONS,
    rollups: dict[str, Sequence[str]] | None = None,
    schema_version: int = SCHEMA_VERSION,
) -> pa.StructType:
    """The Arrow type of the result column; ``rollups`` ({name: groups}, see
    :func:`emospark.core.rollups.group_names`) adds one float32 struct per roll-up at the end."""
    fields = [pa.field("scores", scores_type(labels)), pa.field("labels", pa.list_(pa.string()))]
    if schema_version >= 2:
        fields += [pa.field("top", pa.string()), pa.field("top_score", pa.float32()), pa.field("english", pa.bool_())]
    fields += [pa.field(name, scores_type(groups)) for name, groups in (rollups or {}).items()]
    return pa.struct(fields)


def to_arrow(
    proba: np.ndarray,
    label_lists: Sequence[Sequence[str]],
    labels: Sequence[str] = GO_EMOTIONS,
    schema_version: int = SCHEMA_VERSION,
    english: pa.Array | None = None,
) -> pa.StructArray:
    """Build the result column (without roll-ups) from probabilities (NaN rows =
    missing text), the labels that passed and, for schema v2, the English flags
    (:func:`emospark.core.language.english_flags`; None: all null)."""
    proba = np.asarray(proba, dtype=np.float32)
    arrays = [scores_to_arrow(proba, labels), pa.array(label_lists, type=pa.list_(pa.string()))]
    if schema_version >= 2:
        arrays += list(top_to_arrow(proba, labels))
        arrays.append(pa.nulls(len(proba), pa.bool_()) if english is None else english.cast(pa.bool_()))
    return pa.StructArray.from_arrays(arrays, fields=list(result_type(labels, schema_version=schema_version)))


def top_to_arrow(proba: np.ndarray, labels: Sequence[str]) -> tuple[pa.Array, pa.Array]:
    """The most probable label of each row and its probability (null for NaN rows).
    Ties go to the first label in label order."""
    missing = np.isnan(proba).all(axis=1)
    best = np.argmax(np.nan_to_num(proba, nan=-1.0), axis=1)
    names = pa.array(np.asarray(labels, dtype=object)[best], type=pa.string(), mask=missing)
    return names, pa.array(proba[np.arange(len(proba)), best], type=pa.float32(), mask=missing)


def scores_to_arrow(proba: np.ndarray, names: Sequence[str]) -> pa.StructArray:
    """A struct of one float32 field per name from the columns of ``proba``; NaN is null."""
    proba = np.asarray(proba, dtype=np.float32)
    missing = np.isnan(proba)
    columns = [pa.array(proba[:, j], type=pa.float32(), mask=missing[:, j]) for j in range(len(names))]
    return pa.StructArray.from_arrays(columns, fields=list(scores_type(names)))
