"""Evaluating a model on labelled data, with the metrics of :mod:`emospark.core.metrics`
(the same functions that wrote the bundles' model cards).

Labelled data: a text column and a labels column holding, per row, a list of label
ids (0-27 in go_emotions order) or label names, either as a list column or as
comma-separated text (``"4,27"``, ``"joy,love"``). An empty list or empty string means
"none of the labels"; a null is an error.

>>> label_matrix(["2,0", ["joy"], [1], ""], ("a", "b", "joy"), "data.csv").astype(int).tolist()
[[1, 0, 1], [0, 0, 1], [0, 1, 0], [0, 0, 0]]
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..core.metrics import bootstrap_intervals, cross_fitted, report
from ..core.model import EmotionModel
from ..core.tables import check_column
from ..errors import InputError
from ..io import ROWS_PER_BATCH, Source
from .progress import Reporter


def _label_index(item: Any, index: dict[str, int]) -> int | None:
    """Column of a label given by id or name (None if it is neither)."""
    if isinstance(item, str):
        item = item.strip()
        if item.isdigit():
            item = int(item)
        else:
            return index.get(item)
    if isinstance(item, (int, np.integer)) and not isinstance(item, bool) and 0 <= item < len(index):
        return int(item)
    return None


def label_matrix(values: Sequence[Any], labels: Sequence[str], where: str) -> np.ndarray:
    """Boolean (rows, labels) matrix of the label lists in ``values``; errors name
    ``where`` (file and column) and the row."""
    index = {lab: j for j, lab in enumerate(labels)}
    y = np.zeros((len(values), len(labels)), dtype=bool)
    for i, value in enumerate(values):
        if value is None:
            raise InputError(f"{where}, row {i}: labels are null (write an empty list for 'none of the labels')")
        items = value.split(",") if isinstance(value, str) else value
        for item in items:
            if isinstance(item, str) and not item.strip():
                continue
            j = _label_index(item, index)
            if j is None:
                raise InputError(
                    f"{where}, row {i}: {item!r} is neither a label id (0-{len(labels) - 1}) "
                    f"nor a label name; the labels are {list(labels)}"
                )
            y[i, j] = True
    return y


def read_labelled(
    source: Source, text_col: str, labels_col: str, labels: Sequence[str]
) -> tuple[list[str], np.ndarray]:
    """All texts and the label matrix of a labelled file (read whole: eval sets are small)."""
    where = source.display
    check_column(source.schema, text_col, where, text=True)
    check_column(source.schema, labels_col, where)
    texts: list[str] = []
    values: list[Any] = []
    for batch in source.batches([text_col, labels_col]):
        texts += batch.column(text_col).to_pylist()
        values += batch.column(labels_col).to_pylist()
    missing = [i for i, t in enumerate(texts) if t is None]
    if missing:
        raise InputError(
            f"{where}, column '{text_col}', row {missing[0]}: no text ({len(missing)} rows lack one); "
            "every labelled row needs a text"
        )
    return texts, label_matrix(values, labels, f"{where}, column '{labels_col}'")


def predict_all(model: EmotionModel, texts: list[str], reporter: Reporter) -> np.ndarray:
    """``model.predict_proba(texts)``, reporting progress every :data:`ROWS_PER_BATCH` texts."""
    parts = [model.predict_proba([])]
    for start in range(0, len(texts), ROWS_PER_BATCH):
        parts.append(model.predict_proba(texts[start : start + ROWS_PER_BATCH]))
        reporter.advance(len(parts[-1]))
    return np.concatenate(parts)


def evaluate(model: EmotionModel, y: np.ndarray, proba: np.ndarray, tuned: np.ndarray | None = None) -> dict:
    """Reports (see :func:`emospark.core.metrics.report`) at the model's thresholds, at 0.5,
    and at ``tuned`` thresholds if given; ``cross_fitted``: thresholds tuned on one half of the
    data and scored on the other, swapped and averaged (what tuning on this data would give on
    new data, :func:`~emospark.core.metrics.cross_fitted`); ``f1_intervals``: 95% bootstrap
    intervals of each label's F1 at the model's thresholds."""
    reports = {
        "at_model_thresholds": report(y, proba, model.thresholds, model.labels),
        "at_0.5": report(y, proba, np.full(len(model.labels), 0.5), model.labels),
    }
    if tuned is not None:
        reports["at_tuned_thresholds"] = report(y, proba, tuned, model.labels)
    reports["cross_fitted"] = cross_fitted(y, proba, model.labels)
    reports["f1_intervals"] = bootstrap_intervals(y, proba, model.thresholds, model.labels)
    return {"model": model.name, "rows": int(len(y)), **reports}

