"""One result schema on every path: core Arrow, pandas, Polars, DuckDB, the CLI and Spark
return the same struct type and the same rows for the same texts (null, empty, long
included), for schema v2 (default) and v1."""
from __future__ import annotations

import shutil
import subprocess
import sys

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import emospark.duckdb
import emospark.polars  # noqa: F401
from emospark.core.model_cache import cached_model
from emospark.core.schema import result_type
from emospark.core.scoring import score_arrow

from .conftest import assert_same_results

TEXTS = ["I love this so much, thank you!", None, "", "   ", "why " * 80, "wow great", "sorry", "lol", None]


def by_path(bundle: str, texts: list, tmp_path, schema_version: int) -> dict[str, pa.Array]:
    model = cached_model(bundle)
    opts = {"model": bundle, "schema_version": schema_version}
    frame = pd.DataFrame({"text": pd.Series(texts, dtype=object)})
    con = emospark.duckdb.register(duckdb.connect(), model=bundle, schema_version=schema_version)
    pq.write_table(pa.table({"id": range(len(texts)), "text": pa.array(texts, pa.string())}), tmp_path / "in.parquet")
    done = subprocess.run(
        [sys.executable, "-m", "emospark", "score", tmp_path / "in.parquet", tmp_path / "out.parquet", "--model", bundle,
         "--schema-version", str(schema_version), "--quiet"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    ddb = con.sql(f"SELECT emotions(text) AS e FROM '{tmp_path / 'in.parquet'}' ORDER BY id").arrow()
    return {
        "core": score_arrow(model, pa.array(texts, pa.string()), schema_version=schema_version),
        "pandas": pa.array(frame.emotions.score(**opts)["emotions"].array),
        "polars": pl.DataFrame({"text": pl.Series(texts, dtype=pl.String)}).emotions.score(**opts)["emotions"].to_arrow(),
        "duckdb": (ddb.read_all() if hasattr(ddb, "read_all") else ddb).column("e").combine_chunks(),
        "cli": pq.read_table(tmp_path / "out.parquet").column("emotions").combine_chunks(),
    }


@pytest.mark.parametrize("schema_version", [2, 1])
def test_five_local_paths_return_the_same_struct(tiny_bundle, tmp_path, schema_version):
    results = by_path(str(tiny_bundle.root), TEXTS, tmp_path, schema_version)
    want = results.pop("core")
    assert want.type == result_type(schema_version=schema_version)
    for name, got in results.items():
        got = got.cast(want.type)  # Polars' large strings and Parquet's list item names are the same schema
        assert got.type == want.type, name
        assert_same_results(got, want)  # DuckDB scores in 2,048-row chunks: float sums may differ in the last bit
    if schema_version == 2:
        null = want.to_pylist()[1]
        assert null["top"] is None and null["top_score"] is None and null["english"] is None and null["labels"] == []


@pytest.mark.spark
def test_spark_returns_the_same_struct(tiny_bundle, spark):
    import emospark.spark

    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java 17+ runtime ('java' is not on PATH)")
    bundle = str(tiny_bundle.root)
    df = spark.createDataFrame(list(enumerate(TEXTS)), "id long, text string")
    got = emospark.spark.score(df, "text", model=bundle).orderBy("id").toArrow().column("emotions").combine_chunks()
    want = score_arrow(cached_model(bundle), pa.array(TEXTS, pa.string()))
    assert_same_results(got.cast(want.type), want)
