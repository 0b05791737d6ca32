"""Multi-label metrics and per-label threshold tuning (numpy only).

>>> import numpy as np
>>> y = np.array([[1, 0], [0, 1], [1, 1]], dtype=bool)
>>> p = np.array([[0.9, 0.2], [0.3, 0.6], [0.4, 0.7]])
>>> r = report(y, p, np.array([0.5, 0.5]), ("a", "b"))
>>> r["macro"]["f1"], r["per_label"]["a"]["recall"]
(0.8333, 0.5)
>>> tune_thresholds(y, p).tolist()
[0.36, 0.41]

Thresholds tuned on the data they are scored on overstate what new data gets: ``cross_fitted``
tunes on one half, scores the other half, swaps, and averages (over several random halvings);
``bootstrap_intervals`` gives each label's F1 a confidence interval.
"""
from __future__ import annotations

import warnings
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


def _halves(n_rows: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(n_rows)
    return order[: n_rows // 2], order[n_rows // 2 :]


def cross_fitted(
    y: np.ndarray, proba: np.ndarray, labels: Sequence[str], repeats: int = 5, seed: int = 0, grid: np.ndarray = GRID
) -> dict:
    """Figures with thresholds tuned on data they are not scored on.

    The rows are split in two random halves; thresholds are tuned (:func:`tune_thresholds`) on
    one half and the other half is scored with them, then the halves swap. Per-label precision,
    recall and F1 and the macro and weighted averages are the mean over the ``2 * repeats``
    scored halves (``repeats`` random halvings, deterministic given ``seed``); ``macro_f1_sd``
    is the spread of macro F1 over those halves. Rounded to 4 decimals like :func:`report`.

    >>> rng = np.random.default_rng(1)
    >>> y = rng.random((200, 2)) < 0.3
    >>> p = np.clip(y * 0.4 + rng.random((200, 2)) * 0.6, 0, 1)
    >>> r = cross_fitted(y, p, ("a", "b"), repeats=2)
    >>> r["macro"]["f1"] <= report(y, p, tune_thresholds(y, p), ("a", "b"))["macro"]["f1"]
    True
    """
    y = np.asarray(y, dtype=bool)
    proba = np.asarray(proba)
    rng = np.random.default_rng(seed)
    per_half = []  # (precision, recall, f1, support) arrays of each scored half
    for _ in range(repeats):
        a, b = _halves(len(y), rng)
        for tune, score in ((a, b), (b, a)):
            t = tune_thresholds(y[tune], proba[tune], grid)
            counts = _counts(y[score], proba[score] >= t)
            per_half.append((*_prf(*counts), counts[2]))
    p, r, f, n_true = (np.stack(x) for x in zip(*per_half, strict=True))  # each (halves, labels)
    weights = n_true / np.maximum(n_true.sum(axis=1, keepdims=True), 1)
    rnd = lambda x: round(float(x), 4)  # noqa: E731
    return {
        "per_label": {
            lab: {"precision": rnd(p[:, j].mean()), "recall": rnd(r[:, j].mean()), "f1": rnd(f[:, j].mean()),
                  "support": int(y[:, j].sum())}
            for j, lab in enumerate(labels)
        },
        "macro": {"precision": rnd(p.mean()), "recall": rnd(r.mean()), "f1": rnd(f.mean())},
        "weighted": {k: rnd((v * weights).sum(axis=1).mean()) for k, v in (("precision", p), ("recall", r), ("f1", f))},
        "macro_f1_sd": rnd(f.mean(axis=1).std()),
        "rows": int(len(y)),
        "halves": len(per_half),
        "seed": seed,
    }


def bootstrap_intervals(
    y: np.ndarray, proba: np.ndarray, thresholds: np.ndarray, labels: Sequence[str],
    resamples: int = 1000, level: float = 0.95, seed: int = 0,
) -> dict:
    """Percentile bootstrap confidence intervals of each label's F1 and of macro F1, with
    predictions ``proba >= thresholds`` (rows resampled with replacement; deterministic given
    ``seed``). Returns ``{"per_label": {label: [low, high]}, "macro_f1": [low, high], ...}``.

    >>> y = np.array([[1, 1], [0, 1], [1, 0], [0, 0]], dtype=bool)
    >>> r = bootstrap_intervals(y, y * 0.9, np.array([0.5, 0.5]), ("a", "b"), resamples=50)
    >>> r["per_label"]["a"], r["macro_f1"]
    ([1.0, 1.0], [1.0, 1.0])
    """
    y = np.asarray(y, dtype=bool)
    pred = np.asarray(proba) >= np.asarray(thresholds)
    n = len(y)
    rng = np.random.default_rng(seed)
    hits, pred_f, y_f = (pred & y).astype(np.float64), pred.astype(np.float64), y.astype(np.float64)
    counts = []  # per resample: how often each row is drawn (counts are linear in these weights)
    chunk = max(1, 4_000_000 // max(n, 1))  # resamples at a time: bounded memory on big data
    for start in range(0, resamples, chunk):
        weights = rng.multinomial(n, np.full(n, 1.0 / n), size=min(chunk, resamples - start)).astype(np.float64)
        counts.append((weights @ hits, weights @ pred_f, weights @ y_f))
    tp, n_pred, n_true = (np.concatenate(c) for c in zip(*counts, strict=True))
    # F1 is undefined (nan, left out) in a resample that has neither a positive nor a prediction.
    f1 = np.divide(2 * tp, n_pred + n_true, out=np.full(tp.shape, np.nan), where=(n_pred + n_true) > 0)
    tail = (1 - level) / 2 * 100
    with warnings.catch_warnings():  # a label with no positive and no prediction at all: null
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanpercentile(f1, [tail, 100 - tail], axis=0)
        macro = np.nanpercentile(np.nanmean(f1, axis=1), [tail, 100 - tail])
    rnd = lambda x: None if np.isnan(x) else round(float(x), 4)  # noqa: E731
    return {
        "per_label": {lab: [rnd(lo[j]), rnd(hi[j])] for j, lab in enumerate(labels)},
        "macro_f1": [rnd(macro[0]), rnd(macro[1])],
        "level": level,
        "resamples": resamples,
        "seed": seed,
    }
