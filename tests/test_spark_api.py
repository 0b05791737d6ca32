"""Options checked on the driver, the output column guard, the SQL function, the
pyspark.ml Transformer, the message of a worker without emospark, and the CLI Spark
engine (fidelity with the pandas engine on hostile files, exit codes, progress), all in
the test session's one local[2] Spark session."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("pyspark")
if shutil.which("java") is None:
    pytest.skip("Spark needs a Java 17+ runtime ('java' is not on PATH)", allow_module_level=True)

import emospark.spark  # noqa: E402
from emospark.cli.main import main  # noqa: E402
from emospark.errors import ModelNotFoundError, UsageError  # noqa: E402
from emospark.io import AtomicFile, open_source, open_writer  # noqa: E402
from emospark.labels import GO_EMOTIONS  # noqa: E402

from .conftest import assert_same_rows  # noqa: E402
from .test_spark import TEXTS, expected, texts_frame  # noqa: E402

pytestmark = pytest.mark.spark


# -- options checked on the driver ---------------------------------------------------------------
BAD_OPTIONS = [
    ({"threshold": 1.5}, UsageError, "got 1.5"),
    ({"threshold": {"joyy": 0.2}}, UsageError, "unknown labels in threshold: \\['joyy'\\]"),
    ({"threshold": [0.5] * 3}, UsageError, "the model has 28 labels"),
    ({"top_k": 0}, UsageError, "top_k must be a positive integer, got 0"),
    ({"rollups": ["ekmann"]}, UsageError, "unknown roll-up 'ekmann'"),
    ({"model": "no-such-model"}, ModelNotFoundError, "unknown model 'no-such-model'"),
    ({"long_texts": "cut"}, UsageError, "long_texts must be one of \\['chunk', 'truncate'\\], got 'cut'"),
    ({"schema_version": 3}, UsageError, "schema_version must be one of \\[1, 2\\], got 3"),
    ({"treshold": 0.5}, UsageError, "unknown options \\['treshold'\\]"),
]


def jobs_in(spark, group: str) -> list[int]:
    return list(spark.sparkContext.statusTracker().getJobIdsForGroup(group))


def test_bad_options_fail_on_the_driver_before_any_job(spark):
    df = spark.createDataFrame([(0, "hello")], "id long, text string")
    sc = spark.sparkContext
    sc.setJobGroup("bad-options", "no job may run")
    try:
        for options, kind, message in BAD_OPTIONS:
            with pytest.raises(kind, match=message):
                emospark.spark.score(df, "text", **options).collect()
            with pytest.raises(kind, match=message):
                emospark.spark.emotions_udf(**options)
            with pytest.raises(kind, match=message):
                emospark.spark.register(spark, "emotions_bad", **options)
        assert jobs_in(spark, "bad-options") == []
        emospark.spark.score(df, "text", threshold=0.5).count()  # the probe can see a job
        assert jobs_in(spark, "bad-options")
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.floats(allow_nan=True), st.integers(-3, 3), st.booleans(), st.text(max_size=3)))
def test_a_threshold_is_accepted_exactly_when_it_is_a_number_in_0_1(value):
    valid = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1
    if valid:
        assert emospark.spark.check_options(threshold=value).threshold == float(value)
    else:
        with pytest.raises(UsageError, match="^threshold: "):
            emospark.spark.check_options(threshold=value)


def test_an_existing_output_column_needs_overwrite(spark, tiny_bundle):
    df = spark.createDataFrame([("wow", "old")], "text string, Emotions string")
    with pytest.raises(UsageError, match="already has a column 'Emotions'.*overwrite=True"):
        emospark.spark.score(df, "text", model=str(tiny_bundle.root))
    out = emospark.spark.score(df, "text", model=str(tiny_bundle.root), overwrite=True)
    assert [f.name for f in out.schema.fields] == ["text", "emotions"]  # Spark names case-insensitively
    assert out.schema["emotions"].dataType.simpleString().startswith("struct<scores:")


def test_schema_version_1_and_2_types_come_from_score_type(spark, tiny_bundle):
    from pyspark.sql.pandas.types import from_arrow_type

    from emospark.core.scoring import score_type

    df = texts_frame(spark, TEXTS[:12], partitions=2)
    for version in (1, 2):
        out = emospark.spark.score(df, "text", model=str(tiny_bundle.root), schema_version=version,
                                   rollups=["ekman"])
        assert out.schema["emotions"].dataType == from_arrow_type(score_type(GO_EMOTIONS, ["ekman"], version))
    assert [f.name for f in out.schema["emotions"].dataType.fields][:5] == ["scores", "labels", "top", "top_score", "english"]
    got = out.orderBy("id").toArrow().column("emotions")
    want = expected(TEXTS[:12], str(tiny_bundle.root), rollups=["ekman"])
    assert [r["top"] for r in got.to_pylist()] == [r["top"] for r in want.to_pylist()]


# -- SQL -------------------------------------------------------------------------------------------
def test_sql_function_equals_the_pandas_path(spark, tiny_bundle):
    model = str(tiny_bundle.root)
    texts_frame(spark, TEXTS, partitions=2).createOrReplaceTempView("comments")
    emospark.spark.register(spark, "emotions", model=model, top_k=2)
    got = spark.sql("SELECT id, emotions(text) AS emotions FROM comments ORDER BY id").toArrow().column("emotions")
    assert_same_rows(got, expected(TEXTS, model, top_k=2))
    labels = spark.sql("SELECT emotions(text).labels AS labels FROM comments ORDER BY id").toArrow()
    assert labels.column("labels").to_pylist() == [r["labels"] for r in got.to_pylist()]
    with pytest.raises(UsageError, match="plain identifier"):
        emospark.spark.register(spark, "emotions; DROP TABLE x")


# -- pyspark.ml ------------------------------------------------------------------------------------
def pipeline_of(tiny_bundle):
    from pyspark.ml import Pipeline
    from pyspark.ml.feature import SQLTransformer

    clean = SQLTransformer(statement="SELECT id, body AS text FROM __THIS__")
    stage = emospark.spark.EmotionClassifier(inputCol="text", outputCol="emotions", model=str(tiny_bundle.root),
                                             threshold={"joy": 0.05}, topK=3, rollups=["sentiment"])
    return Pipeline(stages=[clean, stage])


def test_transformer_saves_resolved_values_and_loads_in_a_pipeline(spark, tiny_bundle, tmp_path):
    from pyspark.ml import PipelineModel

    model = str(tiny_bundle.root)
    df = texts_frame(spark, TEXTS, partitions=2).withColumnRenamed("text", "body")
    fitted = pipeline_of(tiny_bundle).fit(df)
    before = fitted.transform(df).orderBy("id").toArrow().column("emotions")
    path = str(tmp_path / "pipeline")
    fitted.write().overwrite().save(path)
    fitted.write().overwrite().save(path)  # overwrite works on classic Spark
    [meta_file] = [p for p in (tmp_path / "pipeline" / "stages").glob("1_*/metadata/part-*") if p.stat().st_size]
    params = json.loads(meta_file.read_text())["paramMap"]
    thresholds = tiny_bundle.read_thresholds()
    assert params["threshold"] == {**thresholds, "joy": 0.05}  # numbers, one per label
    assert params["modelDigest"].startswith("sha256:") and params["model"] == model
    loaded = PipelineModel.load(path)
    after = loaded.transform(df).orderBy("id").toArrow().column("emotions")
    assert after.to_pylist() == before.to_pylist()
    want_labels = [r["labels"] for r in expected(TEXTS, model, threshold={**thresholds, "joy": 0.05}, top_k=3)
                   .to_pylist()]
    assert [r["labels"] for r in after.to_pylist()] == want_labels


def test_a_saved_stage_finds_its_bundle_by_digest_elsewhere(tiny_bundle, tmp_path, monkeypatch):
    stage = emospark.spark.EmotionClassifier(model=str(tiny_bundle.root))
    moved = tmp_path / "models" / "tiny-copy"
    shutil.copytree(tiny_bundle.root, moved)
    stage._set(model=str(tmp_path / "gone" / "tiny"))  # what a stage saved on another cluster holds
    monkeypatch.setenv("EMOSPARK_MODELS", str(tmp_path / "models"))
    assert stage.options()["model"] == str(moved)
    (moved / "emospark.json").write_text((moved / "emospark.json").read_text().replace('"tiny"', '"other"'))
    with pytest.raises(ModelNotFoundError, match="is not on this machine"):
        stage.options()


def test_transformer_rejects_bad_params_when_set(tiny_bundle):
    with pytest.raises(UsageError, match="got 2.0"):
        emospark.spark.EmotionClassifier(model=str(tiny_bundle.root), threshold=2.0)
    with pytest.raises(ModelNotFoundError):
        emospark.spark.EmotionClassifier(model="no-such-model")


# -- a worker whose Python cannot import emospark ---------------------------------------------------
def test_a_worker_without_emospark_fails_with_one_clear_message(spark, tiny_bundle, tmp_path):
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['emospark'] = None\n")
    sc = spark.sparkContext
    saved = dict(sc.environment)
    sc.environment["PYTHONPATH"] = str(hide)  # a new worker pool whose Python hides emospark
    try:
        udf = emospark.spark.emotions_udf(str(tiny_bundle.root))
        with pytest.raises(Exception) as failure:
            spark.createDataFrame([("a",)], "text string").select(udf("text")).collect()
    finally:
        sc.environment.clear()
        sc.environment.update(saved)
    message = str(failure.value)
    assert "emospark cannot be imported by the Spark worker's Python" in message
    assert "PYSPARK_PYTHON=/path/to/python" in message
    from emospark.cli.spark_engine import translated

    assert type(translated(failure.value)).__name__ == "MissingExtraError"


# -- the CLI Spark engine -----------------------------------------------------------------------------
HOSTILE = ["line one\nline two", 'she said "hi", then left', "a,b;c\td", "crlf\r\ninside", "", None,
           "emoji 😀🎉 text", "  spaces kept  ", "back\\slash", "ünïcödé", "I love this", "'single' quotes"]


def hostile_table() -> pa.Table:
    n = len(HOSTILE)
    return pa.table({"id": pa.array(range(n), pa.int64()), "text": HOSTILE,
                     "note": [None if i % 4 == 0 else f'n"{i},\n' for i in range(n)]})


def write_with_emospark(table: pa.Table, path: Path, fmt: str) -> None:
    with AtomicFile(path) as out:
        writer = open_writer(out.file, fmt, table.schema)
        writer.write(table.combine_chunks().to_batches()[0])
        writer.close()
        out.commit()


def read_back(path: Path, fmt: str) -> pa.Table:
    """emospark's read of a file, or of a Spark output directory's part files in order."""
    parts = sorted(p for p in path.iterdir() if p.name.startswith("part-")) if path.is_dir() else [path]
    tables = [pa.Table.from_batches(list(open_source(p, fmt).batches()), open_source(p, fmt).schema)
              for p in parts if p.stat().st_size]
    return pa.concat_tables(tables, promote_options="permissive")


def same_values(a, b, flat: bool) -> bool:
    if flat:  # CSV: text, no null (null and "" are both an empty field), floats in any notation
        a, b = ("" if a is None else a), ("" if b is None else b)
        try:
            return abs(float(a) - float(b)) <= 1e-6
        except ValueError:
            return a == b
    if isinstance(a, float) or isinstance(b, float):
        return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= 1e-6)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_values(a[k], b[k], flat) for k in a)
    return a == b


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet"])
def test_spark_engine_keeps_rows_columns_and_values(spark, tiny_bundle, tmp_path, fmt, capsys):
    write_with_emospark(hostile_table(), tmp_path / f"in.{fmt}", fmt)
    common = ["score", str(tmp_path / f"in.{fmt}"), "--model", str(tiny_bundle.root), "--threads", "1",
              "--rollup", "sentiment"]
    assert main([*common[:2], str(tmp_path / f"pandas.{fmt}"), *common[2:], "-q"]) == 0
    assert main([*common[:2], str(tmp_path / f"spark.{fmt}"), *common[2:], "--engine", "spark",
                 "--partitions", "3"]) == 0
    progress = [line for line in capsys.readouterr().err.splitlines() if "partition" in line]
    assert progress[-1] == "emospark: partition 3/3 done", progress
    want, got = read_back(tmp_path / f"pandas.{fmt}", fmt), read_back(tmp_path / f"spark.{fmt}", fmt)
    assert got.column_names == want.column_names
    assert got.num_rows == want.num_rows == len(HOSTILE)
    flat = fmt in ("csv", "tsv")
    for name in want.column_names:
        for i, (g, w) in enumerate(zip(got.column(name).to_pylist(), want.column(name).to_pylist(), strict=True)):
            assert same_values(g, w, flat), (name, i, g, w)
    text = got.column("text").to_pylist()
    assert text[:5] == HOSTILE[:5] and text[6:] == HOSTILE[6:]  # newlines, quotes, CRLF, emoji kept as written
    if not flat:
        assert got.schema.field("emotions").type == want.schema.field("emotions").type


def both_engines(args: list[str]) -> tuple[int, int]:
    return main([*args, "-q"]), main([*args, "-q", "--engine", "spark"])


def test_spark_engine_exit_codes_equal_the_pandas_engine(spark, tiny_bundle, tmp_path, capsys):
    write_with_emospark(hostile_table(), tmp_path / "in.parquet", "parquet")
    (tmp_path / "bad.json").write_text('{"joyy": 0.3}')
    inp, out, tiny = str(tmp_path / "in.parquet"), str(tmp_path / "out.parquet"), ["--model", str(tiny_bundle.root)]
    cases = [
        (["score", str(tmp_path / "missing.parquet"), out, *tiny], 3),
        (["score", inp, out, *tiny, "--text-col", "body"], 3),
        (["score", inp, out, *tiny, "--text-col", "id"], 3),
        (["score", inp, out, *tiny, "--threshold", str(tmp_path / "bad.json")], 3),  # threshold files are input (exit 3)
        (["score", inp, out, *tiny, "--out-col", "note"], 2),
        (["score", inp, out, "--model", "no-such-model"], 5),
        (["score", inp, str(tmp_path / "no-dir" / "out.parquet"), *tiny], 4),
    ]
    for args, code in cases:
        assert both_engines(args) == (code, code), args
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 2 * len(cases)  # one line per error, nothing from Spark
    assert not os.path.exists(out)


def test_spark_engine_refuses_stdin_and_fifos(tmp_path, capsys):
    fifo = tmp_path / "in.jsonl"
    os.mkfifo(fifo)
    for source in ("-", str(fifo)):
        assert main(["score", source, str(tmp_path / "out.jsonl"), "--engine", "spark", "--input-format", "jsonl",
                     "-q"]) == 2
        assert "not stdin or pipes" in capsys.readouterr().err


def test_log4j2_properties_silence_spark():
    from emospark.cli.spark_engine import log4j2_properties

    assert log4j2_properties("off").splitlines()[0] == "rootLogger.level = off"
    assert np.all(["SYSTEM_ERR" in log4j2_properties(level) for level in ("off", "error")])
