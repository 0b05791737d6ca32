"""Every string-like type scores identically in every entry point (issue 13): Arrow
string, large_string, string_view and dictionaries of them; pandas object, ``string``
(python and pyarrow storage), ``ArrowDtype`` of each Arrow type and ``category``; through
the core (``score_arrow``), the pandas accessors, the CLI on a parquet file, and Spark
reading those parquet files."""
from __future__ import annotations

import contextlib
import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from emospark import EmotionModel
from emospark.cli.main import main
from emospark.core.scoring import score_arrow

TEXTS = ["i love this", None, "", "sorry, so sad", "i love this", "what a great day lol " * 10, "日本語 😀", None]


def arrow_arrays() -> dict[str, pa.Array | pa.ChunkedArray]:
    plain = pa.array(TEXTS, pa.string())
    arrays = {
        "string": plain,
        "large_string": pa.array(TEXTS, pa.large_string()),
        "string_view": pa.array(TEXTS, pa.string_view()),
        "dictionary<string>": plain.dictionary_encode(),
        "dictionary<int8, string>": pa.DictionaryArray.from_arrays(
            pa.array([0, None, 1, 2, 0, 3, 4, None], pa.int8()),
            pa.array(["i love this", "", "sorry, so sad", "what a great day lol " * 10, "日本語 😀"])),
        "dictionary<large_string>": pa.array(TEXTS, pa.large_string()).dictionary_encode(),
        "dictionary<string_view>": pa.array(TEXTS, pa.string_view()).dictionary_encode(),
        "chunked, a dictionary per chunk": pa.chunked_array(
            [plain[:3].dictionary_encode(), plain[3:].dictionary_encode()]),
        "chunked large_string": pa.chunked_array([pa.array(TEXTS[:5], pa.large_string()),
                                                  pa.array(TEXTS[5:], pa.large_string())]),
    }
    return arrays


ARROW = arrow_arrays()
FILE_TYPES = ["string", "large_string", "string_view", "dictionary<string>", "dictionary<large_string>"]


@pytest.fixture(scope="module")
def model(tiny_bundle) -> EmotionModel:
    return EmotionModel(tiny_bundle, threads=1)


@pytest.fixture(scope="module")
def expected(model) -> pa.StructArray:
    return score_arrow(model, pa.array(TEXTS, pa.string()), rollups=["sentiment"])


@pytest.mark.parametrize("name", list(ARROW))
def test_core_scores_every_arrow_string_type_identically(model, expected, name):
    assert score_arrow(model, ARROW[name], rollups=["sentiment"]).equals(expected)


def pandas_columns() -> dict[str, pd.Series]:
    columns = {
        "object": pd.Series(TEXTS, dtype=object),
        "string": pd.Series(TEXTS, dtype="string"),
        "string[pyarrow]": pd.Series(TEXTS, dtype="string[pyarrow]"),
        "category": pd.Series(TEXTS, dtype="category"),
    }
    for name, array in ARROW.items():
        if not isinstance(array, pa.ChunkedArray):
            columns[f"ArrowDtype({name})"] = pd.Series(pd.arrays.ArrowExtensionArray(array))
    return columns


PANDAS = pandas_columns()


@pytest.mark.parametrize("name", list(PANDAS))
def test_pandas_scores_every_text_dtype_identically(model, expected, name):
    series = PANDAS[name].set_axis([f"r{i}" for i in range(len(TEXTS))])
    from_series = series.emotions.score(model=model, rollups=["sentiment"])
    assert pa.array(from_series.array).equals(expected) and from_series.index.equals(series.index)
    frame = series.rename("body").to_frame().emotions.score("body", model=model, rollups=["sentiment"])
    assert pa.array(frame["emotions"].array).equals(expected)
    wide = series.emotions.score(model=model, expand=True)
    assert wide["emotions_labels"].tolist() == expected.field("labels").to_pylist()


@pytest.fixture(scope="module")
def parquet_files(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("text-types")
    files = {}
    for i, name in enumerate(FILE_TYPES):
        path = root / f"in{i}.parquet"
        pq.write_table(pa.table({"id": list(range(len(TEXTS))), "text": ARROW[name]}), path)
        if name != "dictionary<large_string>":  # parquet gives dictionary<string> back for that one
            assert pq.read_schema(path).field("text").type == ARROW[name].type  # the type survives the file
        files[name] = path
    return files


@pytest.mark.parametrize("name", FILE_TYPES)
def test_cli_scores_every_parquet_text_type_identically(tiny_bundle, expected, parquet_files, tmp_path, name):
    out = tmp_path / "out.parquet"
    with contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(["score", str(parquet_files[name]), str(out), "--model", str(tiny_bundle.root), "--threads", "1",
                     "--rollup", "sentiment", "-q"])
    assert code == 0, err.getvalue()
    table = pq.read_table(out)
    assert table.column("id").to_pylist() == list(range(len(TEXTS)))
    assert table.column("emotions").combine_chunks().equals(expected)


@pytest.mark.spark
def test_spark_scores_every_parquet_text_type_identically(spark, tiny_bundle, model, parquet_files):
    import emospark.spark

    want = score_arrow(model, pa.array(TEXTS)).to_pylist()
    for name, path in parquet_files.items():
        df = spark.read.parquet(str(path)).orderBy("id")
        rows = emospark.spark.score(df, "text", model=str(tiny_bundle.root)).orderBy("id").collect()
        got = [row["emotions"].asDict(recursive=True) if row["emotions"] else None for row in rows]
        assert [g["labels"] for g in got] == [w["labels"] for w in want], name
        for g, w in zip(got, want, strict=True):
            for label, score in w["scores"].items():
                assert (score is None and g["scores"][label] is None) or abs(g["scores"][label] - score) < 1e-6, name
