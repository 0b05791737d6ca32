"""The one scoring call every entry point makes: texts as an Arrow array in, the
result struct array (see :mod:`emospark.core.schema`) out, options included.

pandas, Polars, DuckDB, Spark and the CLI translate their own column type to Arrow,
call :func:`score_arrow` and translate the result back, so every path returns the
same values and the same type.

>>> import emospark, pyarrow as pa
>>> model = emospark.load()
>>> out = score_arrow(model, pa.array(["Thank you so much!", None]), rollups=["sentiment"])
>>> [f.name for f in out.type]
['scores', 'labels', 'top', 'top_score', 'sentiment']
>>> out.to_pylist()[0]["labels"], out.to_pylist()[0]["top"], out.to_pylist()[1]["top"]
(['gratitude'], 'gratitude', None)
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa

from .model import EmotionModel
from .options import check_rollups, check_schema_version, check_top_k
from .progress import Progress
from .rollups import add_rollups, group_names
from .schema import SCHEMA_VERSION, result_type, to_arrow

Threshold = float | Sequence[float] | Mapping[str, float] | np.ndarray | None


def text_values(texts: Any) -> list[Any]:
    """Python values of an Arrow array of any string-like type (string, large_string,
    string_view, dictionary of strings, null) or of any other sequence of texts."""
    if isinstance(texts, pa.ChunkedArray):  # chunk by chunk: each may have its own dictionary
        return [value for chunk in texts.chunks for value in text_values(chunk)]
    if isinstance(texts, pa.Array):
        if pa.types.is_dictionary(texts.type):  # take() lacks string_view (pyarrow 26): read the values as text
            values = texts.dictionary.to_pylist()
            return [None if i is None else values[i] for i in texts.indices.to_pylist()]
        return texts.to_pylist()
    return texts


def score_arrow(
    model: EmotionModel,
    texts: Any,
    *,
    threshold: Threshold = None,
    top_k: int | None = None,
    rollups: Sequence[str] = (),
    schema_version: int = SCHEMA_VERSION,
    batch_size: int | None = None,
    progress: Progress = False,
) -> pa.StructArray:
    """The result struct of each text, row for row. ``threshold`` and ``top_k`` are
    those of :meth:`EmotionModel.predict`; ``rollups`` adds the named roll-ups of
    :mod:`emospark.core.rollups` as fields; ``schema_version=1`` drops ``top`` and
    ``top_score`` (the 0.1 shape); ``progress`` is that of :meth:`EmotionModel.predict_proba`
    (off by default here: the entry points decide)."""
    check_schema_version(schema_version)
    rollups, top_k = check_rollups(rollups), check_top_k(top_k)
    thresholds = model.threshold_array(threshold)  # options are checked before any text is scored
    proba = model.predict_proba(text_values(texts), batch_size=batch_size, progress=progress)
    labels = model.labels_from_proba(proba, threshold=thresholds, top_k=top_k)
    result = to_arrow(proba, labels, model.labels, schema_version=schema_version)
    return add_rollups(result, proba, rollups, model.labels)


def score_type(model_labels: Sequence[str], rollups: Sequence[str] = (), schema_version: int = SCHEMA_VERSION) -> pa.StructType:
    """The type :func:`score_arrow` returns for these options, without loading a model."""
    return result_type(model_labels, group_names(check_rollups(rollups)), schema_version)
