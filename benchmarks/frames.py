"""Polars, DuckDB and pandas throughput relative to the core, on the same texts in one
process: ``python -m benchmarks.frames [--texts 20000] [--rounds 3] [--only duckdb,polars] [--out FILE]``.

Each round times every path once, in turn (interleaved, so a noisy neighbour hits all
paths alike); each path keeps its fastest round. The model is loaded once and shared,
so the ratios measure what each entry point adds around :func:`score_arrow`. Also
measures what one progress-bar update costs against one encoder batch's scoring time.
"""
from __future__ import annotations

import argparse
import io
import json
import platform
import time
from pathlib import Path
from typing import Callable

from .texts import cycle, dev_texts

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "benchmarks" / "results" / "frames.json"


def paths(model, texts: list[str]) -> dict[str, Callable[[], object]]:
    """The entry points, each scoring every text once."""
    import duckdb
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    import emospark.duckdb
    import emospark.polars  # noqa: F401
    from emospark.core.scoring import score_arrow

    arrow = pa.array(texts, pa.string())
    frame = pl.DataFrame({"text": texts})
    pandas_frame = pd.DataFrame({"text": texts})
    con = emospark.duckdb.register(duckdb.connect(), model=model)
    con.register("comments", pa.table({"text": arrow}))
    return {
        "core (score_arrow)": lambda: score_arrow(model, arrow),
        "pandas df.emotions.score": lambda: pandas_frame.emotions.score(model=model, progress=False),
        "polars eager expression": lambda: frame.select(pl.col("text").emotions.score(model=model)),
        "polars lazy streaming": lambda: frame.lazy().select(pl.col("text").emotions.score(model=model))
        .collect(engine="streaming"),
        # to_arrow_table(): DuckDB 1.4+'s .arrow() is a lazy reader that would time nothing
        "duckdb emotions(text)": lambda: con.sql("SELECT emotions(text) AS e FROM comments").to_arrow_table(),
    }


def progress_cost(updates: int = 200_000) -> float:
    """Seconds per ``update()`` of a live tqdm bar (the bar emospark shows), drawn to a buffer."""
    from tqdm.auto import tqdm

    bar = tqdm(total=updates * 32, file=io.StringIO(), unit=" texts")
    start = time.perf_counter()
    for _ in range(updates):
        bar.update(32)
    seconds = (time.perf_counter() - start) / updates
    bar.close()
    return seconds


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks.frames", description=__doc__.splitlines()[0])
    p.add_argument("--texts", type=int, default=20_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--only", default="", help="comma-separated words: time only the paths whose name has one "
                   "(the core always runs)")
    p.add_argument("--dev", type=Path, default=None, help="go_emotions dev.tsv (default: ../shared beside the repo)")
    args = p.parse_args(argv)

    import emospark
    from emospark.core.encoder import available_cores

    source, where = dev_texts(args.dev) if args.dev else dev_texts()
    texts = cycle(source, args.texts)
    model = emospark.load()
    for fn in paths(model, texts[:256]).values():  # warm up (first-call costs, DuckDB/Polars planning)
        fn()
    runs = {name: fn for name, fn in paths(model, texts).items()
            if name.startswith("core") or not args.only or any(w in name for w in args.only.split(","))}
    best = {name: float("inf") for name in runs}
    for _ in range(args.rounds):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    core = best["core (score_arrow)"]
    per_update = progress_cost()
    per_batch = core / max(1, -(-len(texts) // model.batch_size))  # one update per batch of batch_size texts
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": available_cores()},
        "data": {"texts": len(texts), "source": where, "rounds": args.rounds},
        "rows": [{"path": n, "seconds": s, "texts_per_s": len(texts) / s, "vs_core": core / s} for n, s in best.items()],
        "progress": {"seconds_per_update": per_update, "seconds_per_batch": per_batch,
                     "update_share_of_batch": per_update / per_batch},
    }
    print(f"{len(texts):,} texts ({where}), best of {args.rounds} interleaved rounds, {available_cores()} cores")
    print("| path | texts/s | vs core |\n|---|---:|---:|")
    for row in result["rows"]:
        print(f"| {row['path']} | {row['texts_per_s']:,.0f} | {row['vs_core']:.2f}x |")
    print(f"progress: {per_update * 1e6:.2f} us per tqdm update vs {per_batch * 1e3:.1f} ms per batch of "
          f"{model.batch_size} ({100 * per_update / per_batch:.4f}%)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
