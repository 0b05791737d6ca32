"""Every configuration surface fails cleanly (issue 13): bundle manifests, threshold
files and arguments, options, the model search path and the CLI's arguments.

Hypothesis draws JSON-ish values (and plausible near-misses) for each surface; the only
outcomes allowed are a successful load/score or an ``EmosparkError`` (the CLI: exit code
0 or 2-6, one line on stderr, no traceback). Where the rule is simple, a reference
predicate written here says which values must be accepted, so a bad value that is
silently accepted fails the test too. The parsers and the CLI's ``main(argv)`` run
in-process on the tiny generated bundle, so thousands of cases take seconds; a few
subprocess runs check the real exit codes.

``EMOSPARK_FUZZ_SCALE`` multiplies the number of cases (default 1: about 3,000 cases in
all, for CI; the count is printed in the terminal summary).
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from emospark import Bundle, EmotionModel
from emospark.bundles.locate import resolve, search_path
from emospark.bundles.manifest import MAX_LENGTH_LIMIT, Manifest
from emospark.cli.main import main
from emospark.core.options import LoadOptions, check_rollups, check_top_k
from emospark.core.rollups import ROLLUPS
from emospark.core.scoring import score_arrow
from emospark.core.thresholds import ThresholdFile, Thresholds, check_threshold
from emospark.errors import BundleError, EmosparkError, InputError, ModelNotFoundError, UsageError
from emospark.labels import GO_EMOTIONS

SCALE = float(os.environ.get("EMOSPARK_FUZZ_SCALE", "1"))
CASES = {"count": 0}


def fuzz(examples: int):
    """The capped profile: ``examples`` cases (times EMOSPARK_FUZZ_SCALE), no deadline."""
    return settings(max_examples=max(1, int(examples * SCALE)), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])


def counted() -> None:
    CASES["count"] += 1


@pytest.fixture(scope="module", autouse=True)
def report_case_count(request):
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(f"\ntest_config_fuzz: {CASES['count']:,} generated cases ran", file=sys.stderr)


# -- strategies -----------------------------------------------------------------------------------
TEXT = st.text(max_size=12)
SCALARS = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | TEXT
           | st.sampled_from([0, 1, 0.5, -0.0, 1e-300, 1.0000001, "0.5", "", "mean", "unverified"]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=10)
NUMBERS = (st.floats(0, 1) | st.floats() | st.integers(-2, 3) | st.booleans() | st.none()
           | st.floats(0, 1).map(str) | st.floats(0, 1).map(np.float32) | st.floats(0, 1).map(np.float64)
           | st.integers(0, 1).map(np.int64) | st.just(np.bool_(True)))
LABEL_KEYS = st.sampled_from(GO_EMOTIONS) | TEXT | st.sampled_from(["Joy", " joy", "joy ", "happiness"])
THRESHOLDS = (
    NUMBERS
    | st.dictionaries(LABEL_KEYS, NUMBERS, max_size=5)
    | st.dictionaries(st.sampled_from(GO_EMOTIONS), st.floats(0, 1), max_size=28)
    | st.lists(NUMBERS, min_size=27, max_size=29)
    | st.lists(st.floats(0, 1), min_size=28, max_size=28)
    | st.lists(st.floats(0, 1), min_size=28, max_size=28).map(np.array)
    | st.lists(st.floats(0, 1), min_size=28, max_size=28).map(tuple)
    | JSON
)


# -- reference rules ------------------------------------------------------------------------------
def good_number(v) -> bool:
    """A threshold: a real number, not bool/str, finite, in [0, 1]."""
    if isinstance(v, (bool, np.bool_, str, bytes)) or not isinstance(v, (int, float, np.integer, np.floating)):
        return False
    return math.isfinite(float(v)) and 0 <= float(v) <= 1


def expected_thresholds(value, base: tuple[float, ...]) -> tuple[float, ...] | None:
    """What a threshold setting must give over ``base``, or None if it must be refused."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    if value is None:
        return base
    if isinstance(value, dict):
        if all(isinstance(k, str) and k in GO_EMOTIONS for k in value) and all(map(good_number, value.values())):
            return tuple(float(value.get(lab, old)) for lab, old in zip(GO_EMOTIONS, base, strict=True))
        return None
    if isinstance(value, (list, tuple)):
        return tuple(map(float, value)) if len(value) == 28 and all(map(good_number, value)) else None
    return (float(value),) * 28 if good_number(value) else None


