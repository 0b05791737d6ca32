"""The Spark UDF on real Spark: local[2], Structured Streaming, a standalone master and
worker started here on 127.0.0.1, and a Spark Connect server; every result is compared
row by row with the pandas path."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs a Java 17+ runtime ('java' is not on PATH)", allow_module_level=True)

import emospark  # noqa: E402
import emospark.spark  # noqa: E402
from emospark.core.language import english_flags  # noqa: E402
from emospark.core.model_cache import cached_model  # noqa: E402
from emospark.core.schema import result_type, to_arrow  # noqa: E402
from emospark.errors import InputError  # noqa: E402

from .conftest import SHARED_DATA, assert_same_rows  # noqa: E402
from .spark_cluster import connect_server, driver_extras, run_driver, standalone_cluster, worker_loads  # noqa: E402

pytestmark = pytest.mark.spark

TEXTS = [
    "I love this so much, thank you!", None, "why", "", "this is terrible and I hate it, why", "lol",
    "wow great", "sorry", "   ", "i am so happy", "what a bad day", "ok fine",
] * 6


def expected(texts: list, model=None, **options) -> pa.StructArray:
    """The pandas path's result, as Arrow."""
    return pa.array(pd.Series(texts).emotions.score(model=model, **options).array)


def scored_in_order(df, **options) -> pa.ChunkedArray:
    return emospark.spark.score(df, "text", **options).orderBy("id").toArrow().column("emotions")


def texts_frame(spark, texts: list, partitions: int = 4):
    return spark.createDataFrame(list(enumerate(texts)), "id long, text string").repartition(partitions)


# -- local[2] --------------------------------------------------------------------------------
def test_udf_equals_pandas_row_by_row(spark, tiny_bundle):
    model = str(tiny_bundle.root)
    df = texts_frame(spark, TEXTS).withColumn("emotions", emospark.spark.emotions_udf(model)("text"))
    got = df.orderBy("id").toArrow().column("emotions")
    assert_same_rows(got, expected(TEXTS, model))
    assert got.null_count == 0  # a missing text gives a row of null scores, not a null row


def test_each_python_worker_loads_the_model_once(spark, tiny_bundle):
    model = str(tiny_bundle.root)
    scored_in_order(texts_frame(spark, TEXTS, partitions=8), model=model, batch_size=4)
    workers = [w for w in worker_loads(spark) if w["loads"]]
    # 8 tasks of several Arrow batches each ran on at most 2 worker processes (local[2])
    assert 1 <= len(workers) <= 2
    for worker in workers:
        # one load per process, with one onnxruntime thread as spark.task.cpus is 1
        assert worker["loads"] == [[[model, [["threads", 1]]], 1]], worker


def test_options_pass_through(spark, tiny_bundle):
    model = str(tiny_bundle.root)
    df = texts_frame(spark, TEXTS[:12], partitions=2)
    for options in ({"threshold": 0.0, "top_k": 3}, {"threshold": {"joy": 0.0}, "batch_size": 1}):
        assert_same_rows(scored_in_order(df, model=model, **options), expected(TEXTS[:12], model, **options))


def test_rollups_are_struct_fields(spark, tiny_bundle):
    model = str(tiny_bundle.root)
    rollups = ["ekman", "sentiment"]
    got = scored_in_order(texts_frame(spark, TEXTS[:12], partitions=2), model=model, rollups=rollups)
    want = expected(TEXTS[:12], model, rollups=rollups)
    assert got.type == want.type  # the Spark DDL and the Arrow type agree, roll-ups included
    for name in rollups:
        g = np.array([[np.nan if v is None else v for v in row[name].values()] for row in got.to_pylist()])
        w = np.array([[np.nan if v is None else v for v in row[name].values()] for row in want.to_pylist()])
        np.testing.assert_allclose(g, w, atol=1e-5)


def test_load_options_reach_the_executors(spark, tiny_bundle):
    model = str(tiny_bundle.root)
    texts = ["i love this " * 40, "wow"]  # longer than the tiny bundle's 32-token window
    df = texts_frame(spark, texts, partitions=1)
    for long_texts in ("chunk", "truncate"):
        want = expected(texts, cached_model(model, long_texts=long_texts))
        assert_same_rows(scored_in_order(df, model=model, long_texts=long_texts), want)


def test_score_refuses_wrong_columns_on_the_driver(spark):
    df = spark.createDataFrame([(1, "a")], "n int, text string")
    with pytest.raises(InputError, match=r"no column 'txt'.*\['n', 'text'\]"):
        emospark.spark.score(df, "txt")
    with pytest.raises(InputError, match="column 'n' has type int, not string"):
        emospark.spark.score(df, "n")


def test_a_missing_model_path_fails_on_the_driver_and_nothing_loads(tmp_path):
    from emospark.core.model_cache import load_counts

    before = load_counts()
    with pytest.raises(emospark.ModelNotFoundError, match="no-such-bundle does not exist on the driver"):
        emospark.spark.emotions_udf(str(tmp_path / "no-such-bundle"))
    assert load_counts() == before


def test_errors_raised_on_executors_reach_the_driver(spark, bundle_copy):
    udf = emospark.spark.emotions_udf(str(bundle_copy.root))  # checked here: the manifest is fine
    (bundle_copy.root / "encoder" / "model.onnx").write_bytes(b"damaged")  # ...then damaged before the job
    with pytest.raises(Exception, match="BundleError"):
        spark.createDataFrame([("a",)], "text string").select(udf("text")).collect()


