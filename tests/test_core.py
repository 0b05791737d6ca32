"""The core pipeline on generated seed-format models, checked against an independent
reference computation (one text at a time, no padding)."""
from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

import emospark
from emospark import Bundle, EmotionModel

from .fixtures import reference_proba

TEXTS = [
    "I love this so much, thank you!",
    "why",
    "this is terrible and I hate it, why is it not good, what a bad bad day",
    "lol",
    "wow great",
    "sorry",
]


@pytest.fixture(scope="module")
def model(tiny_bundle) -> EmotionModel:
    return EmotionModel(tiny_bundle, batch_size=2, threads=1)


def test_matches_reference_across_batches_and_lengths(model, seed_dirs):
    expected = reference_proba(*seed_dirs, TEXTS)
    got = model.predict_proba(TEXTS)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), 28)
    np.testing.assert_allclose(got, expected, atol=2e-6)


def test_outputs_are_mapped_by_name_not_position(model, seed_dirs):
    # the head's outputs start with 'surprise'; column 26 must still be surprise
    import onnxruntime as ort

    head = ort.InferenceSession(str(seed_dirs[1] / "model.onnx"))
    assert head.get_outputs()[0].name == "surprise"
    assert [o.name for o in head.get_outputs()] != list(emospark.GO_EMOTIONS)
    emb = model.embed(TEXTS[:2])
    raw = dict(zip([o.name for o in head.get_outputs()], head.run(None, {"logits": emb}), strict=True))
    np.testing.assert_allclose(model.predict_proba(TEXTS[:2])[:, 26], raw["surprise"][:, 1], atol=1e-6)


def test_batch_size_does_not_change_results(model):
    a = model.predict_proba(TEXTS, batch_size=1)
    b = model.predict_proba(TEXTS, batch_size=64)
    np.testing.assert_allclose(a, b, atol=2e-6)


def test_tokenizer_fixed_padding_is_overridden(model):
    # the generated tokenizer.json pads to 128 like the public MiniLM one; batches must not
    assert [len(ids) for ids in model.encoder.token_ids(["wow", "i love you"])] == [3, 5]


def test_embeddings_are_unit_length(model):
    np.testing.assert_allclose(np.linalg.norm(model.embed(TEXTS), axis=1), 1.0, atol=1e-5)


def test_cls_pooling_matches_reference(seed_dirs):
    bundle = Bundle.from_parts("cls", *seed_dirs, pooling="cls", max_length=64)
    got = EmotionModel(bundle).predict_proba(TEXTS)
    np.testing.assert_allclose(got, reference_proba(*seed_dirs, TEXTS, pooling="cls"), atol=2e-6)


# -- thresholds, top_k -----------------------------------------------------------------------
def test_predict_uses_per_label_thresholds(model):
    proba = model.predict_proba(TEXTS)
    expected = [[lab for j, lab in enumerate(model.labels) if row[j] >= model.thresholds[j]] for row in proba]
    assert model.predict(TEXTS) == expected
    assert len(set(model.thresholds.tolist())) > 1  # really per label


def test_threshold_override_and_top_k(model):
    proba = model.predict_proba(TEXTS)
    assert model.predict(TEXTS, threshold=0.0) == [list(model.labels)] * len(TEXTS)
    assert model.predict(TEXTS, threshold=1.0) == [[]] * len(TEXTS)
    top2 = model.predict(TEXTS, threshold=0.0, top_k=2)
    for row, labels in zip(proba, top2, strict=True):
        assert labels == [model.labels[j] for j in np.argsort(-row)[:2]]
    for labels in model.predict(TEXTS, top_k=1):
        assert len(labels) <= 1
    per_label = model.predict(TEXTS, threshold={"surprise": 0.0})
    assert all("surprise" in labels for labels in per_label)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"threshold": 1.5}, r"\[0, 1\]"),
        ({"threshold": {"happiness": 0.2}}, "unknown labels"),
        ({"top_k": 0}, "top_k"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_options_are_refused(model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        model.predict(TEXTS, **kwargs)


# -- input rules ------------------------------------------------------------------------------
def test_missing_values_give_null_rows_and_keep_order(model):
    pd = pytest.importorskip("pandas")
    texts = [None, "wow", float("nan"), np.nan, pd.NA, "", "   ", "sorry"]
    proba = model.predict_proba(texts)
    assert proba.shape == (8, 28)
    assert [bool(np.isnan(r).all()) for r in proba] == [True, False, True, True, True, False, False, False]
    np.testing.assert_allclose(proba[[1, 7]], model.predict_proba(["wow", "sorry"]), atol=1e-6)
    assert np.isfinite(proba[5]).all() and np.isfinite(proba[6]).all()  # empty strings are scored
    assert model.predict(texts)[0] == [] and model.predict(texts)[2] == []


@pytest.mark.parametrize("bad, name", [(5, "int"), (b"bytes", "bytes"), (["a"], "list"), (3.5, "float")])
def test_non_strings_raise_type_error_naming_position(model, bad, name):
    with pytest.raises(TypeError, match=rf"texts\[2\] is {name}"):
        model.predict_proba(["ok", "fine", bad])


def test_a_single_string_is_refused(model):
    with pytest.raises(TypeError, match="single string"):
        model.predict_proba("hello")


def test_huge_text_is_scored_without_error(model, tiny_bundle):
    huge = "i love this " * 40_000  # 480k characters, 120k tokens
    proba = model.predict_proba([huge, "ok"])
    assert np.isfinite(proba).all()
    # truncated, with max_length=32 it means the same as its first 30 words
    truncated = EmotionModel(tiny_bundle, long_texts="truncate").predict_proba([huge])[0]
    np.testing.assert_allclose(truncated, model.predict_proba(["i love this " * 10])[0], atol=1e-5)
    # chunked (the default), the max over windows includes the first window
    assert np.all(proba[0] >= truncated - 1e-6) and np.any(proba[0] > truncated + 1e-3)


def test_accepts_arrays_series_generators_and_arrow(model):
    pd = pytest.importorskip("pandas")
    base = model.predict_proba(TEXTS)
    for texts in (np.array(TEXTS, dtype=object), pd.Series(TEXTS), (t for t in TEXTS), pa.array(TEXTS), tuple(TEXTS)):
        np.testing.assert_allclose(model.predict_proba(texts), base, atol=1e-6)


def test_empty_input(model):
    assert model.predict_proba([]).shape == (0, 28)
    assert model.predict([]) == []


def test_repeated_texts_get_identical_rows(model):
    proba = model.predict_proba(["wow"] * 50 + ["sorry"] * 3)
    assert np.all(proba[:50] == proba[0]) and not math.isclose(proba[0, 0], proba[-1, 0], rel_tol=1e-9)