@pytest.fixture(scope="module")
def model(tiny_bundle) -> EmotionModel:
    return EmotionModel(tiny_bundle, threads=1)


# -- thresholds -----------------------------------------------------------------------------------
@fuzz(600)
@given(value=THRESHOLDS)
def test_threshold_settings_are_checked_exactly(model, value):
    counted()
    base = model.threshold_table.values
    want = expected_thresholds(value, base)
    try:
        got = model.threshold_array(value)
    except UsageError as exc:
        assert want is None, f"refused a valid threshold {value!r}: {exc}"
        assert "threshold" in str(exc)
        return
    assert want is not None, f"accepted a bad threshold {value!r}"
    np.testing.assert_array_equal(got, np.array(want, dtype=np.float32))
    assert got.dtype == np.float32 and not got.flags.writeable


@fuzz(300)
@given(value=THRESHOLDS, top_k=st.none() | st.integers(-1, 30) | st.booleans() | TEXT,
       rollups=st.none() | TEXT | st.sampled_from(["sentiment", "ekman"]) | st.lists(
           st.sampled_from(["ekman", "sentiment", "plutchik", ""]) | st.integers(), max_size=3),
       schema_version=st.sampled_from([1, 2, 3, True, "2", None, 2.0]))
def test_score_arrow_options_score_or_raise_usage_errors(model, value, top_k, rollups, schema_version):
    counted()
    texts = pa.array(["i love this", None, "so sad"])
    try:
        out = score_arrow(model, texts, threshold=value, top_k=top_k, rollups=rollups, schema_version=schema_version)
    except UsageError:
        return
    assert len(out) == 3 and expected_thresholds(value, model.threshold_table.values) is not None
    assert check_rollups(rollups) == tuple(f.name for f in out.type)[2 + 3 * (schema_version == 2):]


def write_bytes(path: Path, content) -> None:
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())


FILE_CONTENT = (THRESHOLDS.filter(lambda v: not isinstance(v, np.ndarray)).map(
    lambda v: json.dumps(v, default=float, allow_nan=True))
                | st.binary(max_size=40) | st.sampled_from([b"", b"{", b"[" * 5000 + b"]" * 5000, b'{"joy": 0.2, "joy": 0.3}',
                                                            b'{"joy": NaN}', b"\xef\xbb\xbf{}", b"\xff\xfe"]))


@fuzz(400)
@given(content=FILE_CONTENT)
def test_threshold_files_read_or_raise_input_errors(tmp_path_factory, content):
    counted()
    path = tmp_path_factory.getbasetemp() / "fuzz-thresholds.json"
    path.write_bytes(content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content)
    try:
        table = check_threshold(ThresholdFile.read(path), GO_EMOTIONS)
    except InputError as exc:
        assert str(path) in str(exc)
        return
    try:
        raw = json.loads(path.read_bytes())
    except ValueError:
        raise AssertionError(f"accepted a file that is not JSON: {content!r}") from None
    assert expected_thresholds(raw, (0.5,) * 28) is not None, f"accepted {raw!r}"
    assert not isinstance(raw, dict) or len(raw) == len(set(raw))
    assert isinstance(table, (dict, tuple))


