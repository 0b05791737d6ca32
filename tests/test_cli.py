"""The `emospark` command, run as a subprocess on real files (tiny bundle unless said)."""
from __future__ import annotations

import csv
import json
import os
import pty
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

import emospark
from emospark import EmotionModel
from emospark.bundles.locate import packaged_dir
from emospark.bundles.registry import model_info
from emospark.core.metrics import bootstrap_intervals, cross_fitted, report, tune_thresholds
from emospark.core.rollups import groups, rollup_scores
from emospark.labels import GO_EMOTIONS

from .conftest import NO_DEV, SHARED_DATA
from .fixtures import WORDS

DEFAULT_BUNDLE = packaged_dir() / model_info(emospark.DEFAULT_MODEL).packaged_dir_name / "emospark.json"
LONG = "i love this why so sad " * 12  # 72 tokens: three windows of the tiny bundle
TEXTS = ["i love this", None, "", "sorry, so sad", LONG, "what a great day lol"]


def emospark_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "emospark", *map(str, args)]


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(emospark_cmd(*args), capture_output=True, text=True, timeout=300, **kwargs)


@pytest.fixture(scope="module")
def tiny(tiny_bundle) -> list[str]:
    """The options that select the tiny bundle, one thread."""
    return ["--model", str(tiny_bundle.root), "--threads", "1"]


@pytest.fixture(scope="module")
def model(tiny_bundle) -> EmotionModel:
    return EmotionModel(tiny_bundle)


def input_table() -> pa.Table:
    return pa.table({
        "id": pa.array(range(len(TEXTS)), pa.int64()),
        "text": TEXTS,
        "note": [f"n{i}" if i % 2 else None for i in range(len(TEXTS))],
        "x": [1.5, None, 3.25, 4.0, -1.0, 0.0],
    })


def write_input(table: pa.Table, path: Path) -> None:
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in table.to_pylist()))
    else:
        delimiter = "," if path.suffix == ".csv" else "\t"
        pa_csv.write_csv(table, path, pa_csv.WriteOptions(delimiter=delimiter))


def read_output(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="," if path.suffix == ".csv" else "\t"))


# -- score: formats and result -----------------------------------------------------------------
@pytest.mark.parametrize("ext", [".parquet", ".jsonl", ".csv", ".tsv"])
def test_round_trip_keeps_every_column_and_row_order(tmp_path, tiny, model, ext):
    table = input_table()
    write_input(table, tmp_path / f"in{ext}")
    done = run("score", tmp_path / f"in{ext}", tmp_path / f"out{ext}", *tiny)
    assert done.returncode == 0, done.stderr
    rows = read_output(tmp_path / f"out{ext}")
    originals = read_output(tmp_path / f"in{ext}")  # CSV cells as they are in the file
    assert len(rows) == len(originals) == table.num_rows
    flat = ext in (".csv", ".tsv")
    proba = model.predict_proba([r["text"] for r in originals])  # CSV has no null text: ""
    labels = model.labels_from_proba(proba)
    for i, (row, original) in enumerate(zip(rows, originals, strict=True)):
        assert {name: row[name] for name in original} == original
        if flat:
            got = np.array([float(row[f"emotions_{lab}"] or "nan") for lab in GO_EMOTIONS])
            assert row["emotions_labels"] == ",".join(labels[i])
        else:
            assert list(row) == [*original, "emotions"]
            got = np.array([np.nan if v is None else v for v in row["emotions"]["scores"].values()])
            assert row["emotions"]["labels"] == labels[i]
        np.testing.assert_allclose(got, proba[i], atol=1e-6, equal_nan=True)


