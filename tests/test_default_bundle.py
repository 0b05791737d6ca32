"""The bundle that ships inside the package: offline, intact, and as good as its card says."""
from __future__ import annotations

import json
import socket
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import emospark
from emospark.bundles.locate import packaged_dir
from emospark.bundles.registry import model_info
from emospark.core.metrics import report

from .conftest import NO_DEV, SHARED_DATA


@pytest.fixture(scope="module")
def model():
    return emospark.load()


def test_loads_and_scores_without_opening_a_socket(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("emospark tried to open a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # nothing may rely on offline flags either
    model = emospark.load()
    assert model.predict_proba(["offline is fine"]).shape == (1, 28)


def test_shipped_bundle_is_intact_and_small(model):
    root = packaged_dir() / model_info(emospark.DEFAULT_MODEL).packaged_dir_name
    manifest = json.loads((root / "emospark.json").read_text())
    model.bundle.verify()
    size = sum((root / rel).stat().st_size for rel in manifest["sha256"])
    assert size < 30e6
    assert model.labels == emospark.GO_EMOTIONS
    assert model.thresholds.shape == (28,) and model.thresholds.dtype == np.float32
    assert (model.thresholds > 0).all() and (model.thresholds < 1).all()


@pytest.mark.parametrize(
    "text, label",
    [
        ("Thank you so much, this really helped!", "gratitude"),
        ("I am furious, this is outrageous.", "anger"),
        ("Haha that is hilarious", "amusement"),
        ("I'm so sorry for your loss.", "sadness"),
        ("What do you mean by that?", "confusion"),
    ],
)
def test_obvious_texts(model, text, label):
    proba = model.predict_proba([text])[0]
    assert label in [model.labels[j] for j in np.argsort(-proba)[:3]]


@pytest.fixture(scope="module")
def dev():
    path = SHARED_DATA / "dev.tsv"
    if not path.is_file():
        pytest.skip(NO_DEV)
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
    y = np.zeros((len(rows), 28), dtype=bool)
    for i, (_, ids, _) in enumerate(rows):
        y[i, [int(j) for j in ids.split(",")]] = True
    return [r[0] for r in rows], y


def test_reproduces_the_model_card_on_dev(model, dev):
    texts, y = dev
    card = model.bundle.metrics
    proba = model.predict_proba(texts)
    tuned = report(y, proba, model.thresholds, model.labels)
    at_half = report(y, proba, np.full(28, 0.5), model.labels)
    # int8 kernels may round differently on another CPU; the card must hold to 3 decimals
    assert tuned["macro"]["f1"] == pytest.approx(card["dev_tuned"]["macro"]["f1"], abs=2e-3)
    assert tuned["weighted"]["f1"] == pytest.approx(card["dev_tuned"]["weighted"]["f1"], abs=2e-3)
    assert at_half["macro"]["f1"] == pytest.approx(card["dev_at_0.5"]["macro"]["f1"], abs=2e-3)
    assert tuned["macro"]["f1"] >= 0.46


def test_threads_share_one_model(model, dev):
    texts = dev[0][:400]
    serial = model.predict_proba(texts)
    chunks = [texts[i::4] for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(model.predict_proba, chunks * 2))
    for i, got in enumerate(parallel):
        np.testing.assert_allclose(got, serial[i % 4 :: 4], atol=1e-5)


def test_scores_do_not_depend_on_batch_neighbours(model, dev):
    """The encoder's int8 GEMMs quantize each token row on its own range, so a text scores
    the same alone, in any batch, at any batch size (per-tensor dynamic int8 fails this)."""
    texts = dev[0][:96]
    together = model.predict_proba(texts, batch_size=48)
    alone = np.concatenate([model.predict_proba([t]) for t in texts])
    shuffled = np.random.default_rng(0).permutation(len(texts))
    reordered = model.predict_proba([texts[i] for i in shuffled], batch_size=7)
    np.testing.assert_allclose(alone, together, atol=1e-6)
    np.testing.assert_allclose(reordered, together[shuffled], atol=1e-6)