def test_threshold_file_examples(tmp_path):
    cases = {
        '{"joy": "0.2"}': "'joy' must be a number in [0, 1], got '0.2' (str); write it without quotes",
        '{"joy": true}': "'joy' must be a number in [0, 1], got True (bool)",
        '{"joy": 0.2, "joy": 0.3}': "the key 'joy' appears twice",
        '{"joy": NaN}': "NaN is not valid JSON",
        '{"joy": 1.5}': "'joy' must be a number in [0, 1]",
        '[0.5, 0.5]': "2 thresholds given, the model has 28 labels",
        '"0.5"': "holds str",
        '{"happiness": 0.2}': "unknown labels in",
        "[" * 3000: "nested too deeply",
    }
    for content, message in cases.items():
        path = tmp_path / "t.json"
        path.write_text(content)
        with pytest.raises(InputError) as info:
            check_threshold(ThresholdFile.read(path), GO_EMOTIONS)
        assert message in str(info.value) and str(path) in str(info.value), (content, str(info.value))
    with pytest.raises(InputError, match="no such threshold file"):
        ThresholdFile.read(tmp_path / "missing.json")
    with pytest.raises(InputError, match="cannot be read as JSON: Is a directory; give the path of a threshold file"):
        ThresholdFile.read(tmp_path)
    (tmp_path / "ok.json").write_text(json.dumps({"joy": 0, "anger": 1}))
    merged = Thresholds.parse(ThresholdFile.read(tmp_path / "ok.json"), GO_EMOTIONS,
                              base=Thresholds.parse(0.5, GO_EMOTIONS))
    assert merged.as_dict()["joy"] == 0.0 and merged.as_dict()["anger"] == 1.0 and merged.as_dict()["fear"] == 0.5


# -- options --------------------------------------------------------------------------------------
OPTION_VALUES = JSON | st.sampled_from(["chunk", "truncate", "max", "mean", 0, 1, 8, 10**9, True, 2.0, np.int64(4)])


@fuzz(300)
@given(long_texts=OPTION_VALUES, aggregate=OPTION_VALUES, overlap=st.none() | OPTION_VALUES,
       batch_size=OPTION_VALUES, threads=st.none() | OPTION_VALUES)
def test_load_options_are_checked(long_texts, aggregate, overlap, batch_size, threads):
    counted()
    def whole(v, low, high=None):
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= low and (high is None or v <= high)
    valid = (long_texts in ("chunk", "truncate") and isinstance(long_texts, str)
             and aggregate in ("max", "mean") and isinstance(aggregate, str)
             and (overlap is None or whole(overlap, 0)) and whole(batch_size, 1, 2**20)
             and (threads is None or whole(threads, 1, 1024)))
    try:
        options = LoadOptions(long_texts=long_texts, aggregate=aggregate, overlap=overlap, batch_size=batch_size,
                              threads=threads)
    except UsageError:
        assert not valid
        return
    assert valid and type(options.batch_size) is int
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.batch_size = 3


@fuzz(150)
@given(overlap=st.none() | st.integers(-2, 40), long_texts=st.sampled_from(["chunk", "truncate", "x"]),
       batch_size=st.integers(-1, 3) | st.booleans())
def test_models_load_with_options_or_raise_usage_errors(tiny_bundle, overlap, long_texts, batch_size):
    counted()
    try:
        loaded = EmotionModel(tiny_bundle, threads=1, overlap=overlap, long_texts=long_texts, batch_size=batch_size)
    except UsageError:
        assert long_texts == "x" or isinstance(batch_size, bool) or batch_size < 1 or not 0 <= overlap < 30
        return
    assert loaded.predict_proba(["i love this " * 20]).shape == (1, 28)


@fuzz(200)
@given(names=JSON | st.lists(st.sampled_from(list(ROLLUPS) + ["x", ""]), max_size=3) | st.sampled_from(list(ROLLUPS)))
def test_rollup_choices(names):
    counted()
    if isinstance(names, str):
        want = (names,) if names in ROLLUPS else None
    elif names is None:
        want = ()
    elif isinstance(names, list):
        ok = all(isinstance(n, str) and n in ROLLUPS for n in names) and len(set(map(str, names))) == len(names)
        want = tuple(names) if ok else None
    else:
        want = None  # numbers, bools, dicts
    try:
        got = check_rollups(names)
    except UsageError:
        assert want is None, names
        return
    assert got == want, names


