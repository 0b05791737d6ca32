"""Bundle format, integrity checks, seed formats, model resolution and load errors."""
from __future__ import annotations

import json
import pickle
import re
import shutil
import sys

import numpy as np
import pytest

import emospark
from emospark import Bundle, BundleError, EmotionModel, MissingExtraError, ModelNotFoundError
from emospark.bundles.registry import model_info
from emospark.labels import GO_EMOTIONS

from .fixtures import make_head, make_seed, make_tokenizer, reference_proba


def rewrite_manifest(bundle: Bundle, **changes) -> None:
    path = bundle.root / "emospark.json"
    m = json.loads(path.read_text())
    m.update(changes)
    path.write_text(json.dumps(m))


def test_manifest_records_every_file_with_sha256(tiny_bundle):
    m = json.loads((tiny_bundle.root / "emospark.json").read_text())
    assert m["format"] == "emospark-bundle/1"
    assert set(m["sha256"]) == {
        "encoder/model.onnx", "encoder/tokenizer.json", "classifier/model.onnx", "classifier/thresholds.json"
    }
    assert m["encoder"]["pooling"] == "mean" and m["encoder"]["max_length"] == 32
    assert m["labels"] == list(GO_EMOTIONS)
    tiny_bundle.verify()


def test_bundle_dir_loads_by_path(tiny_bundle, seed_dirs):
    model = emospark.load(str(tiny_bundle.root))
    np.testing.assert_allclose(model.predict_proba(["wow"]), reference_proba(*seed_dirs, ["wow"]), atol=2e-6)
    assert emospark.load(tiny_bundle.root).name == "tiny"  # a Path works too


# -- load errors --------------------------------------------------------------------------------
def test_missing_file(bundle_copy):
    (bundle_copy.root / "classifier" / "thresholds.json").unlink()
    with pytest.raises(BundleError, match=r"thresholds file .*thresholds.json is missing"):
        EmotionModel(bundle_copy)


def test_altered_file_fails_sha256(bundle_copy):
    path = bundle_copy.root / "encoder" / "model.onnx"
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"model.onnx is altered or truncated"):
        EmotionModel(bundle_copy)


def test_truncated_file_fails_sha256(bundle_copy):
    path = bundle_copy.root / "classifier" / "model.onnx"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(BundleError, match="altered or truncated"):
        emospark.load(bundle_copy.root)


