"""models/build/train.py on a tiny random BERT: a run stopped and resumed (mid-epoch and across
an epoch) ends with exactly the weights of an uninterrupted run. Build-time code: needs the
``build`` extra (torch, transformers); never trains a real model."""
from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason='build-time test: pip install -e ".[build]"')
transformers = pytest.importorskip("transformers", reason='build-time test: pip install -e ".[build]"')

from emospark.labels import GO_EMOTIONS  # noqa: E402

from .fixtures import WORDS, make_tokenizer, vocab_size  # noqa: E402

BUILD = Path(__file__).resolve().parents[1] / "models" / "build"


@pytest.fixture(scope="module")
def train_module():
    sys.path.insert(0, str(BUILD))
    spec = importlib.util.spec_from_file_location("emospark_build_train", BUILD / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path.remove(str(BUILD))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-build")
    base, data = root / "base", root / "data"
    config = transformers.BertConfig(vocab_size=vocab_size(), hidden_size=16, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=64)
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(str(base))
    make_tokenizer(base / "tokenizer.json")
    data.mkdir()
    (data / "labels.txt").write_text("\n".join(GO_EMOTIONS) + "\n")
    rng = random.Random(0)
    for split, n in (("train", 50), ("dev", 12)):
        rows = [f"{' '.join(rng.choices(WORDS, k=rng.randint(1, 9)))}\t{rng.randrange(28)},{rng.randrange(28)}\tid{i}"
                for i in range(n)]
        (data / f"{split}.tsv").write_text("\n".join(rows) + "\n")
    return base, data


def args_for(train_module, tiny, work: Path, *extra: str):
    base, data = tiny
    return train_module.parser().parse_args([
        "--base", str(base), "--data", str(data), "--work", str(work), "--route", "r", "--epochs", "2",
        "--batch-size", "8", "--threads", "1", "--loss", "asymmetric", "--schedule", "cosine", *extra,
    ])


def test_a_stopped_and_resumed_run_ends_where_an_uninterrupted_one_does(train_module, tiny, tmp_path):
    whole = train_module.train(args_for(train_module, tiny, tmp_path / "whole"))
    # 45 training rows (5 held out) = 6 batches an epoch: stop after 4, then after 4 more (epoch 2, batch 2).
    for stop in ("4", "4"):
        train_module.train(args_for(train_module, tiny, tmp_path / "parts", "--max-batches", stop))
        assert not (tmp_path / "parts" / "runs" / "r" / "done").exists()
    parts = train_module.train(args_for(train_module, tiny, tmp_path / "parts"))
    assert (whole / "done").exists() and (parts / "done").exists()
    for epoch in (1, 2):
        a, b = torch.load(whole / f"epoch{epoch}.pt"), torch.load(parts / f"epoch{epoch}.pt")
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
        np.testing.assert_array_equal(np.load(whole / f"dev_proba{epoch}.npy"), np.load(parts / f"dev_proba{epoch}.npy"))
    assert np.load(whole / "slice_proba2.npy").shape == (5, 28)  # the held-out 10% of train


def test_a_run_refuses_other_settings_under_its_name(train_module, tiny, tmp_path):
    train_module.train(args_for(train_module, tiny, tmp_path, "--max-batches", "1"))
    with pytest.raises(SystemExit, match="use another --route name"):
        train_module.train(args_for(train_module, tiny, tmp_path, "--seed", "99"))


def test_the_held_out_slice_is_fixed_and_a_tenth(train_module):
    held = train_module.slice_mask(43410)
    assert held.sum() == 4341 and np.array_equal(held, train_module.slice_mask(43410))


def test_routes_run_records_soups_and_exports(train_module, tiny, tiny_bundle, tmp_path, monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location("emospark_build_routes", BUILD / "routes.py")
    routes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(routes)
    monkeypatch.setattr(routes, "ROUTES", {"a": {"seed": 1, "epochs": 1, "batch_size": 8, "threads": 1},
                                           "b": {"seed": 2, "epochs": 1, "batch_size": 8, "threads": 1},
                                           "d": {"seed": 3, "epochs": 1, "batch_size": 8, "threads": 1,
                                                 "distill_from": "a,b"},
                                           "f": {"seed": 1, "epochs": 1, "batch_size": 8, "threads": 1,
                                                 "full_train": True, "epoch_from": "a"}})
    monkeypatch.setattr(routes, "SOUPS", {"soup-ab": ("a", "b@1")})
    monkeypatch.setattr(routes, "ENSEMBLES", {"ens-ab": ("a@1", "b@1"), "ens-ax": ("a@1", "x@1")})
    base, data = tiny
    common = ["--work", str(tmp_path), "--base", str(base), "--data", str(data)]
    monkeypatch.setattr(sys, "argv", ["routes.py", *common, "run", "--only", "soup-ab", "d", "f"])
    routes.main()  # trains a and b first, then the soup, the student of a and b, a on all of train
    records = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "records").glob("*.json")}
    assert set(records) == {"a", "b", "soup-ab", "d", "f"}
    assert records["d"]["config"]["distill_from"] == "a,b"
    full = records.pop("f")  # trained on the slice too: a's epoch, no slice figures
    assert full["config"]["full_train"] and full["chosen_epoch"] == 1
    assert full["slice_cross_fitted_macro_f1"] is None and full["epochs"][0]["slice"] is None
    assert np.load(tmp_path / "runs" / "a" / "train_proba.npy").shape == (50, 28)
    assert records["soup-ab"]["config"] == {"soup_of": ["a", "b@1"]} and records["a"]["finished"]
    for rec in records.values():
        assert rec["chosen_epoch"] == 1 and 0 <= rec["slice_cross_fitted_macro_f1"] <= 1
    soup = torch.load(tmp_path / "runs" / "soup-ab" / "epoch1.pt")
    a, b = (torch.load(tmp_path / "runs" / r / "epoch1.pt") for r in ("a", "b"))
    key = "head.weight"
    assert torch.allclose(soup[key], (a[key] + b[key]) / 2)
    monkeypatch.setattr(sys, "argv", ["routes.py", *common, "status"])
    routes.main()
    shown = capsys.readouterr().out
    assert "| soup-ab | finished | 1 | 1 |" in shown
    assert "| ens-ab (mean of a@1 + b@1; not shippable) | ensemble |" in shown
    assert "ens-ax" not in shown  # a member without probabilities: no row
    monkeypatch.setattr(sys, "argv", ["routes.py", *common, "export", "soup-ab", "--out", str(tmp_path / "trained")])
    routes.main()
    assert (tmp_path / "trained" / "encoder" / "tokenizer.json").is_file()
    assert (tmp_path / "trained" / "head.pt").is_file()
    log = json.loads((tmp_path / "trained" / "train_log.json").read_text())
    assert log["route"] == "soup-ab" and str(tmp_path) not in json.dumps(log)
    monkeypatch.setattr(sys, "argv", ["routes.py", *common, "compare", "a", "--bundle", str(tiny_bundle.root),
                                      "--boot", "5"])
    routes.main()  # a against a bundle on dev: the same 12 rows, figures and a bootstrap interval
    shown = capsys.readouterr().out
    assert "dev cross-fitted macro F1 (50 halvings): a@1 " in shown and "paired bootstrap (5 resamples" in shown
    rows = [line for line in shown.splitlines() if line.startswith("| ")]
    assert rows[0] == "| label | dev support | bundle F1 | route F1 | difference |" and len(rows) == 1 + 28
    assert len(list(tmp_path.glob("bundle-*-dev_proba.npy"))) == 1
    monkeypatch.setattr(sys, "argv", ["routes.py", *common, "compare", "a", "--epoch", "9"])
    with pytest.raises(SystemExit, match="a has no epoch 9 in .*or pass --epoch N"):
        routes.main()  # an epoch that was never trained: a message, not a missing-file traceback