def test_option_messages_name_the_option_and_value():
    with pytest.raises(UsageError, match=r"options: top_k must be a positive integer, got True \(bool\)"):
        check_top_k(True)
    with pytest.raises(UsageError, match=r"long_texts must be one of \['chunk', 'truncate'\], got \['chunk'\]"):
        LoadOptions(long_texts=["chunk"])
    assert check_rollups("sentiment") == ("sentiment",)  # a string is one name, not its letters


# -- manifests ------------------------------------------------------------------------------------
FIELDS = [("format",), ("name",), ("labels",), ("encoder",), ("encoder", "model"), ("encoder", "tokenizer"),
          ("encoder", "pooling"), ("encoder", "normalize"), ("encoder", "max_length"), ("encoder", "output"),
          ("classifier",), ("classifier", "model"), ("classifier", "thresholds"), ("sha256",), ("license",),
          ("source",), ("metrics",), ("description",)]
PLAUSIBLE = st.sampled_from([
    "emospark-bundle/1", "emospark-bundle/2", "encoder/model.onnx", "../model.onnx", "/etc/passwd", "a\\b.onnx",
    "~/x", "mean", "cls", "max", 128, "128", 1, 2, 32, 33, 511, 512, 513, 65537, True, "unverified", "",
    list(GO_EMOTIONS), list(GO_EMOTIONS[:3]), ["joy", "joy"], {"encoder/model.onnx": "0" * 64},
    {"encoder/model.onnx": "XYZ"}, "last_hidden_state", "no_such_output"])


@st.composite
def manifests(draw, valid: dict) -> dict:
    m = copy.deepcopy(valid)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(FIELDS))
        parent = m
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        if draw(st.booleans()) and path[-1] in parent:
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(PLAUSIBLE | JSON)
    return m


def check_manifest(m: Manifest) -> None:
    """What a manifest that was accepted must hold."""
    assert isinstance(m.name, str) and m.name.strip()
    assert type(m.max_length) is int and 2 <= m.max_length <= MAX_LENGTH_LIMIT
    assert m.pooling in ("mean", "cls") and type(m.normalize) is bool
    assert len(set(m.labels)) == len(m.labels) > 0 and all(isinstance(lab, str) and lab for lab in m.labels)
    files = [m.encoder, m.tokenizer, m.classifier, m.thresholds]
    assert len(set(files)) == 4 and all(not f.startswith(("/", "~")) and ".." not in f.split("/") for f in files)
    assert (not m.verified and not m.sha256) or all(f in m.sha256 for f in files)


@pytest.fixture(scope="module")
def valid_manifest(tiny_bundle) -> dict:
    return json.loads((tiny_bundle.root / "emospark.json").read_text())


@fuzz(600)
@given(data=st.data())
def test_manifests_parse_or_raise_bundle_errors(valid_manifest, data):
    counted()
    m = data.draw(manifests(valid_manifest) | JSON)
    try:
        check_manifest(Manifest.parse(m, "x/emospark.json"))
    except BundleError as exc:
        assert str(exc).startswith("x/emospark.json: ")


@fuzz(80)
@given(data=st.data())
def test_bundles_from_fuzzed_manifests_load_or_raise(tiny_bundle, tmp_path_factory, data):
    """A manifest that parses gives a model that loads and scores, or an EmosparkError."""
    counted()
    root = tmp_path_factory.getbasetemp() / "fuzz-bundle"
    if not root.exists():
        shutil.copytree(tiny_bundle.root, root)
    valid = json.loads((tiny_bundle.root / "emospark.json").read_text())
    m = data.draw(manifests(valid) | st.integers(0, 1000).map(
        lambda n: {**valid, "encoder": {**valid["encoder"], "max_length": n}}))
    (root / "emospark.json").write_text(json.dumps(m))
    try:
        loaded = EmotionModel(Bundle.from_dir(root), threads=1)
    except EmosparkError:
        return
    proba = loaded.predict_proba(["i love this " * 40, "sad"])
    assert proba.shape == (2, len(loaded.labels)) and np.all((proba >= 0) & (proba <= 1))


