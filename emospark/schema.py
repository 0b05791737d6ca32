"""The one result schema shared by pandas, Spark and the CLI.

A struct column (default name ``emotions``) with

- ``scores``: struct of one float32 field per label, in go_emotions order;
- ``labels``: list<string>, the labels that reach their thresholds, in label order
  (most probable first when ``top_k`` is used).

A missing text (None/NaN/NA) gives a row whose scores are all null and whose labels
are empty; the row itself is never dropped.

>>> import numpy as np
>>> from emospark.schema import result_type, spark_ddl, to_arrow
>>> str(result_type(("joy", "anger")))
'struct<scores: struct<joy: float, anger: float>, labels: list<item: string>>'
>>> spark_ddl(("joy", "anger"))
'struct<scores:struct<`joy`:float,`anger`:float>,labels:array<string>>'
>>> to_arrow(np.array([[0.9, 0.1], [np.nan, np.nan]], dtype=np.float32), [["joy"], []], ("joy", "anger")).to_pylist()
[{'scores': {'joy': 0.8999999761581421, 'anger': 0.10000000149011612}, 'labels': ['joy']}, {'scores': {'joy': None, 'anger': None}, 'labels': []}]
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pyarrow as pa

from .labels import GO_EMOTIONS

DEFAULT_COLUMN = "emotions"


def scores_type(labels: Sequence[str] = GO_EMOTIONS) -> pa.StructType:
    """The ``scores`` struct: one float32 per label."""
    return pa.struct([pa.field(lab, pa.float32()) for lab in labels])


def result_type(labels: Sequence[str] = GO_EMOTIONS, rollups: Mapping[str, Sequence[str]] | None = None) -> pa.StructType:
    """The Arrow type of the result column; ``rollups`` ({name: groups}, see
    :mod:`emospark.rollups`) adds one float32 struct per roll-up after ``labels``."""
    extra = [pa.field(name, scores_type(groups)) for name, groups in (rollups or {}).items()]
    return pa.struct([pa.field("scores", scores_type(labels)), pa.field("labels", pa.list_(pa.string())), *extra])


def spark_ddl(labels: Sequence[str] = GO_EMOTIONS, rollups: Mapping[str, Sequence[str]] | None = None) -> str:
    """The same type as a Spark DDL string (for ``pandas_udf`` return types)."""
    floats = lambda names: ",".join(f"`{n}`:float" for n in names)  # noqa: E731
    extra = "".join(f",`{name}`:struct<{floats(groups)}>" for name, groups in (rollups or {}).items())
    return f"struct<scores:struct<{floats(labels)}>,labels:array<string>{extra}>"


def to_arrow(proba: np.ndarray, label_lists: Sequence[Sequence[str]], labels: Sequence[str] = GO_EMOTIONS) -> pa.StructArray:
    """Build the result column from probabilities (NaN rows = missing text) and labels."""
    label_col = pa.array(label_lists, type=pa.list_(pa.string()))
    return pa.StructArray.from_arrays([scores_to_arrow(proba, labels), label_col], fields=list(result_type(labels)))


def scores_to_arrow(proba: np.ndarray, names: Sequence[str]) -> pa.StructArray:
    """A struct of one float32 field per name from the columns of ``proba``; NaN is null."""
    proba = np.asarray(proba, dtype=np.float32)
    missing = np.isnan(proba)
    columns = [pa.array(proba[:, j], type=pa.float32(), mask=missing[:, j]) for j in range(len(names))]
    return pa.StructArray.from_arrays(columns, fields=list(scores_type(names)))
