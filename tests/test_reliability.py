"""Reliability: the bad-input cases of tests/bad_inputs.py through the core, the pandas
accessor, the Spark UDF and the CLI, with the same result everywhere; property tests on
arbitrary unicode; faults (a killed Spark worker, a full disk, 1M streamed rows); model
integrity extras; threads. docs/reliability.md documents every case."""
from __future__ import annotations

import json
import os
import random
import re
import resource
import shutil
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import emospark
from emospark import BundleError, EmotionModel
from emospark.core.language import english_flags
from emospark.core.model_cache import cached_model
from emospark.core.schema import result_type, to_arrow
from emospark.labels import GO_EMOTIONS

from .bad_inputs import ARROW_CASES, CASES, ERROR_CASES, TEXT_CASES, Case
from .conftest import assert_same_rows
from .fixtures import WORDS
from .test_cli import emospark_cmd, peak_rss_of, run

DOCS = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"
needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime")


@pytest.fixture(scope="module")
def model(tiny_bundle) -> EmotionModel:
    return cached_model(str(tiny_bundle.root))


def core_result(model: EmotionModel, values) -> pa.StructArray:
    """What the core gives, as the shared Arrow result column."""
    proba = model.predict_proba(values)
    return to_arrow(proba, model.labels_from_proba(proba), model.labels, english=english_flags(list(values)))


def check_expectation(case: Case, proba: np.ndarray) -> None:
    """One row per value, in order; null rows exactly where missing; scores in [0, 1] elsewhere."""
    assert proba.shape == (len(case.values), 28)
    null_rows = np.isnan(proba).all(axis=1)
    np.testing.assert_array_equal(null_rows, case.missing)
    assert not np.isnan(proba[~null_rows]).any()
    assert ((proba[~null_rows] >= 0) & (proba[~null_rows] <= 1)).all()
    kind = "null" if case.values and case.missing.all() else "mixed" if case.missing.any() else "scored"
    assert kind == case.expect


def first_bad(case: Case) -> tuple[int, str]:
    i = next(i for i, v in enumerate(case.values) if not isinstance(v, str))
    return i, type(case.values[i]).__name__


# -- the cases, entry point by entry point ------------------------------------------------------
def test_the_case_list_is_complete_and_documented():
    assert len(CASES) >= 30
    documented = {m.group(1) for m in re.finditer(r"^\| ([^|]+?) \|", DOCS.read_text(), re.MULTILINE)}
    assert {c.name for c in CASES} <= documented


@pytest.mark.parametrize("case", TEXT_CASES, ids=lambda c: c.name)
def test_core(model, case):
    proba = model.predict_proba(list(case.values))
    check_expectation(case, proba)
    if case.arrow:  # the Arrow column a file or Spark holds gives the same rows
        np.testing.assert_array_equal(model.predict_proba(pa.array(case.as_nullable(), pa.string())), proba)
    if case.name == "lone surrogates":
        np.testing.assert_array_equal(proba, model.predict_proba(["\ufffd", "a\ufffdb", "\ufffd\ufffd ok"]))


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: c.name)
def test_core_refuses_non_text(model, case):
    i, kind = first_bad(case)
    with pytest.raises(TypeError, match=rf"texts\[{i}\] is {kind} "):
        model.predict_proba(list(case.values))


PANDAS_DTYPES = (object, "string", "string[pyarrow]", pd.ArrowDtype(pa.string()), "category")