def test_max_length_beyond_the_encoder_fails_at_load(bundle_copy):
    """The tiny encoder has 512 positions: max_length 600 fails at load with a trial run,
    naming the field, instead of failing on the first long text mid-job."""
    m = json.loads((bundle_copy.root / "emospark.json").read_text())
    m["encoder"]["max_length"] = 600
    (bundle_copy.root / "emospark.json").write_text(json.dumps(m))
    with pytest.raises(BundleError, match="cannot take max_length 600 tokens .*encoder.max_length"):
        EmotionModel(Bundle.from_dir(bundle_copy.root))
    m["encoder"]["max_length"] = 2  # [CLS] [SEP] only
    (bundle_copy.root / "emospark.json").write_text(json.dumps(m))
    with pytest.raises(BundleError, match="max_length 2 leaves no room for text"):
        EmotionModel(Bundle.from_dir(bundle_copy.root))


def test_sha256_is_required_or_explicitly_opted_out(bundle_copy):
    path = bundle_copy.root / "emospark.json"
    m = json.loads(path.read_text())
    for sha256, message in [(None, "'sha256' is missing"), ({}, "it must map each file to its sha256"),
                            ({"encoder/model.onnx": m["sha256"]["encoder/model.onnx"]}, "'sha256' has no digest for")]:
        path.write_text(json.dumps({**m, "sha256": sha256} if sha256 is not None else
                                   {k: v for k, v in m.items() if k != "sha256"}))
        with pytest.raises(BundleError, match=message):
            Bundle.from_dir(bundle_copy.root)
    path.write_text(json.dumps({**m, "sha256": "unverified"}))
    unchecked = Bundle.from_dir(bundle_copy.root)
    assert unchecked.sha256 == {}
    (bundle_copy.root / "classifier" / "thresholds.json").write_text(json.dumps({lab: 0.5 for lab in GO_EMOTIONS}))
    assert EmotionModel(unchecked).thresholds.tolist() == [0.5] * 28  # altered, and not checked: as asked


def test_seed_bundles_from_published_files_keep_working(seed_dirs):
    parts = Bundle.from_parts("seed", *seed_dirs, pooling="mean", max_length=32)
    assert parts.sha256 == {} and EmotionModel(parts).predict(["i love this"]) is not None


# -- the model search path ------------------------------------------------------------------------
ENV_ENTRY = (st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=16)
             | st.sampled_from(["/tmp", "/", "~", "~/models", "~nosuchuser/x", "rel/dir", " /tmp", "/tmp ", "/etc/passwd",
                                "/" + "a" * 300, "/no/such/dir", ".", "..", "/proc/self/status"]))


