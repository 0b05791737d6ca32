"""The entry point: ``python -m benchmarks [--smoke] [--out FILE]``.

Builds the text sets, runs every job of the plan in its own subprocess, prints the
table, the ratios and the FLOP-bound estimate, and writes everything as JSON.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .flops import encoder_cost, this_machine
from .jobs import Job
from .plan import Plan
from .report import derive, ratio_lines, table
from .texts import cycle, dev_texts, long_texts, window_lengths

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "benchmarks" / "results" / "latest.json"
DEFAULT_CACHE = Path(os.environ.get("EMOSPARK_BENCH_CACHE", Path.home() / ".cache" / "emospark-bench"))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("--texts", type=int, default=None, help="short texts: the first N dev texts (default 1000; 0: all)")
    p.add_argument("--long", type=int, default=60, help="long texts of 200-600 tokens (default 60)")
    p.add_argument("--batches", default="8,32,128", help="batch sizes for the per-call jobs")
    p.add_argument("--threads", default="1,2", help="thread counts for the core jobs")
    p.add_argument("--rounds", type=int, default=2,
                   help="run the whole plan this many times, keep each job's fastest (default 2)")
    p.add_argument("--row-limit", type=int, default=300, help="rows for the row-at-a-time UDF")
    p.add_argument("--no-baseline", action="store_true", help="skip sentence-transformers")
    p.add_argument("--no-spark", action="store_true", help="skip the Spark jobs")
    p.add_argument("--no-precision", action="store_true", help="skip the fp32 and int8-dynamic encoders")
    p.add_argument("--smoke", action="store_true", help="tiny run: 300 texts, batch 32, 1 thread, no Spark")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default {DEFAULT_OUT})")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="baseline weights, encoder variants")
    args = p.parse_args(argv)
    if args.smoke:
        args.texts = 300 if args.texts is None else args.texts
        args.long, args.batches, args.threads, args.rounds = min(args.long, 20), "32", "1", 1
        args.no_spark = args.no_precision = True
    args.texts = 1000 if args.texts is None else args.texts
    return args


def plan_from(args: argparse.Namespace) -> tuple[Plan, dict[str, str]]:
    """The plan, and why parts of it are skipped."""
    skipped = {}
    if not args.no_baseline and not all(importlib.util.find_spec(m) for m in ("torch", "sentence_transformers")):
        skipped["baseline"] = "torch / sentence-transformers not installed (pip install -e '.[bench]')"
    if not args.no_spark and (importlib.util.find_spec("pyspark") is None or shutil.which("java") is None):
        skipped["spark"] = "pyspark or java missing"
    if not args.no_precision and importlib.util.find_spec("onnx") is None:
        skipped["precision"] = "onnx not installed"
    batches = tuple(int(b) for b in args.batches.split(","))
    plan = Plan(
        batches=batches,
        threads=tuple(int(t) for t in args.threads.split(",")),
        reference_batch=32 if 32 in batches else batches[0],
        row_limit=args.row_limit,
        baseline=not args.no_baseline and "baseline" not in skipped,
        spark=not args.no_spark and "spark" not in skipped,
        precision=not args.no_precision and "precision" not in skipped,
    )
    return plan, skipped


def text_sets(n_short: int | None, n_long: int) -> tuple[dict[str, list[str]], dict[str, Any]]:
    from emospark.bundles.locate import resolve
    from emospark.core.encoder import load_tokenizer

    bundle = resolve(None)
    dev, source = dev_texts()
    short = cycle(dev, n_short or len(dev))
    tokenizer, _ = load_tokenizer(bundle.tokenizer, bundle.max_length)
    sets = {"short": short, "long": long_texts(dev, n_long, tokenizer), "dev": dev}
    windows = {
        name: [[len(w.ids) for w in (e, *e.overflowing)] for e in tokenizer.encode_batch(texts)]
        for name, texts in sets.items()
    }
    info = {
        "source": source,
        "short_texts": len(short),
        "long_texts": n_long,
        "dev_texts": len(dev),
        "short_tokens": sum(window_lengths(short, tokenizer)),
        "long_tokens_untruncated": sum(sum(w) for w in windows["long"]),
    }
    return sets, {"info": info, "windows": windows}


def job_windows(job: Job, windows: dict[str, list[list[int]]]) -> list[int]:
    """Lengths of the encoder windows the job's texts need (first window only when truncating)."""
    per_text = windows[job.texts][: job.limit]
    truncate = job.long_texts == "truncate" or job.kind in ("baseline", "row-udf-st")
    return [w[0] for w in per_text] if truncate else [n for w in per_text for n in w]


