"""Padding and attention masks: the generated test encoder sees a wrong mask, and both it
and the shipped bundle score a text the same alone, in any batch and at any batch size
(mixed lengths, committed texts: never skipped)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

import emospark
from emospark.core.model_cache import cached_model

from .fixtures import reference_proba

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


def committed_texts() -> list[str]:
    """Texts of mixed lengths from the committed examples, plus longer ones built from them."""
    labelled = [line.split("\t")[0] for line in (EXAMPLES / "labelled.tsv").read_text(encoding="utf-8").splitlines()]
    longer = [" ".join(labelled[i : i + k]) for i, k in ((0, 3), (5, 8), (10, 20))]
    return labelled + longer + ["", "ok", "   "]


def test_test_encoder_output_depends_on_the_mask(seed_dirs):
    enc, _ = seed_dirs
    sess = ort.InferenceSession(str(enc / "onnx" / "model.onnx"))
    ids = np.array([[2, 5, 6, 7, 3, 0, 0, 0]], dtype=np.int64)  # [CLS] w w w [SEP] + 3 pads
    right = np.array([[1, 1, 1, 1, 1, 0, 0, 0]], dtype=np.int64)
    feed = lambda mask: {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}  # noqa: E731
    good, wrong = (sess.run(None, feed(m))[0][0, :5] for m in (right, np.ones_like(right)))
    assert np.abs(good - wrong).max() > 0.05  # an all-ones mask changes the real tokens' states


@pytest.mark.parametrize("batch_size", [1, 3, 8, 32])
def test_tiny_bundle_batched_equals_one_at_a_time_unpadded(tiny_bundle, seed_dirs, batch_size):
    texts = [t.lower() for t in committed_texts()] + ["i love this thank you", "why", "wow great " * 5]
    model = cached_model(str(tiny_bundle.root))
    want = reference_proba(*seed_dirs, [t for t in texts])
    got = model.predict_proba(texts, batch_size=batch_size)
    short = [i for i, t in enumerate(texts) if model.encoder.windows([t])[1][0] == 1]  # texts that fit one window
    assert len(short) > 30
    np.testing.assert_allclose(got[short], want[short], atol=2e-5)


def test_shipped_bundle_is_batch_invariant_on_committed_texts():
    model = emospark.load()
    texts = committed_texts()
    alone = np.concatenate([model.predict_proba([t]) for t in texts])
    for batch_size in (2, 7, 32):
        np.testing.assert_allclose(model.predict_proba(texts, batch_size=batch_size), alone, atol=1e-5)
    order = np.random.default_rng(0).permutation(len(texts))
    np.testing.assert_allclose(model.predict_proba([texts[i] for i in order], batch_size=5), alone[order], atol=1e-5)