@contextlib.contextmanager
def environ(**values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@fuzz(150)
@given(entries=st.lists(ENV_ENTRY, max_size=4), separator=st.sampled_from([os.pathsep, os.pathsep * 2]))
def test_model_search_path_values(tmp_path_factory, entries, separator):
    counted()
    value = separator.join(entries)
    try:
        dirs = search_path(value)
    except ModelNotFoundError as exc:
        assert "EMOSPARK_MODELS" in str(exc)
    else:
        assert all(d.is_absolute() and (not d.exists() or d.is_dir()) for d in dirs)
    hf = str(tmp_path_factory.getbasetemp() / "hf-empty")
    with environ(EMOSPARK_MODELS=value, HF_HUB_CACHE=hf):
        with pytest.raises(ModelNotFoundError):
            resolve("bge-small-en-go-emotions")
        assert cli(["models"])[0] in (0, 5)


# -- the CLI, in-process --------------------------------------------------------------------------
CWD = {}


@pytest.fixture(scope="module", autouse=True)
def private_working_directory(tmp_path_factory):
    """Fuzzed arguments may name relative files: they resolve in a directory of our own."""
    CWD["dir"] = tmp_path_factory.mktemp("cwd")
    yield


def cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    before = os.getcwd()
    os.chdir(CWD["dir"])  # contextlib.chdir needs Python 3.11
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    finally:
        os.chdir(before)
    return code, out.getvalue(), err.getvalue()


def assert_clean_failure(code: int, err: str, json_log: bool) -> None:
    assert code == 0 or 2 <= code <= 6, (code, err)
    assert "Traceback" not in err, err
    if code and json_log:
        events = [json.loads(line) for line in err.splitlines()]
        assert events[-1]["event"] == "error" and events[-1]["exit_code"] == code
    elif code:
        assert err.count("\n") == 1 and err.startswith("emospark: error: "), err


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory, tiny_bundle) -> dict:
    root = tmp_path_factory.mktemp("cli-fuzz")
    pq.write_table(pa.table({"text": ["i love this", None, "so sad"]}), root / "in.parquet")
    (root / "good.json").write_text(json.dumps({"joy": 0.3}))
    (root / "bad.json").write_text(json.dumps({"joy": "0.3"}))
    return {"root": root, "in": str(root / "in.parquet"), "out": str(root / "out.parquet"), "model": str(tiny_bundle.root)}


ARG_VALUES = (TEXT | st.floats().map(str) | st.integers(-3, 100).map(str)
              | st.sampled_from(["0.5", "nan", "inf", "-0", "1e-400", "1_0", "0x1", "{good}", "{bad}", "{root}/x.json",
                                 "{root}", "sentiment", "ekman", "chunk", "truncate", "max", "json", "text", "1", "2"]))
OPTIONS = st.sampled_from(["--threshold", "--top-k", "--batch-size", "--threads", "--rollup", "--long-texts",
                           "--aggregate", "--schema-version", "--log-format", "--debug", "-q", "--bogus", "--expand"])


@fuzz(200)
@given(options=st.lists(st.tuples(OPTIONS, ARG_VALUES), max_size=4), extra=st.lists(TEXT, max_size=1))
def test_cli_score_options_exit_cleanly(cli_files, options, extra):
    counted()
    fill = lambda v: v.replace("{good}", str(cli_files["root"] / "good.json")).replace(  # noqa: E731
        "{bad}", str(cli_files["root"] / "bad.json")).replace("{root}", str(cli_files["root"]))
    argv = ["score", cli_files["in"], cli_files["out"], "--model", cli_files["model"], "--threads", "1", "-q"]
    for option, value in options:
        argv += [option] if option in ("--debug", "-q", "--expand") else [option, fill(value)]
    argv += extra
    code, _, err = cli(argv)
    assert_clean_failure(code, err, json_log=scan_json(argv))


def scan_json(argv: list[str]) -> bool:
    from emospark.cli.errors import scan_argv

    return scan_argv(argv).log_format == "json"


@fuzz(80)
@given(data=st.data(), json_log=st.booleans())
def test_cli_models_check_exits_cleanly(tiny_bundle, tmp_path_factory, data, json_log):
    counted()
    root = tmp_path_factory.getbasetemp() / "fuzz-check"
    if not root.exists():
        shutil.copytree(tiny_bundle.root, root)
    valid = json.loads((tiny_bundle.root / "emospark.json").read_text())
    (root / "emospark.json").write_text(json.dumps(data.draw(manifests(valid))))
    code, out, err = cli(["models", "--check", str(root)] + (["--log-format", "json"] if json_log else []))
    assert code in (0, 5) and "Traceback" not in err + out
    assert_clean_failure(code, err, json_log)
    assert ("PROBLEM" in out) == (code == 5)


