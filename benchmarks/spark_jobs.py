"""Spark jobs: emospark's pandas UDF, and row-at-a-time Python UDFs doing the same work.

Both run on ``local[threads]`` with the noop sink, after a warm-up run that starts the
Python workers and loads the model in each (Python workers are reused, so the timed run
finds the model loaded). Tasks have one CPU each, so each worker scores with one thread.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from .jobs import Job, Measurement
from .timing import peak_rss_mb


def row_udf():
    """The naive approach: a plain ``udf`` that scores one text per call (the model is
    loaded once per Python worker, by emospark's per-process cache)."""
    from pyspark.sql.functions import udf
    from pyspark.sql.types import ArrayType, FloatType

    def score_one(text: str | None) -> list[float]:
        from emospark.core.model_cache import cached_model

        return cached_model(None, threads=1).predict_proba([text])[0].tolist()

    return udf(score_one, ArrayType(FloatType()))


def row_udf_st(cache: Path):
    """What is usually written first: sentence-transformers + the head in a plain ``udf``,
    one text per call (the model loaded once per Python worker, one torch thread per task)."""
    from pyspark.sql.functions import udf
    from pyspark.sql.types import ArrayType, FloatType

    def score_one(text: str | None) -> list[float]:
        from benchmarks.baseline import cached_baseline

        return cached_baseline(str(cache)).predict_proba([text], 1)[0].tolist()

    return udf(score_one, ArrayType(FloatType()))


def measure_spark(job: Job, texts: list[str], cache: Path) -> Measurement:
    """Session start + warm-up count as load; the timed run writes every row to noop."""
    import pandas as pd
    from pyspark.sql import SparkSession

    import emospark.spark

    repo = str(Path(__file__).resolve().parents[1])  # Python workers import benchmarks.baseline
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))
    start = time.perf_counter()
    spark = (
        SparkSession.builder.master(f"local[{job.threads}]")
        .config("spark.pyspark.python", sys.executable)
        .config("spark.pyspark.driver.python", sys.executable)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", str(job.threads))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")

    def frame(rows: list[str]):
        return spark.createDataFrame(pd.DataFrame({"text": rows})).repartition(job.threads)

    def scored(df):
        if job.kind == "row-udf":
            return df.withColumn("emotions", row_udf()("text"))
        if job.kind == "row-udf-st":
            return df.withColumn("emotions", row_udf_st(cache)("text"))
        return emospark.spark.score(df, "text", batch_size=job.batch)

    def run(df) -> float:
        t = time.perf_counter()
        scored(df).write.format("noop").mode("overwrite").save()
        return time.perf_counter() - t

    run(frame(texts[: 8 * job.threads]))  # starts the Python workers, loads the model in each
    load_s = time.perf_counter() - start
    df = frame(texts).cache()
    df.count()
    seconds = run(df)
    spark.stop()
    return Measurement(len(texts), seconds, load_s, peak_rss_mb(), note="peak RSS of the driver only")


# -- issue 14's throughput goals: the UDF against the core on the same texts and cores -----------
def throughput(n_large: int = 20_000, n_small: int = 1_000, threads: int = 2,
               conf: dict[str, str] | None = None) -> dict[str, float]:
    """Seconds for: the core (``emospark.load(threads)`` in this process) on ``n_large``
    texts (model loaded before) and on ``n_small`` texts (load included); the UDF on
    ``local[threads]`` on ``n_small`` texts as the first job of a started session (Python
    workers start and load the model: included; JVM start: excluded), then on ``n_large``
    texts (workers warm). The driver's DataFrames are built and cached before timing.
    ``conf``: extra session settings, e.g. ``{"spark.python.daemon.module": "pyspark.daemon"}``
    to time pyspark's own daemon instead of emospark's preloading one."""
    import pandas as pd
    from pyspark.sql import SparkSession

    import emospark
    import emospark.spark

    from .texts import cycle, dev_texts

    texts = cycle(dev_texts()[0], n_large)
    out: dict[str, float] = {}
    t = time.perf_counter()
    model = emospark.load(threads=threads)
    model.predict_proba(texts[:n_small])
    out["core_small_with_load"] = time.perf_counter() - t
    t = time.perf_counter()
    model.predict_proba(texts)
    out["core_large"] = time.perf_counter() - t
    del model

    builder = (SparkSession.builder.master(f"local[{threads}]").config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", str(threads)))
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    try:
        frames = {n: spark.createDataFrame(pd.DataFrame({"text": texts[:n]})).repartition(threads).cache()
                  for n in (n_small, n_large)}
        for df in frames.values():
            df.count()  # the cache is filled by JVM-only jobs: no Python worker starts here

        def run(df) -> float:
            start = time.perf_counter()
            emospark.spark.score(df, "text").write.format("noop").mode("overwrite").save()
            return time.perf_counter() - start

        out["udf_small_first_job"] = run(frames[n_small])
        out["udf_large"] = run(frames[n_large])
    finally:
        spark.stop()
    out["ratio_large"] = out["udf_large"] / out["core_large"]
    out["ratio_small"] = out["udf_small_first_job"] / out["core_small_with_load"]
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(throughput(), indent=2))
