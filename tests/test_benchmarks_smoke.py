"""Smoke run of the benchmarks entry point: a few hundred texts, core only, no speed asserts."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_benchmark_smoke_run_writes_the_table_and_json(tmp_path):
    out = tmp_path / "bench.json"
    cmd = [sys.executable, "-m", "benchmarks", "--smoke", "--texts", "200", "--long", "8", "--no-baseline",
           "--out", str(out), "--cache", str(tmp_path / "cache")]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| config | texts/s | tokens/s |" in proc.stdout
    result = json.loads(out.read_text())
    assert {"machine", "data", "encoder_flops", "results", "ratios", "versions"} <= set(result)
    assert result["encoder_flops"]["per_token"] > 1e6 and result["encoder_flops"]["layers"] == 6
    assert result["data"]["short_texts"] == 200
    names = [r["name"] for r in result["results"]]
    assert any(n.startswith("core short") for n in names) and any(n.startswith("core long") for n in names)
    for row in result["results"]:
        assert "error" not in row, row
        m = row["measurement"]
        assert m["texts"] > 0 and m["seconds"] > 0 and m["load_s"] > 0 and m["peak_rss_mb"] > 0
        assert row["texts_per_s"] > 0 and row["tokens_per_s"] > 0 and 0 < row["pct_peak"] < 100
    per_call = next(r for r in result["results"] if r["job"]["call"] is not None)
    assert per_call["p50_ms"] > 0 and per_call["p95_ms"] >= per_call["p50_ms"]
    assert any(r["what"].startswith("long texts") for r in result["ratios"])


def test_frames_benchmark_smoke_run(tmp_path):
    """Polars, DuckDB and pandas rows relative to the core (python -m benchmarks.frames)."""
    out = tmp_path / "frames.json"
    cmd = [sys.executable, "-m", "benchmarks.frames", "--texts", "300", "--rounds", "1", "--out", str(out)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| path | texts/s | vs core |" in proc.stdout
    result = json.loads(out.read_text())
    paths = [row["path"] for row in result["rows"]]
    assert paths[0].startswith("core") and any("polars" in p for p in paths) and any("duckdb" in p for p in paths)
    assert all(row["texts_per_s"] > 0 for row in result["rows"])
    assert 0 < result["progress"]["update_share_of_batch"] < 1