def test_expand_rollups_threshold_and_top_k(tmp_path, tiny, model):
    write_input(input_table(), tmp_path / "in.parquet")
    done = run("score", tmp_path / "in.parquet", tmp_path / "out.jsonl", *tiny, "--expand", "--rollup", "ekman",
               "--rollup", "sentiment", "--threshold", "0.3", "--top-k", "2", "--out-col", "emo")
    assert done.returncode == 0, done.stderr
    rows = read_output(tmp_path / "out.jsonl")
    proba = model.predict_proba(TEXTS)
    assert list(rows[0]) == [
        "id", "text", "note", "x", *(f"emo_{lab}" for lab in GO_EMOTIONS), "emo_labels", "emo_top", "emo_top_score", "emo_english",
        *(f"emo_ekman_{g}" for g in groups("ekman")), *(f"emo_sentiment_{g}" for g in groups("sentiment")),
    ]
    assert [r["emo_labels"] for r in rows] == model.predict(TEXTS, threshold=0.3, top_k=2)
    for name in ("ekman", "sentiment"):
        got = np.array([[np.nan if r[f"emo_{name}_{g}"] is None else r[f"emo_{name}_{g}"] for g in groups(name)]
                        for r in rows])
        np.testing.assert_allclose(got, rollup_scores(proba, name), atol=1e-6, equal_nan=True)


def test_struct_result_with_rollups_and_long_text_options(tmp_path, tiny, tiny_bundle):
    write_input(input_table(), tmp_path / "in.parquet")
    done = run("score", tmp_path / "in.parquet", tmp_path / "out.parquet", *tiny, "--rollup", "sentiment",
               "--long-texts", "truncate")
    assert done.returncode == 0, done.stderr
    result = pq.read_table(tmp_path / "out.parquet").column("emotions")
    assert result.type.names == ["scores", "labels", "top", "top_score", "english", "sentiment"]
    truncated = EmotionModel(tiny_bundle, long_texts="truncate").predict_proba([LONG])[0]
    assert result[4]["scores"]["joy"].as_py() == pytest.approx(truncated[GO_EMOTIONS.index("joy")], abs=1e-6)


def test_go_emotions_tsv_is_read_without_header(tmp_path, tiny):
    (tmp_path / "data.tsv").write_text("i love this\t17,18\tab1\nwhy \"so\" sad\t25\tab2\n")
    assert run("score", tmp_path / "data.tsv", tmp_path / "out.parquet", *tiny).returncode == 0
    rows = read_output(tmp_path / "out.parquet")
    assert [(r["text"], r["labels"], r["id"]) for r in rows] == [("i love this", "17,18", "ab1"),
                                                                  ('why "so" sad', "25", "ab2")]


def test_formats_can_be_named_explicitly(tmp_path, tiny):
    write_input(input_table(), tmp_path / "in.csv")
    shutil.copy(tmp_path / "in.csv", tmp_path / "in.data")  # a CSV without .csv
    done = run("score", tmp_path / "in.data", tmp_path / "out.bin", *tiny, "--input-format", "csv",
               "--output-format", "parquet")
    assert done.returncode == 0, done.stderr
    assert pq.read_table(tmp_path / "out.bin").num_rows == len(TEXTS)


# -- streaming, memory, interruption ---------------------------------------------------------------
ROWS = 200_000