def test_broken_onnx_without_manifest_names_the_file(tmp_path):
    enc, head = make_seed(tmp_path)
    (head / "model.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(BundleError, match=r"classifier model .*model.onnx cannot be loaded by onnxruntime"):
        EmotionModel(Bundle.from_parts("x", enc, head, pooling="mean", max_length=16))


def test_classifier_with_missing_output(tmp_path):
    enc, _ = make_seed(tmp_path)
    head = make_head(tmp_path / "head27", labels=GO_EMOTIONS[:-1])
    shutil.copy(tmp_path / "classifier" / "thresholds.json", head / "thresholds.json")
    with pytest.raises(BundleError, match=r"missing \['neutral'\], unexpected \[\]"):
        EmotionModel(Bundle.from_parts("x", enc, head, pooling="mean", max_length=16))


def test_classifier_with_extra_output(tmp_path):
    enc, _ = make_seed(tmp_path)
    head = make_head(tmp_path / "head29", labels=GO_EMOTIONS + ("boredom",))
    with pytest.raises(BundleError, match=r"unexpected \['boredom'\]"):
        EmotionModel(Bundle.from_parts("x", enc, head, pooling="mean", max_length=16))


def test_embedding_size_mismatch(tmp_path):
    enc, _ = make_seed(tmp_path)
    head = make_head(tmp_path / "head8", dim=8)
    with pytest.raises(BundleError, match="16-dimensional embeddings but classifier .* accepts 8"):
        EmotionModel(Bundle.from_parts("x", enc, head, pooling="mean", max_length=16))


def test_tokenizer_that_does_not_fit_the_encoder(tmp_path):
    enc, head = make_seed(tmp_path)
    make_tokenizer(enc / "tokenizer.json", extra_words=500)  # ids beyond the encoder's table
    with pytest.raises(BundleError, match=r"tokenizer .* \(vocabulary \d+\) does not fit encoder"):
        EmotionModel(Bundle.from_parts("x", enc, head, pooling="mean", max_length=16))


def test_unreadable_tokenizer(tmp_path):
    enc, head = make_seed(tmp_path)
    (enc / "tokenizer.json").write_text("{ not json")
    with pytest.raises(BundleError, match="tokenizer .* cannot be read"):
        EmotionModel(Bundle.from_parts("x", enc, head, pooling="mean", max_length=16))


@pytest.mark.parametrize(
    "content, message",
    [
        ({"admiration": 0.3}, "lacks thresholds for"),
        ({lab: 1.7 for lab in GO_EMOTIONS}, r"must be a number in \[0, 1\]"),
        ("[1, 2", "cannot be read as JSON"),
    ],
)
def test_bad_thresholds(bundle_copy, content, message):
    path = bundle_copy.root / "classifier" / "thresholds.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(BundleError, match=message):
        EmotionModel(bundle_copy.with_options(sha256={}))


def test_thresholds_as_list_in_label_order(tmp_path):
    enc, head = make_seed(tmp_path)
    (head / "thresholds.json").write_text(json.dumps([0.25] * 28))
    model = EmotionModel(Bundle.from_parts("x", enc, head, pooling="mean", max_length=16))
    assert model.thresholds.tolist() == [0.25] * 28


def test_manifest_errors(bundle_copy, tmp_path):
    with pytest.raises(BundleError, match="is not an emospark bundle"):
        Bundle.from_dir(tmp_path)
    with pytest.raises(BundleError, match="does not exist"):
        Bundle.from_dir(tmp_path / "nope")
    rewrite_manifest(bundle_copy, format="emospark-bundle/99")
    with pytest.raises(BundleError, match="this emospark reads"):
        Bundle.from_dir(bundle_copy.root)
    rewrite_manifest(bundle_copy, format="emospark-bundle/1", encoder={"model": "encoder/model.onnx"})
    with pytest.raises(BundleError, match=re.escape("2 problems: 'encoder.tokenizer' is missing | 'encoder.max_length' is missing")):
        Bundle.from_dir(bundle_copy.root)
    (bundle_copy.root / "emospark.json").write_text("{")
    with pytest.raises(BundleError, match="cannot be read as JSON"):
        Bundle.from_dir(bundle_copy.root)


def test_bad_pooling_lists_alternatives(seed_dirs):
    with pytest.raises(BundleError, match=r"pooling 'max' is not one of \['cls', 'mean'\]"):
        Bundle.from_parts("x", *seed_dirs, pooling="max", max_length=16)


def test_encoder_with_undeclared_inputs(tmp_path):
    import onnx

    enc, head = make_seed(tmp_path)
    path = enc / "onnx" / "model.onnx"
    m = onnx.load(str(path))
    m.graph.input.append(onnx.helper.make_tensor_value_info("pixel_values", onnx.TensorProto.FLOAT, [1]))
    onnx.save(m, str(path))
    with pytest.raises(BundleError, match=r"declares inputs .*pixel_values"):
        EmotionModel(Bundle.from_parts("x", enc, head, pooling="mean", max_length=16))


def test_encoder_without_token_inputs_only_fed_declared(tmp_path):
    """An encoder that declares no token_type_ids (like DistilBERT exports) still works."""
    import onnx

    enc, head = make_seed(tmp_path)
    path = enc / "onnx" / "model.onnx"
    m = onnx.load(str(path))
    # replace the token-type lookup by zeros: drop the input, feed a constant
    keep = [i for i in m.graph.input if i.name != "token_type_ids"]
    del m.graph.input[:]
    m.graph.input.extend(keep)
    m.graph.node.insert(0, onnx.helper.make_node("Mul", ["input_ids", "zero"], ["token_type_ids"]))
    onnx.save(m, str(path))
    model = EmotionModel(Bundle.from_parts("x", enc, head, pooling="mean", max_length=16))
    assert set(model.encoder.dtypes) == {"input_ids", "attention_mask"}
    np.testing.assert_allclose(model.predict_proba(["wow"]), reference_proba(enc, head, ["wow"]), atol=2e-6)


# -- resolution: registry, local dirs, Hugging Face cache ---------------------------------------
def test_unknown_name_lists_registered_models():
    with pytest.raises(ModelNotFoundError, match=r"registered models are \['minilm-l6-go-emotions-v1', 'minilm-l6-go-emotions'"):
        emospark.load("no-such-model")


def test_missing_path():
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        emospark.load("/no/such/dir")


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("EMOSPARK_MODELS", str(tmp_path / "emospark-models"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    return tmp_path


def test_seed_not_found_says_which_files_go_where(isolated):
    with pytest.raises(ModelNotFoundError) as info:
        emospark.load("all-MiniLM-L12-v2-go-emotions")
    msg = str(info.value)
    local = isolated / "emospark-models" / "all-MiniLM-L12-v2-go-emotions"
    assert str(local / "classifier" / "model.onnx") in msg and str(local / "encoder" / "tokenizer.json") in msg
    assert "SamLowe/all-MiniLM-L12-v2-go_emotions-classifier-onnx" in msg
    assert 'pip install "emospark[hub]"' in msg and "download=True" in msg


@pytest.mark.parametrize("name", ["all-MiniLM-L12-v2-go-emotions", "bge-small-en-go-emotions"])
def test_seed_from_local_models_dir(isolated, name):
    root = isolated / "emospark-models" / name
    enc, head = make_seed(root)
    model = emospark.load(name)
    pooling = model_info(name).pooling
    assert model.bundle.pooling == pooling and model.name == name
    np.testing.assert_allclose(model.predict_proba(["i love you"]), reference_proba(enc, head, ["i love you"], pooling), atol=2e-6)


def hf_cache_put(cache, repo_id: str, files: dict, revision_hash: str = "0" * 40) -> None:
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(revision_hash)
    for rel, src in files.items():
        dst = repo / "snapshots" / revision_hash / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


def test_seed_from_hugging_face_cache(isolated):
    enc, head = make_seed(isolated / "src")
    info = model_info("all-MiniLM-L12-v2-go-emotions")
    hf_cache_put(isolated / "hf", info.encoder.repo_id,
                 {"onnx/model.onnx": enc / "onnx" / "model.onnx", "tokenizer.json": enc / "tokenizer.json"})
    with pytest.raises(ModelNotFoundError):  # the head is not cached yet
        emospark.load(info.name)
    hf_cache_put(isolated / "hf", info.classifier.repo_id,
                 {"model.onnx": head / "model.onnx", "thresholds.json": head / "thresholds.json"})
    model = emospark.load(info.name)
    np.testing.assert_allclose(model.predict_proba(["wow"]), reference_proba(enc, head, ["wow"]), atol=2e-6)


def test_download_without_hub_extra_gives_install_hint(isolated, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(MissingExtraError, match=r'pip install "emospark\[hub\]"'):
        emospark.load("bge-small-en-go-emotions", download=True)


def test_seed_saved_as_bundle_roundtrips(tmp_path, seed_dirs):
    saved = Bundle.from_parts("seed", *seed_dirs, pooling="mean", max_length=64).save(tmp_path / "b")
    assert (tmp_path / "b" / "encoder" / "model.onnx").is_file()
    np.testing.assert_allclose(EmotionModel(saved).predict_proba(["wow"]), reference_proba(*seed_dirs, ["wow"]), atol=2e-6)


@pytest.mark.parametrize(
    "exc",
    [BundleError("bad file x"), ModelNotFoundError("no model"), MissingExtraError('pip install "emospark[hub]"')],
)
def test_errors_survive_pickling(exc):
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is type(exc) and str(back) == str(exc)


# -- versioned names ------------------------------------------------------------------------------
def test_the_first_default_name_still_loads_as_v1():
    from emospark.bundles.registry import DEFAULT_MODEL, REGISTRY, registered_names

    old, v1 = emospark.load("minilm-l6-go-emotions"), emospark.load("minilm-l6-go-emotions-v1")
    texts = ["thank you so much!", "this is awful", "what happened?"]
    np.testing.assert_array_equal(old.predict_proba(texts), v1.predict_proba(texts))
    assert old.bundle.files() == v1.bundle.files()
    assert model_info("minilm-l6-go-emotions") is model_info("minilm-l6-go-emotions-v1")
    # The default is a versioned packaged name; names and aliases never collide.
    assert model_info(DEFAULT_MODEL).packaged and DEFAULT_MODEL.rsplit("-", 1)[1].startswith("v")
    assert len(registered_names()) == len(set(registered_names()))
    for info in REGISTRY:
        if info.packaged:
            assert emospark.load(info.name).bundle.files() == emospark.load(info.names[-1]).bundle.files()
