"""Measure one job in this process: ``python -m benchmarks.worker JOB_JSON TEXTS_JSON CACHE_DIR``.

Prints the :class:`~benchmarks.jobs.Measurement` as JSON on its last line.
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from .jobs import Job, Measurement
from .timing import peak_rss_mb, timed_calls

Scorer = Callable[[list[str]], object]


def core_scorer(job: Job, cache: Path) -> Scorer:
    """emospark's core, as a user loads it (the shipped bundle is sha256-checked)."""
    import emospark
    from emospark import EmotionModel

    from .variants import variant_bundle

    options = {"threads": job.threads, "batch_size": job.batch, "long_texts": job.long_texts}
    if job.variant == "int8":
        model = emospark.load(**options)
    else:
        model = EmotionModel(variant_bundle(job.variant, cache), verify=False, **options)
    return model.predict_proba


def baseline_scorer(job: Job, cache: Path) -> Scorer:
    """sentence-transformers + the head (see :mod:`benchmarks.baseline`)."""
    from emospark.bundles.locate import resolve

    from .baseline import Baseline

    model = Baseline(cache, resolve(None).classifier, threads=job.threads)
    return lambda texts: model.predict_proba(texts, job.batch)


def measure_in_process(job: Job, texts: list[str], cache: Path) -> Measurement:
    """Load (timed), warm up on one call, then time every call over ``texts``."""
    make = {"core": core_scorer, "baseline": baseline_scorer}[job.kind]
    start = time.perf_counter()
    score = make(job, cache)
    load_s = time.perf_counter() - start
    score(texts[: job.call or job.batch])
    seconds, latencies = timed_calls(score, texts, job.call)
    return Measurement(len(texts), seconds, load_s, peak_rss_mb(), latencies)


def main(argv: list[str]) -> None:
    job = Job(**json.loads(argv[0]))
    texts = json.loads(Path(argv[1]).read_text(encoding="utf-8"))[job.texts][: job.limit]
    cache = Path(argv[2])
    if job.kind in ("spark", "row-udf", "row-udf-st"):
        from .spark_jobs import measure_spark

        result = measure_spark(job, texts, cache)
    else:
        result = measure_in_process(job, texts, cache)
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main(sys.argv[1:])
