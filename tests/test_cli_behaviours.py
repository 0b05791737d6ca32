"""Documented CLI behaviours (docs/cli.md) not covered elsewhere: interrupted writes
(SIGTERM 143, SIGINT 130) with and without O_TMPFILE, exit code 6, the .pq / .ndjson /
parquet-directory inputs, and dates and binary in JSONL output."""
from __future__ import annotations

import base64
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from .fixtures import WORDS
from .test_cli import emospark_cmd, run, writing_into

NO_TMPFILE = "import os, sys; del os.O_TMPFILE; from emospark.cli import main; sys.argv[0] = 'emospark'; sys.exit(main())"


@pytest.fixture(scope="module")
def tiny(tiny_bundle) -> list[str]:
    return ["--model", str(tiny_bundle.root), "--threads", "1"]


@pytest.fixture(scope="module")
def long_input(tmp_path_factory) -> Path:
    """Enough rows (with a payload) that a run spends seconds writing."""
    path = tmp_path_factory.mktemp("sig") / "in.parquet"
    n = 150_000
    texts = [" ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(3 + i % 20)) for i in range(n)]
    pq.write_table(pa.table({"id": range(n), "text": texts, "payload": ["x" * 512] * n}), path, row_group_size=10_000)
    return path


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
@pytest.mark.parametrize("o_tmpfile", [True, False], ids=["O_TMPFILE", "named-temp-fallback"])
def test_signal_during_a_write_leaves_the_older_output_unchanged(tmp_path, tiny, long_input, sig, code, o_tmpfile):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "scored.parquet").write_text("previous result")
    args = ["score", long_input, out_dir / "scored.parquet", *tiny]
    cmd = emospark_cmd(*args) if o_tmpfile else [sys.executable, "-c", NO_TMPFILE, *map(str, args)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not writing_into(proc.pid, out_dir):  # mid-write
            assert proc.poll() is None and time.monotonic() < deadline, "the run ended before the signal"
            time.sleep(0.05)
        if not o_tmpfile:
            assert any(name.endswith(".emospark-tmp") for name in os.listdir(out_dir))  # the fallback is in use
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert os.listdir(out_dir) == ["scored.parquet"]  # no temp file, no partial output
    assert (out_dir / "scored.parquet").read_text() == "previous result"


def test_signal_with_no_older_output_leaves_nothing(tmp_path, tiny, long_input):
    proc = subprocess.Popen(emospark_cmd("score", long_input, tmp_path / "o.parquet", *tiny),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not writing_into(proc.pid, tmp_path):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 143
    assert os.listdir(tmp_path) == []


def test_exit_6_names_the_missing_extra(tmp_path, tiny):
    pq.write_table(pa.table({"text": ["wow"]}), tmp_path / "in.parquet")
    script = ("import sys; sys.modules['pyspark'] = None; from emospark.cli import main; "
              "sys.argv[0] = 'emospark'; sys.exit(main())")
    done = subprocess.run([sys.executable, "-c", script, "score", str(tmp_path / "in.parquet"),
                           str(tmp_path / "out.parquet"), "--engine", "spark", *tiny], capture_output=True, text=True, timeout=300)
    assert done.returncode == 6, done.stderr
    assert 'pip install "emospark[spark]"' in done.stderr
    assert not (tmp_path / "out.parquet").exists()


def test_pq_ndjson_and_parquet_directory_inputs(tmp_path, tiny):
    table = pa.table({"id": [1, 2, 3], "text": ["i love this", None, "so sad"]})
    pq.write_table(table, tmp_path / "in.pq")
    (tmp_path / "in.ndjson").write_text("".join(json.dumps(r) + "\n" for r in table.to_pylist()))
    (tmp_path / "parts").mkdir()
    pq.write_table(table.slice(0, 2), tmp_path / "parts" / "part-0.parquet")
    pq.write_table(table.slice(2), tmp_path / "parts" / "part-1.parquet")
    results = {}
    for name in ("in.pq", "in.ndjson", "parts"):
        done = run("score", tmp_path / name, tmp_path / f"{name}.out.parquet", *tiny, "--quiet")
        assert done.returncode == 0, (name, done.stderr)
        out = pq.read_table(tmp_path / f"{name}.out.parquet")
        results[name] = out.select(["id", "text"]).to_pylist(), out.column("emotions").to_pylist()
    assert results["in.pq"] == results["in.ndjson"] == results["parts"]
    assert results["in.pq"][0] == table.to_pylist() and results["in.pq"][1][1]["top"] is None


def test_dates_and_binary_in_jsonl_output(tmp_path, tiny):
    table = pa.table({
        "text": ["i love this", None],
        "day": pa.array([dt.date(2024, 2, 29), None], pa.date32()),
        "at": pa.array([dt.datetime(2024, 2, 29, 13, 5, 7, 250000), None], pa.timestamp("us")),
        "blob": pa.array([b"\x00\xffbytes", None], pa.binary()),
    })
    pq.write_table(table, tmp_path / "in.parquet")
    done = run("score", tmp_path / "in.parquet", tmp_path / "out.jsonl", *tiny, "--quiet")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert dt.date.fromisoformat(rows[0]["day"]) == dt.date(2024, 2, 29)
    assert dt.datetime.fromisoformat(rows[0]["at"]) == dt.datetime(2024, 2, 29, 13, 5, 7, 250000)
    assert base64.b64decode(rows[0]["blob"]) == b"\x00\xffbytes"
    assert rows[1]["day"] is None and rows[1]["at"] is None and rows[1]["blob"] is None
    assert rows[1]["emotions"]["top"] is None and rows[0]["emotions"]["top"] is not None