def duplicate_index(n: int) -> pd.Index:
    """Labels out of order, each used twice: rows must follow positions, not labels."""
    return pd.Index([(n - i) // 2 for i in range(n)])


@pytest.mark.parametrize(
    "case, dtype",
    [(c, d) for c in TEXT_CASES for d in (PANDAS_DTYPES if c.arrow else (object,))],  # else only object holds them
    ids=lambda v: v.name if isinstance(v, Case) else str(v),
)
def test_pandas(model, case, dtype):
    texts = pd.Series(list(case.values), dtype=dtype, index=duplicate_index(len(case.values)), name="text")
    frame = texts.to_frame().assign(n=range(len(texts)))
    want = core_result(model, list(case.values))
    by_frame = frame.emotions.score(model=model)
    by_series = texts.emotions.score(model=model)
    for got in (by_frame["emotions"], by_series):
        assert got.index.equals(texts.index)
        assert pa.array(got.array).equals(want)
    assert by_frame["n"].tolist() == list(range(len(texts)))
    wide = texts.emotions.score(model=model, expand=True)
    check_expectation(case, wide[[f"emotions_{lab}" for lab in GO_EMOTIONS]].to_numpy())


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: c.name)
def test_pandas_names_the_row_and_index_label(model, case):
    i, kind = first_bad(case)
    frame = pd.Series(list(case.values), dtype=object, index=[f"r{j}" for j in range(len(case.values))]).to_frame("text")
    with pytest.raises(TypeError, match=rf"column 'text', index label 'r{i}': texts\[{i}\] is {kind} "):
        frame.emotions.score(model=model)


@pytest.mark.parametrize("dtype", ["float64", "Int64", "datetime64[ns]", "boolean"])
def test_pandas_column_of_nulls_of_any_dtype(model, dtype):
    out = pd.Series([None] * 3, dtype=dtype, index=[2, 2, 1]).emotions.score(model=model, expand=True)
    assert out.index.tolist() == [2, 2, 1] and out[[f"emotions_{lab}" for lab in GO_EMOTIONS]].isna().all().all()
    with pytest.raises(TypeError, match="not text"):  # one value is enough to refuse the dtype
        pd.Series([None, 1], dtype=dtype if dtype != "datetime64[ns]" else "Int64").emotions.score(model=model)


# -- Spark: every case in one job ---------------------------------------------------------------
@pytest.mark.spark
@needs_java
def test_spark(spark, model, tiny_bundle):
    import emospark.spark

    rows = [(c, r, text) for c, case in enumerate(ARROW_CASES) for r, text in enumerate(case.as_nullable())]
    rows.reverse()  # arrive in the wrong order
    df = spark.createDataFrame(rows, "case int, row int, text string").repartition(3)
    table = emospark.spark.score(df, "text", model=str(tiny_bundle.root)).orderBy("case", "row").toArrow()
    assert table.num_rows == len(rows)
    for c, case in enumerate(ARROW_CASES):
        mine = table.filter(pc.equal(table.column("case"), c))
        assert mine.column("row").to_pylist() == list(range(len(case.values))), case.name
        assert_same_rows(mine.column("emotions"), core_result(model, list(case.values)))


@pytest.mark.spark
@needs_java
def test_spark_columns_of_other_types_are_refused_on_the_driver(spark):
    import emospark.spark

    for case in ERROR_CASES:
        df = spark.createDataFrame([], f"text {case.column_type}")
        with pytest.raises(emospark.errors.InputError, match=r"column 'text' has type .*, not string"):
            emospark.spark.score(df, "text")


@pytest.mark.spark
@needs_java
def test_spark_column_of_nulls_without_a_type(spark, tiny_bundle):
    from pyspark.sql import functions as F

    import emospark.spark

    df = spark.range(3).withColumn("text", F.lit(None))  # Spark's NullType ("void")
    rows = emospark.spark.score(df, "text", model=str(tiny_bundle.root)).orderBy("id").collect()
    assert [r.emotions.labels for r in rows] == [[]] * 3
    assert all(v is None for r in rows for v in r.emotions.scores)


# -- the CLI: every case in one file per format --------------------------------------------------
def cases_table(cases=ARROW_CASES) -> pa.Table:
    rows = [(c, r, text) for c, case in enumerate(cases) for r, text in enumerate(case.as_nullable())]
    return pa.table({"case": [c for c, _, _ in rows], "row": [r for _, r, _ in rows], "text": [t for _, _, t in rows]},
                    schema=pa.schema([("case", pa.int64()), ("row", pa.int64()), ("text", pa.string())]))


def write_cases(table: pa.Table, path: Path) -> None:
    if path.suffix == ".parquet":
        pq.write_table(table, path, row_group_size=16)
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in table.to_pylist()), encoding="utf-8")
    else:
        pa_csv.write_csv(table, path)