@pytest.fixture(scope="module")
def big_parquet(tmp_path_factory) -> tuple[Path, Path, int]:
    """A 200k-row parquet (and a 20k-row one like it) of short texts plus a 1 kB payload
    column each, in row groups of 10k; returns them with the big one's in-memory size."""
    root = tmp_path_factory.mktemp("big")
    rng = random.Random(0)
    schema = pa.schema([("id", pa.int64()), ("text", pa.string()), ("payload", pa.string())])
    paths, size = [], 0
    for n in (ROWS, ROWS // 10):
        paths.append(root / f"{n}.parquet")
        with pq.ParquetWriter(paths[-1], schema) as writer:
            for start in range(0, n, 20_000):
                chunk = pa.table({
                    "id": range(start, start + 20_000),
                    "text": [" ".join(rng.choices(WORDS, k=rng.randint(3, 25))) for _ in range(20_000)],
                    "payload": ["%0256x" % rng.getrandbits(1024) * 4 for _ in range(20_000)],
                }, schema=schema)
                writer.write_table(chunk, row_group_size=10_000)
                size += chunk.nbytes if n == ROWS else 0
    return paths[0], paths[1], size


def peak_rss_of(cmd: list[str]) -> tuple[int, int]:
    """Run ``cmd``; its exit code and its own peak RSS in bytes (wait4, Linux)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss * 1024


def test_200k_rows_stream_with_bounded_memory(tmp_path, tiny, big_parquet):
    big, small, size = big_parquet
    code_small, rss_small = peak_rss_of(emospark_cmd("score", small, tmp_path / "small.parquet", *tiny))
    code_big, rss_big = peak_rss_of(emospark_cmd("score", big, tmp_path / "big.parquet", *tiny))
    assert code_small == code_big == 0
    out = pq.ParquetFile(tmp_path / "big.parquet")
    assert out.metadata.num_rows == ROWS
    ids = out.read(columns=["id"]).column("id")
    assert ids[0].as_py() == 0 and ids[ROWS - 1].as_py() == ROWS - 1 and ids.to_numpy().sum() == ROWS * (ROWS - 1) // 2
    # ten times the rows (a ~210 MB table) must not cost a comparable share of it in memory
    print(f"peak RSS: {rss_small / 2**20:.0f} MB (20k rows), {rss_big / 2**20:.0f} MB (200k, {size / 2**20:.0f} MB)")
    assert rss_big - rss_small < 0.25 * size


def test_killed_run_leaves_no_output_and_no_temp_file(tmp_path, tiny, big_parquet):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "scored.parquet").write_text("previous result")
    proc = subprocess.Popen(emospark_cmd("score", big_parquet[0], out_dir / "scored.parquet", *tiny),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not writing_into(proc.pid, out_dir):  # wait until it is mid-write
            assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert os.listdir(out_dir) == ["scored.parquet"]
    assert (out_dir / "scored.parquet").read_text() == "previous result"


def writing_into(pid: int, directory: Path) -> bool:
    """True once process ``pid`` has written data to an open file in ``directory``."""
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir() if fd_dir.exists() else ():
        try:
            target = os.readlink(fd)
            if target.startswith(f"{directory}/") and os.stat(fd).st_size > 0:
                return True
        except OSError:  # the fd closed meanwhile
            continue
    return False


def test_a_bad_row_midway_fails_naming_file_and_row_and_leaves_nothing(tmp_path, tiny):
    lines = [json.dumps({"text": f"i love this {i}", "n": i}) for i in range(20_000)]
    lines[12_345] = json.dumps({"text": 12345, "n": 12_345})
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    done = run("score", tmp_path / "in.jsonl", out_dir / "out.parquet", *tiny)
    assert done.returncode == 3
    assert "in.jsonl" in done.stderr and "after row 8192" in done.stderr and "in row 4153" in done.stderr
    assert os.listdir(out_dir) == []


@pytest.mark.spark
@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime ('java' is not on PATH)")
def test_spark_engine_writes_the_same_result_as_a_directory(tmp_path, tiny, model):
    pytest.importorskip("pyspark")
    write_input(input_table(), tmp_path / "in.parquet")
    (tmp_path / "out.parquet").write_text("previous result")
    done = run("score", tmp_path / "in.parquet", tmp_path / "out.parquet", *tiny, "--engine", "spark",
               "--master", "local[1]", "--quiet", "--rollup", "sentiment")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.parquet" / "_SUCCESS").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet", "out.parquet"]
    rows = sorted(pq.read_table(tmp_path / "out.parquet").to_pylist(), key=lambda r: r["id"])
    assert [r["emotions"]["labels"] for r in rows] == model.predict(TEXTS)
    sentiment = rollup_scores(model.predict_proba(TEXTS), "sentiment")
    for row, want in zip(rows, sentiment, strict=True):
        got = [np.nan if v is None else v for v in row["emotions"]["sentiment"].values()]
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert [r["note"] for r in rows] == input_table().column("note").to_pylist()


# -- errors and exit codes -----------------------------------------------------------------------
@pytest.fixture
def good_input(tmp_path) -> Path:
    write_input(input_table(), tmp_path / "in.parquet")
    return tmp_path / "in.parquet"


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["{dir}/missing.parquet", "{dir}/o.parquet"], 3, "missing.parquet: no such file"),
        (["{in}", "{dir}/o.parquet", "--text-col", "body"], 3,
         "no column 'body'; the columns are ['id', 'text', 'note', 'x']"),
        (["{in}", "{dir}/o.parquet", "--text-col", "id"], 3,
         "column 'id' holds int64, not text; the text columns are ['text', 'note']"),
        (["{dir}/garbage.parquet", "{dir}/o.parquet"], 3, "garbage.parquet: cannot be read as parquet"),
        (["{in}", "{dir}/no/such/dir/o.parquet"], 4, "directory {dir}/no/such/dir does not exist"),
        (["{in}", "{in}/o.parquet"], 4, "does not exist"),
        (["{in}", "{dir}/o.xlsx"], 2, "cannot tell the format of"),
        (["{in}", "{dir}/o.parquet", "--top-k", "0"], 2, "expected a positive integer"),
        (["{in}", "{dir}/o.parquet", "--threshold", "1.5"], 2, "must lie in [0, 1]"),
        (["{in}", "{dir}/o.parquet", "--threshold", "{dir}/thresholds.json"], 3,
         "unknown labels in {dir}/thresholds.json: ['happiness']"),
        (["{in}", "{dir}/o.parquet", "--out-col", "note"], 2, "columns ['note'] are already in the table"),
        (["{in}", "{dir}/o.parquet", "--model", "no-such-model"], 5, "unknown model 'no-such-model'"),
    ],
)
def test_exit_codes_and_messages(tmp_path, tiny, good_input, args, code, message):
    (tmp_path / "garbage.parquet").write_bytes(b"not parquet at all")
    (tmp_path / "thresholds.json").write_text('{"happiness": 0.3}')
    fill = {"{dir}": str(tmp_path), "{in}": str(good_input)}
    args = [a.replace("{dir}", fill["{dir}"]).replace("{in}", fill["{in}"]) for a in args]
    done = run("score", *args, *tiny[2:], *([] if "--model" in args else tiny[:2]))
    assert done.returncode == code, done.stderr
    assert message.replace("{dir}", str(tmp_path)) in done.stderr
    assert not (tmp_path / "o.parquet").exists()


def test_unwritable_output_directory(tmp_path, tiny, good_input):
    # a regular file where the output directory should be: unwritable even for root
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a directory")
    done = run("score", good_input, blocker / "o.parquet", *tiny)
    assert done.returncode == 4 and "cannot write" in done.stderr, done.stderr
    assert blocker.read_text() == "a file, not a directory"


def test_json_log_events(tmp_path, tiny, good_input):
    done = run("score", good_input, tmp_path / "o.parquet", *tiny, "--log-format", "json")
    events = [json.loads(line) for line in done.stderr.splitlines()]
    assert [e["event"] for e in events] == ["start", "done"]
    assert events[0]["rows_total"] == len(TEXTS) and events[1]["rows"] == len(TEXTS)
    failed = run("score", tmp_path / "none.parquet", tmp_path / "o.parquet", *tiny, "--log-format", "json", "-q")
    (event,) = [json.loads(line) for line in failed.stderr.splitlines()]
    assert event["event"] == "error" and event["exit_code"] == 3 and "none.parquet" in event["message"]


def test_quiet_in_logs_and_a_progress_line_on_a_terminal(tmp_path, tiny, good_input):
    logged = run("score", good_input, tmp_path / "o.parquet", *tiny)
    assert logged.stderr.count("\n") == 1 and "scoring done: 6 rows" in logged.stderr and "\r" not in logged.stderr
    assert run("score", good_input, tmp_path / "o.parquet", *tiny, "--quiet").stderr == ""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(emospark_cmd("score", good_input, tmp_path / "o.parquet", *tiny),
                              stderr=follower, stdout=subprocess.DEVNULL, timeout=300)
        os.close(follower)
        shown = b""
        while chunk := _read_pty(leader):
            shown += chunk
    finally:
        os.close(leader)
    assert proc.returncode == 0 and b"\r\x1b[K" in shown and b"rows/s" in shown


def _read_pty(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except OSError:  # EIO once the terminal's other end is closed and drained
        return b""


def test_python_dash_m_and_help_texts():
    top = run("--help")
    assert top.returncode == 0 and "exit codes:" in top.stdout and "score" in top.stdout
    for command in ("score", "eval", "models", "info"):
        assert run(command, "--help").returncode == 0
    assert run("--version").stdout.strip() == f"emospark {emospark.__version__}"


# -- eval -----------------------------------------------------------------------------------------
EVAL_TEXTS = ["i love this thank you", "so sad sorry", "why what", "great wow lol", "angry hate this", "fine ok"]
EVAL_LABELS = [[15, 18], [25, 24], [6, 7], [13, 1], [2], [27]]


def write_labelled(path: Path) -> None:
    names = [[GO_EMOTIONS[i] for i in ids] for ids in EVAL_LABELS]
    if path.suffix == ".tsv":  # the go_emotions layout
        path.write_text("".join(f"{t}\t{','.join(map(str, ids))}\tx{i}\n"
                                for i, (t, ids) in enumerate(zip(EVAL_TEXTS, EVAL_LABELS, strict=True))))
    elif path.suffix == ".parquet":  # a list column of label names
        pq.write_table(pa.table({"body": EVAL_TEXTS, "gold": names}), path)
    else:  # CSV: comma-separated names
        pa_csv.write_csv(pa.table({"body": EVAL_TEXTS, "gold": [",".join(n) for n in names]}), path)


@pytest.mark.parametrize("ext", [".tsv", ".parquet", ".csv"])
def test_eval_gives_the_numbers_of_metrics_report(tmp_path, tiny, model, ext):
    write_labelled(tmp_path / f"data{ext}")
    cols = [] if ext == ".tsv" else ["--text-col", "body", "--labels-col", "gold"]
    done = run("eval", tmp_path / f"data{ext}", *cols, *tiny, "--json", tmp_path / "m.json",
               "--tune-thresholds", tmp_path / "t.json")
    assert done.returncode == 0, done.stderr
    y = np.zeros((len(EVAL_TEXTS), 28), dtype=bool)
    for i, ids in enumerate(EVAL_LABELS):
        y[i, ids] = True
    proba = model.predict_proba(EVAL_TEXTS)
    tuned = tune_thresholds(y, proba)
    got = json.loads((tmp_path / "m.json").read_text())
    assert got["rows"] == len(EVAL_TEXTS) and got["model"] == "tiny"
    assert got["at_model_thresholds"] == report(y, proba, model.thresholds, GO_EMOTIONS)
    assert got["at_0.5"] == report(y, proba, np.full(28, 0.5), GO_EMOTIONS)
    assert got["at_tuned_thresholds"] == report(y, proba, tuned, GO_EMOTIONS)
    assert json.loads((tmp_path / "t.json").read_text()) == dict(zip(GO_EMOTIONS, tuned.tolist(), strict=True))
    assert got["cross_fitted"] == cross_fitted(y, proba, GO_EMOTIONS)
    assert got["f1_intervals"] == bootstrap_intervals(y, proba, model.thresholds, GO_EMOTIONS)
    cross = got["cross_fitted"]["macro"]
    assert f"| macro, cross-fitted (tuned on one half, scored on the other) | {cross['precision']:.4f} |" \
        in done.stdout
    macro = got["at_model_thresholds"]["macro"]
    assert f"| macro, model thresholds | {macro['precision']:.4f} | {macro['recall']:.4f} | {macro['f1']:.4f} |" \
        in done.stdout


def test_tuned_thresholds_feed_score(tmp_path, tiny, model):
    write_labelled(tmp_path / "data.tsv")
    assert run("eval", tmp_path / "data.tsv", *tiny, "--tune-thresholds", tmp_path / "t.json").returncode == 0
    write_input(input_table(), tmp_path / "in.parquet")
    assert run("score", tmp_path / "in.parquet", tmp_path / "o.parquet", *tiny,
               "--threshold", tmp_path / "t.json").returncode == 0
    tuned = json.loads((tmp_path / "t.json").read_text())
    got = [r["emotions"]["labels"] for r in read_output(tmp_path / "o.parquet")]
    assert got == model.predict(TEXTS, threshold=tuned)


@pytest.mark.parametrize(
    "content, message",
    [
        ("fine\t3,99\tx\n", "data.tsv, column 'labels', row 0: '99' is neither a label id (0-27) nor a label name"),
        ("fine\t3\tx\nok\t4,joyful\ty\n", "data.tsv, column 'labels', row 1: 'joyful' is neither"),
    ],
)
def test_eval_label_errors_name_file_column_and_row(tmp_path, tiny, content, message):
    (tmp_path / "data.tsv").write_text(content)
    done = run("eval", tmp_path / "data.tsv", *tiny)
    assert done.returncode == 3 and message in done.stderr


def test_eval_refuses_rows_without_text(tmp_path, tiny):
    pq.write_table(pa.table({"text": ["ok", None], "labels": [["joy"], []]}), tmp_path / "d.parquet")
    done = run("eval", tmp_path / "d.parquet", *tiny)
    assert done.returncode == 3 and "column 'text', row 1: no text" in done.stderr


# -- models, info ---------------------------------------------------------------------------------
def test_models_lists_where_each_is_found_and_checks_sha256(tmp_path, tiny_bundle):
    shutil.copytree(tiny_bundle.root, tmp_path / "bge-small-en-go-emotions")
    shutil.copytree(tiny_bundle.root, tmp_path / "all-MiniLM-L12-v2-go-emotions")
    with open(tmp_path / "all-MiniLM-L12-v2-go-emotions" / "classifier" / "thresholds.json", "a") as f:
        f.write(" ")
    env = {**os.environ, "EMOSPARK_MODELS": str(tmp_path), "HF_HUB_CACHE": str(tmp_path / "hf")}
    done = run("models", env=env)
    assert done.returncode == 0, done.stderr
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in done.stdout.splitlines()[2:]]
    rows = {name: rest for name, *rest in cells}
    assert rows["bge-small-en-go-emotions"][0] == str(tmp_path / "bge-small-en-go-emotions")
    assert rows["bge-small-en-go-emotions"][1].endswith(" MB") and rows["bge-small-en-go-emotions"][2] == "ok"
    assert rows["bge-small-en-go-emotions"][3] == "MIT"
    assert rows["all-MiniLM-L12-v2-go-emotions"][2].startswith("FAILED: ") and "altered" in done.stdout


def test_info_prints_versions_and_providers():
    done = run("info")
    assert done.returncode == 0
    assert f"emospark {emospark.__version__}".split()[1] in done.stdout
    assert "CPUExecutionProvider" in done.stdout and "onnxruntime" in done.stdout and "pyarrow" in done.stdout


# -- the real default bundle ------------------------------------------------------------------------
def test_default_bundle_scores_a_file(tmp_path):
    pq.write_table(pa.table({"text": ["Thank you so much, this is wonderful!", None]}), tmp_path / "in.parquet")
    done = run("score", tmp_path / "in.parquet", tmp_path / "out.parquet", "--rollup", "sentiment")
    assert done.returncode == 0, done.stderr
    first, missing = read_output(tmp_path / "out.parquet")
    assert "gratitude" in first["emotions"]["labels"] and first["emotions"]["sentiment"]["positive"] > 0.5
    assert missing["emotions"]["labels"] == [] and missing["emotions"]["scores"]["joy"] is None


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_DATA / "dev.tsv").is_file(), reason=NO_DEV)
def test_eval_on_dev_reproduces_the_model_card(tmp_path):
    done = run("eval", SHARED_DATA / "dev.tsv", "--json", tmp_path / "m.json")
    assert done.returncode == 0, done.stderr
    got = json.loads((tmp_path / "m.json").read_text())
    card = json.loads(DEFAULT_BUNDLE.read_text())["metrics"]
    # int8 GEMMs are exact on every CPU, but the float ops around them round differently by ISA
    # (AVX2 vs AVX-512): the card's figures hold to a tolerance, not to the last decimal.
    for key, card_key in (("at_model_thresholds", "dev_tuned"), ("at_0.5", "dev_at_0.5")):
        for avg in ("macro", "weighted"):
            for metric, value in card[card_key][avg].items():
                assert got[key][avg][metric] == pytest.approx(value, abs=2e-3), (key, avg, metric)
        for label, figures in card[card_key]["per_label"].items():
            assert got[key]["per_label"][label]["support"] == figures["support"]
            assert got[key]["per_label"][label]["f1"] == pytest.approx(figures["f1"], abs=0.02), (key, label)


def test_new_errors_pickle_unchanged():
    import pickle

    from emospark.cli.main import Terminated
    from emospark.errors import EmosparkError, InputError, OutputError, UsageError

    for kind in (InputError, OutputError, UsageError, Terminated):
        error = pickle.loads(pickle.dumps(kind("in.parquet: no column 'body'")))
        assert type(error) is kind and isinstance(error, EmosparkError) and str(error) == "in.parquet: no column 'body'"
