"""`--engine spark` keeps every row and field that `--engine pandas` keeps: fixed hostile files
in every format, run in-process in the test session's one shared SparkSession (the engine uses
the active session), outputs compared through emospark's own reader."""
from __future__ import annotations

import sys

import pyarrow as pa
import pytest

from emospark.cli.main import main
from emospark.io import open_output, open_source

pytest.importorskip("pyspark")

HOSTILE = [None, "", "a,b", 'say "hi"', "two\nlines", "crlf\r\nend", "tab\there", "\ufeffbom", "😀", " x ", "y" * 3000]


@pytest.fixture(scope="module")
def tiny(tiny_bundle) -> list[str]:
    return ["--model", str(tiny_bundle.root), "--threads", "1", "-q"]


def read(path) -> pa.Table:
    with open_source(path) as source:
        return pa.Table.from_batches(list(source.batches()), source.schema)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet"])
def test_spark_engine_keeps_what_the_pandas_engine_keeps(spark, tiny, tmp_path, fmt):
    n = len(HOSTILE)
    table = pa.table({"id": pa.array(range(n), pa.int64()), "text": HOSTILE, "note": [f"n{i}," for i in range(n)]})
    src = tmp_path / f"in.{fmt}"
    with open_output(src) as out:
        out.write(table.schema, table.to_batches())
        out.commit()
    assert main(["score", str(src), str(tmp_path / f"pandas.{fmt}"), *tiny]) == 0
    assert main(["score", str(src), str(tmp_path / f"spark.{fmt}"), "--engine", "spark", "--partitions", "2", *tiny]) == 0
    want, got = read(tmp_path / f"pandas.{fmt}"), read(tmp_path / f"spark.{fmt}")
    assert got.num_rows == want.num_rows == n
    for name in table.column_names:
        assert got.column(name).to_pylist() == want.column(name).to_pylist(), name
    labels = [c for c in want.column_names if c.endswith("labels")]
    for name in labels:
        assert got.column(name).to_pylist() == want.column(name).to_pylist(), name


def test_spark_engine_refuses_stdin(tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", open(__file__, "rb"))
    code = main(["score", "-", str(tmp_path / "out.parquet"), "--input-format", "jsonl", "--engine", "spark", *tiny])
    assert code == 2
    assert "--engine pandas" in capsys.readouterr().err
