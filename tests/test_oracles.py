"""Independent oracles: top_k, top and the metrics against plain numpy/Python written here,
never against emospark's own functions; per-label thresholds throughout."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from emospark.core.metrics import report
from emospark.core.model_cache import cached_model
from emospark.core.schema import result_type, to_arrow
from emospark.core.scoring import score_arrow
from emospark.labels import GO_EMOTIONS

L = len(GO_EMOTIONS)
GRID = st.sampled_from([0.0, 0.1, 0.19, 0.3, 0.45, 0.5, 0.5, 0.9, 1.0])  # repeats give ties and p == t


def oracle_top_k(p: np.ndarray, t: np.ndarray, k: int | None) -> list[str]:
    """The labels whose probability reaches their own threshold, the k most probable
    first (ties: label order); all of them in label order without k."""
    if np.isnan(p).all():
        return []
    passing = [j for j in range(L) if p[j] >= t[j]]
    if k is None:
        return [GO_EMOTIONS[j] for j in passing]
    return [GO_EMOTIONS[j] for j in sorted(passing, key=lambda j: (-p[j], j))[:k]]


def oracle_top(p: np.ndarray) -> tuple[str | None, float | None]:
    if np.isnan(p).all():
        return None, None
    best = 0
    for j in range(1, L):
        if p[j] > p[best]:
            best = j
    return GO_EMOTIONS[best], float(p[best])


@pytest.fixture(scope="module")
def model(tiny_bundle):
    return cached_model(str(tiny_bundle.root))


def test_issue_example_top_k_among_labels_that_pass(model):
    p = np.zeros((1, L), np.float32)
    p[0, GO_EMOTIONS.index("admiration")], p[0, GO_EMOTIONS.index("approval")] = 0.45, 0.30
    t = {lab: 0.99 for lab in GO_EMOTIONS} | {"admiration": 0.50, "approval": 0.19}
    assert model.labels_from_proba(p, threshold=t, top_k=1) == [["approval"]]
    row = to_arrow(p, model.labels_from_proba(p, threshold=t, top_k=1)).to_pylist()[0]
    assert row["top"] == "admiration" and row["top_score"] == pytest.approx(0.45)  # top even when it does not pass
    none_pass = model.labels_from_proba(p, threshold=0.99, top_k=3)
    assert none_pass == [[]] and to_arrow(p, none_pass).to_pylist()[0]["top"] == "admiration"


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(np.float32, st.tuples(st.integers(1, 12), st.just(L)), elements=GRID),
    hnp.arrays(np.float32, L, elements=GRID),
    st.lists(st.booleans(), min_size=12, max_size=12),
    st.one_of(st.none(), st.integers(1, 5)),
)
def test_top_k_and_top_against_the_oracle(model, proba, thresholds, missing, k):
    proba = proba.copy()
    proba[np.array(missing[: len(proba)])] = np.nan  # missing texts
    got = model.labels_from_proba(proba, threshold=thresholds, top_k=k)
    assert got == [oracle_top_k(p, thresholds, k) for p in proba]
    rows = to_arrow(proba, got).to_pylist()
    for row, p in zip(rows, proba, strict=True):
        top, score = oracle_top(p)
        assert row["top"] == top and row["top_score"] == (None if score is None else pytest.approx(score))


def test_schema_version_1_is_the_old_shape_exactly(model):
    texts = pa.array(["wow great", None, "", "sorry"], pa.string())
    v1, v2 = (score_arrow(model, texts, schema_version=v, top_k=2, rollups=["ekman"]) for v in (1, 2))
    assert str(result_type(schema_version=1)) == (
        "struct<scores: struct<" + ", ".join(f"{lab}: float" for lab in GO_EMOTIONS) + ">, labels: list<item: string>>"
    )
    assert [f.name for f in v1.type] == ["scores", "labels", "ekman"]
    for name in ("scores", "labels", "ekman"):
        assert v1.field(name).equals(v2.field(name))
    with pytest.raises(ValueError, match="schema_version must be one of"):
        score_arrow(model, texts, schema_version=3)


def oracle_report(y: np.ndarray, proba: np.ndarray, t: np.ndarray) -> dict:
    pred = proba >= t
    per = {}
    for j, lab in enumerate(GO_EMOTIONS):
        tp = sum(1 for i in range(len(y)) if y[i, j] and pred[i, j])
        fp = sum(1 for i in range(len(y)) if not y[i, j] and pred[i, j])
        fn = sum(1 for i in range(len(y)) if y[i, j] and not pred[i, j])
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[lab] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    support = sum(v["support"] for v in per.values())
    avg = {m: sum(v[m] for v in per.values()) / L for m in ("precision", "recall", "f1")}
    weighted = {m: sum(v[m] * v["support"] for v in per.values()) / max(support, 1) for m in ("precision", "recall", "f1")}
    return {"per_label": per, "macro": avg, "weighted": weighted}


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 40).flatmap(lambda n: st.tuples(
        hnp.arrays(np.bool_, (n, L)), hnp.arrays(np.float32, (n, L), elements=GRID))),
    hnp.arrays(np.float32, L, elements=GRID),
)
def test_metrics_against_the_oracle(yp, thresholds):
    y, proba = yp
    got, want = report(y, proba, thresholds, GO_EMOTIONS), oracle_report(y, proba, thresholds)
    for lab in GO_EMOTIONS:
        assert got["per_label"][lab]["support"] == want["per_label"][lab]["support"]
        for m in ("precision", "recall", "f1"):
            assert got["per_label"][lab][m] == pytest.approx(want["per_label"][lab][m], abs=5.1e-5)  # 4-decimal rounding
    for avg in ("macro", "weighted"):
        for m in ("precision", "recall", "f1"):
            assert got[avg][m] == pytest.approx(want[avg][m], abs=5.1e-5)