def read_scored(path: Path) -> tuple[list[int], list[int], pa.StructArray]:
    """(case, row, result column) of a CLI output; CSV's flat columns rebuilt into the struct."""
    if path.suffix == ".csv":
        table = pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(
            column_types={"text": pa.string(), "emotions_labels": pa.string(), "emotions_english": pa.string(),
                          **{f"emotions_{lab}": pa.float32() for lab in GO_EMOTIONS}},
            strings_can_be_null=False))
        proba = np.column_stack([table.column(f"emotions_{lab}").to_numpy(zero_copy_only=False) for lab in GO_EMOTIONS])
        labels = [s.split(",") if s else [] for s in table.column("emotions_labels").to_pylist()]
        english = pa.array([{"true": True, "false": False}.get(s) for s in table.column("emotions_english").to_pylist()],
                           pa.bool_())
        result = to_arrow(proba.astype(np.float32), labels, english=english)
    elif path.suffix == ".jsonl":
        table = pa.Table.from_pylist([json.loads(line) for line in path.read_text(encoding="utf-8").split("\n")[:-1]])
        result = pa.array(table.column("emotions").to_pylist(), result_type())
    else:
        table = pq.read_table(path)
        result = table.column("emotions").combine_chunks().cast(result_type())
    return ([int(x) for x in table.column("case").to_pylist()], [int(x) for x in table.column("row").to_pylist()],
            result)


@pytest.fixture(scope="module")
def tiny(tiny_bundle) -> list[str]:
    return ["--model", str(tiny_bundle.root), "--threads", "1", "--quiet"]


@pytest.mark.parametrize("ext", [".parquet", ".jsonl", ".csv"])
def test_cli(tmp_path, model, tiny, ext):
    table = cases_table()
    write_cases(table, tmp_path / f"in{ext}")
    done = run("score", tmp_path / f"in{ext}", tmp_path / f"out{ext}", *tiny)
    assert done.returncode == 0, done.stderr
    cases, rows, result = read_scored(tmp_path / f"out{ext}")
    assert cases == table.column("case").to_pylist() and rows == table.column("row").to_pylist()
    for c, case in enumerate(ARROW_CASES):
        values = case.as_nullable()
        if ext == ".csv":  # CSV has no null text: an empty cell is an empty text
            values = ["" if v is None else v for v in values]
        mine = np.flatnonzero(np.array(cases) == c)
        assert_same_rows(result.take(pa.array(mine, pa.int64())), core_result(model, values))


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: c.name)
def test_cli_refuses_non_text_columns(tmp_path, tiny, case):
    values = [None if isinstance(v, str) else v for v in case.values]  # the column of the bad values' type
    pq.write_table(pa.table({"text": values}), tmp_path / "in.parquet")
    done = run("score", tmp_path / "in.parquet", tmp_path / "out.parquet", *tiny)
    assert done.returncode == 3, done.stderr
    assert re.search(r"in\.parquet: column 'text' holds .*, not text", done.stderr), done.stderr
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("bad.csv", b"id,text\n1,ok\n2,bad \xff\xfe bytes\n", r"bad\.csv: cannot be read as csv: .*invalid UTF8"),
        ("bad.jsonl", b'{"text": "ok"}\n{"text": "bad \xff bytes"}\n',
         r"bad\.jsonl: cannot read jsonl after row 0: column 'text' is not valid UTF-8 in row 1"),
        ("lone.jsonl", b'{"text": "ok"}\n{"text": "lone \\ud800 surrogate"}\n',
         r"lone\.jsonl: cannot be read as jsonl: .*surrogate.* in row 1"),
        ("late.csv", b"text\n" + b"fine words\n" * 200_000 + b"bad \xc3\x28\n",
         r"late\.csv: cannot read csv after row \d+: .*invalid UTF8"),
    ],
    ids=["csv", "jsonl", "jsonl surrogate escape", "csv after 1 MiB"],
)
def test_cli_invalid_utf8_in_files_exit_3_naming_file_and_row(tmp_path, tiny, name, content, message):
    (tmp_path / name).write_bytes(content)
    out = tmp_path / "out" / "scored.parquet"
    out.parent.mkdir()
    done = run("score", tmp_path / name, out, *tiny)
    assert done.returncode == 3, done.stderr
    assert re.search(message, done.stderr), done.stderr
    assert os.listdir(out.parent) == []