@fuzz(200)
@given(argv=st.lists(TEXT | OPTIONS | st.sampled_from(["score", "eval", "models", "info", "--check", "--help"]),
                     max_size=5))
def test_cli_any_arguments_exit_cleanly(argv):
    counted()
    assume("info" not in argv)  # prints the environment: slow and not a configuration surface
    code, _, err = cli(argv)
    assert_clean_failure(code, err, json_log=scan_json(argv))


def test_cli_messages(cli_files, tmp_path):
    bad_manifest = tmp_path / "b"
    shutil.copytree(cli_files["model"], bad_manifest)
    m = json.loads((bad_manifest / "emospark.json").read_text())
    (bad_manifest / "emospark.json").write_text(json.dumps({**m, "encoder": {**m["encoder"], "max_length": "32"}}))
    base = ["score", cli_files["in"], cli_files["out"], "--threads", "1"]
    cases = [
        (base + ["--model", cli_files["model"], "--threshold", str(cli_files["root"] / "bad.json")], 3,
         "bad.json: 'joy' must be a number in [0, 1], got '0.3' (str)"),
        (base + ["--model", cli_files["model"], "--threshold", "1.5"], 2, "a threshold must lie in [0, 1], got 1.5"),
        (base + ["--model", cli_files["model"], "--threshold", "nope"], 2, "neither a number in [0, 1] nor a threshold"),
        (base + ["--model", cli_files["model"], "--rollup", "plutchik"], 2, "argument --rollup: invalid choice"),
        (base + ["--model", str(bad_manifest)], 5, "encoder.max_length must be an integer in [2, 65536], got '32' (str)"),
        (["models", "--check", str(bad_manifest)], 5, "1 problem found"),
        (["score"], 2, "emospark score: the following arguments are required: INPUT, OUTPUT"),
    ]
    for argv, code, message in cases:
        got, _, err = cli(argv)
        assert (got, err.count("\n")) == (code, 1) and message in err, (argv, err)
        got, _, err = cli(argv + ["--log-format", "json"])
        (event,) = [json.loads(line) for line in err.splitlines()]
        assert event["exit_code"] == code and message in event["message"]


# -- real processes: exit codes, stderr, no traceback ----------------------------------------------
def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "emospark", *map(str, args)], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def test_subprocess_exit_codes(cli_files, tmp_path):
    (tmp_path / "t.json").write_text('{"joy": 2}')
    runs = [
        (run_cli("score", cli_files["in"], tmp_path / "o.parquet", "--model", cli_files["model"], "--top-k", "x",
                 "--log-format", "json"), 2),
        (run_cli("score", cli_files["in"], tmp_path / "o.parquet", "--model", cli_files["model"], "--threshold",
                 tmp_path / "t.json"), 3),
        (run_cli("models", env={"EMOSPARK_MODELS": "relative/models"}), 5),
        (run_cli("models", "--check", tmp_path), 5),
        (run_cli("score", cli_files["in"], tmp_path / "o.parquet", "--model", "bge-small-en-go-emotions",
                 env={"EMOSPARK_MODELS": "/etc/passwd"}), 5),
    ]
    for done, code in runs:
        assert done.returncode == code, done.stderr
        assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert json.loads(runs[0][0].stderr)["exit_code"] == 2
    assert not (tmp_path / "o.parquet").exists()


def test_internal_errors_are_one_line_unless_debug(monkeypatch):
    """A bug (here: an injected TypeError) exits 1 with one line; --debug adds the traceback."""
    def broken(*args, **kwargs):
        raise TypeError("injected")

    monkeypatch.setattr(sys.modules["emospark.cli.main"], "run_models", broken)
    code, _, err = cli(["models"])
    assert code == 1 and err.count("\n") == 1 and "internal error" in err and "--debug" in err, err
    code, _, err = cli(["models", "--debug"])
    assert code == 1 and "Traceback" in err and "TypeError: injected" in err