def run_job(job: Job, texts_file: Path, cache: Path) -> dict[str, Any]:
    """Run one job in a fresh interpreter; its measurement or its error."""
    env = dict(os.environ)
    if job.kind in ("core", "baseline"):
        threads = str(job.threads)
        env.update(RAYON_NUM_THREADS=threads, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
                   TOKENIZERS_PARALLELISM="true" if job.threads > 1 else "false")
    cmd = [sys.executable, "-m", "benchmarks.worker", json.dumps(job.to_dict()), str(texts_file), str(cache)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    row: dict[str, Any] = {"name": job.name, "job": job.to_dict()}
    if proc.returncode != 0:
        row["error"] = f"failed: {(proc.stderr.strip().splitlines() or ['?'])[-1][:120]}"
    else:
        row["measurement"] = json.loads(proc.stdout.strip().splitlines()[-1])
    return row


def faster(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Of two measurements of the same job, the one with more texts/s (a failed one loses)."""
    if old is None or "texts_per_s" not in old:
        return new
    return new if new.get("texts_per_s", 0) > old["texts_per_s"] else old


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan, skipped = plan_from(args)
    from emospark.bundles.locate import resolve

    machine = this_machine()
    cost = encoder_cost(resolve(None).encoder)
    sets, tokens = text_sets(args.texts, args.long)
    args.cache.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    by_job: dict[Job, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="emospark-bench-") as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps(sets), encoding="utf-8")
        for round_ in range(1, args.rounds + 1):
            for job in plan.jobs():
                print(f"... round {round_}: {job.name}", file=sys.stderr, flush=True)
                windows = job_windows(job, tokens["windows"])
                row = derive(run_job(job, texts_file, args.cache), sum(windows), cost.flops(windows),
                             machine.peak_gflops)
                by_job[job] = faster(by_job.get(job), row)
    rows = list(by_job.values())
    ratios = [
        {"what": what, "ratio": by_job[a]["texts_per_s"] / by_job[b]["texts_per_s"]}
        for what, a, b in plan.ratios()
        if "texts_per_s" in by_job.get(a, {}) and "texts_per_s" in by_job.get(b, {})
    ]
    result = {
        "rounds": args.rounds,
        "created": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": {"cpu": machine.describe(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_avg_before": load_before, "load_avg_after": os.getloadavg()},
        "versions": versions(),
        "data": tokens["info"],
        "encoder_flops": {"per_token": cost.per_token, "layers": cost.layers, "dim": cost.dim,
                          "peak_gflops": machine.peak_gflops},
        "skipped": skipped,
        "results": rows,
        "ratios": ratios,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(f"\n{machine.describe()}; load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"data: {tokens['info']}")
    print(f"encoder: {cost.per_token / 1e6:.1f} MFLOP/token + attention 4*L^2*{cost.dim} per layer x {cost.layers}\n")
    print(table(rows))
    print("\n" + ratio_lines(ratios))
    for part, why in skipped.items():
        print(f"skipped {part}: {why}")
    print(f"\nJSON: {args.out}")
    return 0


def versions() -> dict[str, str]:
    """Versions of the packages that matter for speed."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("emospark", "onnxruntime", "tokenizers", "numpy", "torch", "sentence-transformers", "pyspark"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out