@pytest.mark.parametrize(
    "table",
    [pa.table({"text": pa.array([], pa.string())}), pa.table({"text": pa.nulls(3)}), pa.table({"id": [1, 2]}).append_column(
        "text", pa.array([None, None], pa.large_string()))],
    ids=["empty", "null-type column", "large_string nulls"],
)
def test_cli_empty_files_and_columns_of_nulls(tmp_path, tiny, table):
    pq.write_table(table, tmp_path / "in.parquet")
    done = run("score", tmp_path / "in.parquet", tmp_path / "out.parquet", *tiny)
    assert done.returncode == 0, done.stderr
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.num_rows == table.num_rows
    assert all(r["emotions"]["labels"] == [] and set(r["emotions"]["scores"].values()) == {None} for r in out.to_pylist())


def test_cli_header_only_csv_gives_header_only_output(tmp_path, tiny):
    (tmp_path / "in.csv").write_text("id,text\n")
    done = run("score", tmp_path / "in.csv", tmp_path / "out.csv", *tiny)
    assert done.returncode == 0, done.stderr
    header, *rows = (tmp_path / "out.csv").read_text().splitlines()
    assert rows == [] and header.startswith('"id","text","emotions_admiration"')


# -- property tests -------------------------------------------------------------------------------
ANY_CHAR = st.characters(exclude_categories=())  # every code point, lone surrogates included


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(ANY_CHAR, max_size=40), st.text(max_size=300)), max_size=8))
def test_any_unicode_gives_one_row_each_independent_of_the_batch(tiny_bundle, texts):
    model = cached_model(str(tiny_bundle.root))
    proba = model.predict_proba(texts, batch_size=3)
    assert proba.shape == (len(texts), 28)
    missing = np.array([t is None for t in texts], dtype=bool)
    np.testing.assert_array_equal(np.isnan(proba).any(axis=1), missing)
    assert ((proba[~missing] >= 0) & (proba[~missing] <= 1)).all()
    for i, text in enumerate(texts):
        np.testing.assert_allclose(model.predict_proba([text]), proba[i : i + 1], atol=1e-5)


# -- faults -----------------------------------------------------------------------------------------
@pytest.mark.spark
@needs_java
def test_spark_python_worker_killed_mid_job_is_retried_and_loses_no_row(tmp_path, tiny_bundle, model):
    from .spark_cluster import run_driver

    texts = [t for case in ARROW_CASES for t in case.as_nullable() if t is None or len(t) < 1000] * 2
    marker = tmp_path / "killed"
    table, _ = run_driver(tmp_path, ["--master", "local[2,4]", "--kill-once", str(marker)], tiny_bundle.root, texts)
    assert marker.exists(), "no Python worker was killed"
    assert table.column("id").to_pylist() == list(range(len(texts)))  # every row exactly once
    assert_same_rows(table.column("emotions"), core_result(model, texts))