def test_custom_column_names(spark, tiny_bundle):
    df = spark.createDataFrame([("wow", 1)], "`my.text` string, n int")
    out = emospark.spark.score(df, "my.text", "scored", model=str(tiny_bundle.root))
    assert out.columns == ["my.text", "n", "scored"]
    assert out.collect()[0].scored.labels == expected(["wow"], str(tiny_bundle.root)).to_pylist()[0]["labels"]


def test_without_pyspark_the_error_names_the_extra():
    script = """
import sys
sys.modules["pyspark"] = None  # what an environment without pyspark looks like to `import`
import emospark
try:
    import emospark.spark
except emospark.MissingExtraError as exc:
    print(exc)
"""
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == 'emospark.spark needs the \'pyspark\' package: pip install "emospark[spark]"', done


# -- Structured Streaming ---------------------------------------------------------------------
@pytest.mark.slow
def test_streaming_file_source_to_parquet_with_checkpoint(spark, tiny_bundle, tmp_path):
    model = str(tiny_bundle.root)
    source, sink, checkpoint = tmp_path / "in", tmp_path / "out", tmp_path / "checkpoint"
    source.mkdir()

    def run_stream() -> None:
        stream = spark.readStream.schema("id long, text string").json(str(source))
        query = (
            emospark.spark.score(stream, "text", model=model)
            .writeStream.format("parquet")
            .option("path", str(sink))
            .option("checkpointLocation", str(checkpoint))
            .trigger(availableNow=True)
            .start()
        )
        assert query.awaitTermination(timeout=180), "streaming query did not finish in 180 s"
        assert query.exception() is None

    def add_file(name: str, rows: list[tuple[int, str | None]]) -> None:
        lines = [json.dumps({"id": i, "text": t}) for i, t in rows]
        (source / name).write_text("\n".join(lines) + "\n")

    rows = list(enumerate(TEXTS))
    add_file("part-0.json", rows[:40])
    run_stream()
    add_file("part-1.json", rows[40:])
    run_stream()  # the checkpoint makes this run read only the new file

    table = pq.read_table(sink).sort_by("id")
    assert table.column("id").to_pylist() == list(range(len(TEXTS)))
    assert_same_rows(table.column("emotions").cast(result_type()), expected(TEXTS, model))


# -- a standalone cluster and Spark Connect, started here ---------------------------------------
@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("standalone")
    with standalone_cluster(log_dir) as url:
        yield url, log_dir


def check_cluster_run(table: pa.Table, loads: list[dict], texts: list, bundle, threads: int) -> None:
    assert table.column("id").to_pylist() == list(range(len(texts)))
    assert_same_rows(table.column("emotions"), expected(texts, str(bundle.root)))
    workers = [w for w in loads if w["loads"]]
    assert workers, loads
    for worker in workers:  # one load per Python worker, wherever the shipped bundle was unpacked
        [[(path, options), count]] = worker["loads"]
        assert (Path(path).name, options, count) == (bundle.root.name, [["threads", threads]], 1), worker


@pytest.mark.slow
def test_standalone_cluster_equals_pandas(cluster, tiny_bundle):
    url, log_dir = cluster
    table, loads = run_driver(log_dir, ["--master", url], tiny_bundle.root, TEXTS)
    check_cluster_run(table, loads, TEXTS, tiny_bundle, threads=1)
    assert len([w for w in loads if w["loads"]]) <= 2  # the worker has 2 cores
    check_extras(log_dir, tiny_bundle, overwrite="ok")


@pytest.mark.slow
def test_spark_connect_on_the_cluster_equals_pandas(cluster, tiny_bundle):
    pytest.importorskip("grpc", reason="Spark Connect needs pyspark[connect] (grpcio)")
    url, log_dir = cluster
    with connect_server(log_dir, url, {"spark.task.cpus": "2", "spark.cores.max": "2"}) as remote:
        table, loads = run_driver(log_dir, ["--remote", remote], tiny_bundle.root, TEXTS)
    check_cluster_run(table, loads, TEXTS, tiny_bundle, threads=2)  # threads follow spark.task.cpus
    check_extras(log_dir, tiny_bundle, overwrite="UsageError: overwrite() cannot clear")


def check_extras(log_dir, bundle, overwrite: str) -> None:
    """SQL and the Transformer (saved, loaded, alone and in a Pipeline) equal the pandas path;
    a bad option was refused."""
    sql, ml, pipeline, checks = driver_extras(log_dir)
    want = expected(TEXTS, str(bundle.root))
    assert_same_rows(sql.column("emotions"), want)
    assert_same_rows(ml.column("emotions"), want)
    assert pipeline.column_names == ["id", "body", "emotions"]
    assert_same_rows(pipeline.column("emotions"), want)
    assert checks["bad_option"] == "UsageError"
    assert checks["overwrite"].startswith(overwrite), checks


# -- the real default bundle -------------------------------------------------------------------
def test_default_bundle_parity_core_pandas_spark(spark):
    dev = SHARED_DATA / "dev.tsv"
    texts = [line.split("\t")[0] for line in dev.read_text().splitlines()[:200]] if dev.is_file() else TEXTS
    texts = texts + [None]
    core = cached_model(None)
    proba = core.predict_proba(texts)
    from_core = to_arrow(proba, core.labels_from_proba(proba), core.labels, english=english_flags(texts))
    assert_same_rows(expected(texts), from_core, atol=0)
    assert_same_rows(scored_in_order(texts_frame(spark, texts)), from_core, atol=1e-5)
