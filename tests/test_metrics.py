"""Honest estimates: cross-fitted figures and bootstrap intervals (emospark.core.metrics),
checked against independent, loop-by-loop numpy oracles."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from emospark.core.metrics import GRID, bootstrap_intervals, cross_fitted, report, tune_thresholds

FIXTURE = Path(__file__).parent / "data" / "labelled_scores.csv"
LABELS = ("a", "b", "c", "d")


def load_fixture() -> tuple[np.ndarray, np.ndarray]:
    table = np.loadtxt(FIXTURE, delimiter=",", skiprows=1)
    k = table.shape[1] // 2
    return table[:, :k].astype(bool), table[:, k:]


def f1_oracle(truth: list[bool], pred: list[bool]) -> tuple[float, float, float]:
    tp = sum(t and p for t, p in zip(truth, pred, strict=True))
    fp = sum(p and not t for t, p in zip(truth, pred, strict=True))
    fn = sum(t and not p for t, p in zip(truth, pred, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return precision, recall, f1


def threshold_oracle(truth: list[bool], scores: list[float]) -> float:
    """Best-F1 grid threshold, the middle one of ties (the documented rule), by brute force."""
    f1s = [f1_oracle(truth, [s >= t for s in scores])[2] for t in GRID]
    ties = [t for t, f in zip(GRID, f1s, strict=True) if f >= max(f1s) - 1e-12]
    return ties[len(ties) // 2]


def cross_fit_oracle(y: np.ndarray, proba: np.ndarray, repeats: int, seed: int) -> tuple[list[float], float]:
    """Per-label F1 averaged over the scored halves, and macro F1, as the docstring defines them:
    halves are the first and second half of ``default_rng(seed).permutation(rows)``, redrawn per repeat."""
    rng = np.random.default_rng(seed)
    n, k = y.shape
    per_label = [[] for _ in range(k)]
    for _ in range(repeats):
        order = rng.permutation(n).tolist()
        first, second = order[: n // 2], order[n // 2 :]
        for tune, score in ((first, second), (second, first)):
            for j in range(k):
                t = threshold_oracle([bool(y[i, j]) for i in tune], [float(proba[i, j]) for i in tune])
                per_label[j].append(f1_oracle([bool(y[i, j]) for i in score], [proba[i, j] >= t for i in score])[2])
    means = [sum(v) / len(v) for v in per_label]
    return means, sum(means) / k


def test_cross_fit_on_the_fixture_matches_the_oracle_and_is_deterministic():
    y, proba = load_fixture()
    got = cross_fitted(y, proba, LABELS, repeats=3, seed=7)
    per_label, macro = cross_fit_oracle(y, proba, repeats=3, seed=7)
    assert [got["per_label"][lab]["f1"] for lab in LABELS] == pytest.approx(per_label, abs=1e-4)
    assert got["macro"]["f1"] == pytest.approx(macro, abs=1e-4)
    assert got["halves"] == 6 and got["rows"] == len(y)
    assert [got["per_label"][lab]["support"] for lab in LABELS] == y.sum(axis=0).tolist()
    assert cross_fitted(y, proba, LABELS, repeats=3, seed=7) == got
    # Tuned on the data it scores, the plain figure is higher: that is what cross-fitting corrects.
    plain = report(y, proba, tune_thresholds(y, proba), LABELS)["macro"]["f1"]
    assert got["macro"]["f1"] < plain


@settings(max_examples=25, deadline=None)
@given(
    st.integers(4, 40).flatmap(lambda n: st.tuples(
        arrays(bool, (n, 2)),
        arrays(np.float64, (n, 2), elements=st.floats(0, 1, width=32)),
    )),
    st.integers(0, 2**16),
)
def test_cross_fit_matches_the_oracle_on_any_labels_and_scores(data, seed):
    y, proba = data
    got = cross_fitted(y, proba, ("a", "b"), repeats=2, seed=seed)
    per_label, macro = cross_fit_oracle(y, proba, repeats=2, seed=seed)
    assert [got["per_label"][lab]["f1"] for lab in ("a", "b")] == pytest.approx(per_label, abs=1e-4)
    assert got["macro"]["f1"] == pytest.approx(macro, abs=1e-4)


def test_bootstrap_intervals_match_an_oracle_and_hold_the_point_estimate():
    y, proba = load_fixture()
    thresholds = np.array([0.5, 0.4, 0.45, 0.5])
    got = bootstrap_intervals(y, proba, thresholds, LABELS, resamples=200, seed=3)
    assert got == bootstrap_intervals(y, proba, thresholds, LABELS, resamples=200, seed=3)
    # Oracle: the same resamples (row counts drawn by the same generator), F1 recomputed row by row.
    counts = np.random.default_rng(3).multinomial(len(y), np.full(len(y), 1 / len(y)), size=200)
    point = report(y, proba, thresholds, LABELS)["per_label"]
    for j, lab in enumerate(LABELS):
        f1s = []
        for c in counts:
            rows = [i for i in range(len(y)) for _ in range(c[i])]
            f1s.append(f1_oracle([bool(y[i, j]) for i in rows], [proba[i, j] >= thresholds[j] for i in rows])[2])
        assert got["per_label"][lab] == pytest.approx(np.percentile(f1s, [2.5, 97.5]).tolist(), abs=1e-4)
        low, high = got["per_label"][lab]
        assert low <= point[lab]["f1"] <= high
    assert got["macro_f1"][0] < got["macro_f1"][1]


def test_bootstrap_gives_null_for_a_label_never_seen_nor_predicted():
    y = np.zeros((10, 1), dtype=bool)
    got = bootstrap_intervals(y, np.zeros((10, 1)), np.array([0.5]), ("a",), resamples=20)
    assert got["per_label"]["a"] == [None, None]
