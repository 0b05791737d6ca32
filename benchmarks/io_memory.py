"""The CLI's data path: memory stays flat and the I/O costs little next to the model (issue 12).

1. Peak RSS of ``emospark score`` on 1M rows vs 10k rows (parquet in, parquet out) with the
   small generated test encoder: goal ratio <= 1.5 (streaming end to end).
2. CLI end-to-end rows/s with the real default model vs the core's rows/s
   (``emospark.core.scoring.score_arrow`` on the same texts, in memory, same threads).

Each CLI run is its own subprocess; its peak RSS comes from ``os.wait4``. Not a test::

    python -m benchmarks.io_memory [--rows-small 10000] [--rows-large 1000000] [--model-rows 200000]
"""
from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SENTENCES = ["i love this so much", "why is this so sad", "what a great day lol", "", None,
             'she said "no",\nthen left', "thank you, that fixed it", "this is the third time it broke"]


def make_input(path: Path, rows: int) -> None:
    """A parquet file of ``rows`` rows (an id and a text), written in 64k-row groups."""
    with pq.ParquetWriter(path, pa.schema([("id", pa.int64()), ("text", pa.string())])) as writer:
        for start in range(0, rows, 65536):
            n = min(65536, rows - start)
            texts = list(itertools.islice(itertools.cycle(SENTENCES), start % len(SENTENCES),
                                          start % len(SENTENCES) + n))
            writer.write_table(pa.table({"id": pa.array(range(start, start + n), pa.int64()), "text": texts}))


def run_cli(args: list[str]) -> tuple[float, int]:
    """(seconds, peak RSS in bytes) of one ``emospark`` run in its own process."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "emospark", *args], stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"emospark {' '.join(args)} failed ({proc.returncode}): {err}")
    return seconds, usage.ru_maxrss * 1024


def tiny_bundle(root: Path) -> Path:
    """The small generated test encoder, saved as a bundle (as in tests/conftest.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from emospark import Bundle
    from tests.fixtures import make_seed

    enc, head = make_seed(root / "seed")
    return Bundle.from_parts("tiny", enc, head, pooling="mean", max_length=32).save(root / "tiny").root


def memory(root: Path, small: int, large: int, threads: int) -> None:
    bundle = tiny_bundle(root)
    peaks = {}
    for rows in (small, large):
        src = root / f"in-{rows}.parquet"
        make_input(src, rows)
        seconds, peak = run_cli(["score", str(src), str(root / f"out-{rows}.parquet"), "--model", str(bundle),
                                 "--threads", str(threads), "-q"])
        peaks[rows] = peak
        print(f"tiny encoder, {rows:>9,} rows: peak RSS {peak / 2**20:7.1f} MiB, {seconds:6.1f} s, "
              f"{rows / seconds:9,.0f} rows/s")
    print(f"peak RSS ratio {large:,} / {small:,} rows: {peaks[large] / peaks[small]:.2f} (goal <= 1.5)")


def throughput(root: Path, rows: int, threads: int) -> None:
    import emospark
    from emospark.core.scoring import score_arrow

    src = root / f"model-in-{rows}.parquet"
    make_input(src, rows)
    seconds, peak = run_cli(["score", str(src), str(root / "model-out.parquet"), "--threads", str(threads), "-q"])
    cli = rows / seconds
    texts = pq.read_table(src).column("text").combine_chunks()
    model = emospark.load(threads=threads)
    score_arrow(model, texts.slice(0, 64))  # warm-up
    start = time.perf_counter()
    score_arrow(model, texts)
    core = rows / (time.perf_counter() - start)
    print(f"default model, {rows:,} rows, {threads} threads: CLI end to end {cli:,.0f} rows/s "
          f"(peak RSS {peak / 2**20:.0f} MiB, load included), core score_arrow {core:,.0f} rows/s, "
          f"ratio {cli / core:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-small", type=int, default=10_000)
    parser.add_argument("--rows-large", type=int, default=1_000_000)
    parser.add_argument("--model-rows", type=int, default=200_000, help="0 skips the real-model part")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="emospark-io-bench-") as tmp:
        memory(Path(tmp), args.rows_small, args.rows_large, args.threads)
        if args.model_rows:
            throughput(Path(tmp), args.model_rows, args.threads)


if __name__ == "__main__":
    main()