def limit_file_size(limit: int):
    """For subprocess preexec_fn: files cannot grow beyond ``limit`` bytes (EFBIG, as on a full
    disk; SIGXFSZ ignored so the write fails instead of killing the process)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.parametrize("ext", [".parquet", ".jsonl", ".csv"])
def test_cli_full_disk_exit_4_and_no_output(tmp_path, tiny, ext):
    rng = random.Random(1)
    texts = [" ".join(rng.choices(WORDS, k=12)) for _ in range(20_000)]
    pq.write_table(pa.table({"text": texts}), tmp_path / "in.parquet")
    out = tmp_path / "out" / f"scored{ext}"
    out.parent.mkdir()
    done = run("score", tmp_path / "in.parquet", out, *tiny, preexec_fn=limit_file_size(256 * 1024))
    assert done.returncode == 4, done.stderr
    assert f"cannot write {out}" in done.stderr and "File too large" in done.stderr, done.stderr
    assert os.listdir(out.parent) == []


@pytest.mark.slow
def test_1m_streamed_rows_keep_memory_bounded(tmp_path, tiny):
    words = np.array(WORDS)
    sizes = {}
    for rows in (100_000, 1_000_000):
        path = tmp_path / f"{rows}.parquet"
        with pq.ParquetWriter(path, pa.schema([("id", pa.int64()), ("text", pa.string())])) as writer:
            for start in range(0, rows, 100_000):
                picks = words[np.random.default_rng(start).integers(0, len(words), size=(100_000, 4))]
                chunk = pa.table({"id": np.arange(start, start + 100_000), "text": [" ".join(p) for p in picks]})
                writer.write_table(chunk, row_group_size=50_000)
                sizes[rows] = sizes.get(rows, 0) + chunk.nbytes
    peaks = {}
    for rows in sizes:
        code, peaks[rows] = peak_rss_of(emospark_cmd("score", tmp_path / f"{rows}.parquet", tmp_path / f"o{rows}.parquet",
                                                     *tiny))
        assert code == 0
    out = pq.ParquetFile(tmp_path / "o1000000.parquet")
    assert out.metadata.num_rows == 1_000_000
    ids = out.read(columns=["id"]).column("id").to_numpy()
    assert (ids == np.arange(1_000_000)).all()
    print(f"peak RSS {peaks[100_000] / 2**20:.0f} MB (100k rows), {peaks[1_000_000] / 2**20:.0f} MB (1M rows, "
          f"{sizes[1_000_000] / 2**20:.0f} MB as Arrow)")
    # 10x the rows must not cost a comparable share of the table (reading it whole would)
    assert peaks[1_000_000] - peaks[100_000] < 0.5 * sizes[1_000_000]


# -- model integrity extras ---------------------------------------------------------------------------
def bytes_read() -> int:
    """Bytes this process has read through read() calls so far (Linux /proc/self/io)."""
    return int(re.search(r"^rchar: (\d+)", Path("/proc/self/io").read_text(), re.MULTILINE).group(1))


def test_sha256_is_checked_once_per_process(bundle_copy):
    size = sum((bundle_copy.root / rel).stat().st_size for rel in bundle_copy.sha256)
    before = bytes_read()
    bundle_copy.verify()
    first = bytes_read() - before
    EmotionModel(bundle_copy)  # a scorer on the same files verifies them again
    before = bytes_read()
    bundle_copy.verify()
    emospark.Bundle.from_dir(bundle_copy.root).verify()
    again = bytes_read() - before
    assert first >= size  # every byte hashed once...
    assert again < size / 10  # ...and never again in this process (the manifest is re-read, not the files)


def file_for_bundle(root: Path) -> Path:
    path = root.parent / "bundle-file"
    path.write_text("not a directory")
    return path


def file_for_encoder_dir(root: Path) -> Path:
    shutil.rmtree(root / "encoder")
    (root / "encoder").write_text("not a directory")
    return root


def dir_for_classifier(root: Path) -> Path:
    (root / "classifier" / "model.onnx").unlink()
    (root / "classifier" / "model.onnx").mkdir()
    return root


def dir_for_manifest(root: Path) -> Path:
    (root / "emospark.json").unlink()
    (root / "emospark.json").mkdir()
    return root


@pytest.mark.parametrize(
    "damage, message",
    [
        (file_for_bundle, r"model path .*bundle-file is a file, not a bundle directory"),
        (file_for_encoder_dir, r"encoder file .*encoder/model.onnx is missing"),
        (dir_for_classifier, r"classifier file .*classifier/model.onnx is missing"),
        (dir_for_manifest, r"emospark.json cannot be read as JSON: .*Is a directory"),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_unreadable_bundle_layouts_name_the_path(bundle_copy, damage, message):
    with pytest.raises(BundleError, match=message):
        emospark.load(damage(bundle_copy.root))


# -- threads ---------------------------------------------------------------------------------------------
def test_one_model_scores_from_many_threads_like_serially(model):
    texts = [v for case in TEXT_CASES for v in case.values]
    jobs = [(texts[i::5], b) for i, b in enumerate((1, 3, 7, 32, 64))] * 3
    serial = [model.predict_proba(t, batch_size=b) for t, b in jobs]
    with ThreadPoolExecutor(6) as pool:
        parallel = list(pool.map(lambda job: model.predict_proba(job[0], batch_size=job[1]), jobs))
    for got, want in zip(parallel, serial, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)
