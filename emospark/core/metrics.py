"""Multi-label metrics and per-label threshold tuning (numpy only).

>>> import numpy as np
>>> y = np.array([[1, 0], [0, 1], [1, 1]], dtype=bool)
>>> p = np.array([[0.9, 0.2], [0.3, 0.6], [0.4, 0.7]])
>>> r = report(y, p, np.array([0.5, 0.5]), ("a", "b"))
>>> r["macro"]["f1"], r["per_label"]["a"]["recall"]
(0.8333, 0.5)
>>> tune_thresholds(y, p).tolist()
[0.36, 0.41]
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

GRID = np.round(np.arange(0.01, 1.0, 0.01), 2)


def _counts(y: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tp = (pred & y).sum(axis=0)
    return tp, pred.sum(axis=0), y.sum(axis=0)


def _prf(tp: np.ndarray, n_pred: np.ndarray, n_true: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    precision = np.divide(tp, n_pred, out=np.zeros(tp.shape), where=n_pred > 0)
    recall = np.divide(tp, n_true, out=np.zeros(tp.shape), where=n_true > 0)
    f1 = np.divide(2 * tp, n_pred + n_true, out=np.zeros(tp.shape), where=(n_pred + n_true) > 0)
    return precision, recall, f1


def report(y: np.ndarray, proba: np.ndarray, thresholds: np.ndarray, labels: Sequence[str]) -> dict:
    """Precision, recall, F1 and support per label, macro and support-weighted averages,
    with predictions ``proba >= thresholds``. Figures are rounded to 4 decimals."""
    y = np.asarray(y, dtype=bool)
    pred = np.asarray(proba) >= np.asarray(thresholds)
    tp, n_pred, n_true = _counts(y, pred)
    p, r, f = _prf(tp, n_pred, n_true)
    weights = n_true / max(n_true.sum(), 1)
    rnd = lambda x: round(float(x), 4)  # noqa: E731
    return {
        "per_label": {
            lab: {"precision": rnd(p[j]), "recall": rnd(r[j]), "f1": rnd(f[j]), "support": int(n_true[j]),
                  "threshold": rnd(np.broadcast_to(thresholds, (len(labels),))[j])}
            for j, lab in enumerate(labels)
        },
        "macro": {"precision": rnd(p.mean()), "recall": rnd(r.mean()), "f1": rnd(f.mean())},
        "weighted": {"precision": rnd(p @ weights), "recall": rnd(r @ weights), "f1": rnd(f @ weights)},
        "rows": int(y.shape[0]),
    }


def tune_thresholds(y: np.ndarray, proba: np.ndarray, grid: np.ndarray = GRID) -> np.ndarray:
    """Per label, the grid threshold that maximises F1; on a plateau of equal F1, its
    middle (more robust on new data than either edge)."""
    y = np.asarray(y, dtype=bool)
    proba = np.asarray(proba)
    f1 = np.stack([_prf(*_counts(y, proba >= t))[2] for t in grid])  # (grid, labels)
    best = f1 >= f1.max(axis=0) - 1e-12
    out = np.empty(f1.shape[1])
    for j in range(f1.shape[1]):
        ties = grid[best[:, j]]
        out[j] = ties[len(ties) // 2]
    return out
