"""Round trips through `emospark score`, in-process on the tiny test encoder: whatever goes in
(hostile text, extra columns of many Arrow types, every format and compression, files over
1 MiB) comes out whole, in order. "Whole" is judged against emospark's own read of the input
(docs/cli.md, "What lossless means"): CSV has no null, so null and "" read back alike there.

Hypothesis profiles: tests/hypothesis_profiles.py (``ci`` capped; ``HYPOTHESIS_PROFILE=local``
for ten times the cases)."""
from __future__ import annotations

import datetime as dt
import decimal
import itertools
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emospark.cli.main import main
from emospark.io import open_output, open_source

FORMATS = ("csv", "tsv", "jsonl", "parquet")
COMPRESSIONS = (None, "gz", "zst", "bz2")

# Text no format may damage: line breaks of every kind, quotes, delimiters, NUL, BOM, emoji.
HOSTILE = ["\n", "\r\n", "\r", '"', "'", ",", "\t", ";", "\\", "\x00", "\ufeff", "😀", "👩‍👩‍👧", "é", " ", "lol"]
texts = st.one_of(
    st.none(),
    st.just(""),
    st.lists(st.one_of(st.sampled_from(HOSTILE), st.characters(blacklist_categories=("Cs",))), max_size=40).map("".join),
    st.builds(lambda s, n: s * n, st.sampled_from(['a "quoted",\nline\r\n', "😀\t"]), st.integers(200, 2000)),
)


def suffix(fmt: str, compression: str | None) -> str:
    return f".{fmt}" + (f".{compression}" if compression else "")


def extra_columns(n: int, fmt: str, draw) -> dict[str, pa.Array]:
    """Extra columns of many Arrow types (the nested ones only where the format holds them)."""
    ints = draw(st.lists(st.one_of(st.none(), st.integers(-2**63, 2**63 - 1)), min_size=n, max_size=n))
    floats = draw(st.lists(st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=64)),
                           min_size=n, max_size=n))
    bools = draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n))
    days = draw(st.lists(st.one_of(st.none(), st.dates(dt.date(1900, 1, 1), dt.date(2200, 1, 1))), min_size=n, max_size=n))
    cols = {"i64": pa.array(ints, pa.int64()), "f64": pa.array(floats, pa.float64()),
            "flag": pa.array(bools, pa.bool_()), "day": pa.array(days, pa.date32()),
            "other": pa.array(draw(st.lists(texts, min_size=n, max_size=n)), pa.string())}
    if fmt == "parquet":
        cols["i8"] = pa.array(draw(st.lists(st.integers(-128, 127), min_size=n, max_size=n)), pa.int8())
        cols["f32"] = pa.array(draw(st.lists(st.one_of(st.none(), st.floats(width=32)), min_size=n, max_size=n)),
                               pa.float32())
        cols["ts"] = pa.array(draw(st.lists(st.one_of(st.none(), st.datetimes(dt.datetime(1900, 1, 1))),
                                            min_size=n, max_size=n)), pa.timestamp("us"))
        cols["dec"] = pa.array(draw(st.lists(st.one_of(st.none(), st.decimals(-10**6, 10**6, places=2)),
                                             min_size=n, max_size=n)), pa.decimal128(12, 2))
        cols["tags"] = pa.array(draw(st.lists(st.one_of(st.none(), st.lists(texts.filter(lambda t: t is not None),
                                                                            max_size=3)), min_size=n, max_size=n)),
                                pa.list_(pa.string()))
        cols["blob"] = pa.array(draw(st.lists(st.one_of(st.none(), st.binary(max_size=20)), min_size=n, max_size=n)),
                                pa.binary())
    if fmt == "jsonl":
        cols["tags"] = pa.array(draw(st.lists(st.one_of(st.none(), st.lists(st.integers(-9, 9), max_size=3)),
                                              min_size=n, max_size=n)), pa.list_(pa.int64()))
    return cols


def write(path: Path, table: pa.Table) -> None:
    with open_output(path) as out:
        out.write(table.schema, table.to_batches(max_chunksize=700))
        out.commit()


def read(path: Path) -> pa.Table:
    with open_source(path) as source:
        return pa.Table.from_batches(list(source.batches()), source.schema)


@pytest.fixture(scope="module")
def tiny(tiny_bundle) -> list[str]:
    return ["--model", str(tiny_bundle.root), "--threads", "1"]


def score(tiny, src: Path, dst: Path, *more: str) -> None:
    code = main(["score", str(src), str(dst), "--text-col", "text", *tiny, *more])
    assert code == 0


def check_round_trip(tiny, tmp: Path, table: pa.Table, fmt: str, compression: str | None) -> None:
    src, dst = tmp / f"in{suffix(fmt, compression)}", tmp / f"out{suffix(fmt, compression)}"
    write(src, table)
    want = read(src)
    assert want.num_rows == table.num_rows
    if fmt in ("parquet", "jsonl"):
        assert want.column("text").to_pylist() == table.column("text").to_pylist()
    else:  # CSV has no null: null and "" are both an empty field
        assert want.column("text").to_pylist() == [t or None for t in table.column("text").to_pylist()] or \
            [t or "" for t in want.column("text").to_pylist()] == [t or "" for t in table.column("text").to_pylist()]
    score(tiny, src, dst)
    got = read(dst)
    assert got.num_rows == want.num_rows
    assert got.column_names[:want.num_columns] == want.column_names
    for name in want.column_names:
        assert values(got.column(name)) == values(want.column(name)), name


def values(column: pa.ChunkedArray) -> list:
    """The Python values, NaN as a string so that it equals itself."""
    return ["NaN" if isinstance(v, float) and v != v else v for v in column.to_pylist()]


@given(data=st.data(), fmt=st.sampled_from(FORMATS), compression=st.sampled_from(COMPRESSIONS),
       rows=st.lists(texts, min_size=1, max_size=30))
def test_round_trip_keeps_every_row_and_field(tiny, tmp_path_factory, data, fmt, compression, rows):
    if fmt == "parquet":
        compression = None  # parquet compresses its columns itself
    table = pa.table({"text": pa.array(rows, pa.string()), **extra_columns(len(rows), fmt, data.draw)})
    check_round_trip(tiny, tmp_path_factory.mktemp("rt"), table, fmt, compression)


HOSTILE_ROWS = [None, "", "a,b", 'say "hi"', "two\nlines", "crlf\r\nend", "tab\there", "nul\x00byte",
                "\ufeffbom first", "😀👩‍👩‍👧", " spaced ", "x" * 5000]


@pytest.mark.parametrize("fmt,compression", [(f, c) for f, c in itertools.product(FORMATS, COMPRESSIONS)
                                             if not (f == "parquet" and c)])
def test_every_format_and_compression(tiny, tmp_path, fmt, compression):
    n = len(HOSTILE_ROWS)
    table = pa.table({"text": HOSTILE_ROWS, "id": pa.array(range(n), pa.int64()),
                      "price": pa.array([decimal.Decimal("1.25")] * n).cast(pa.float64())})
    check_round_trip(tiny, tmp_path, table, fmt, compression)


@pytest.mark.parametrize("fmt,compression", [(f, c) for f, c in itertools.product(FORMATS, COMPRESSIONS)
                                             if not (f == "parquet" and c)])
def test_file_over_one_mib_with_line_breaks_in_quoted_fields(tiny, tmp_path, fmt, compression):
    rows = [f'row {i}: "quoted",\nsecond line\r\nthird, {"é" * (i % 50)}' for i in range(16000)]
    assert sum(len(r.encode()) for r in rows) > 1 << 20  # over 1 MiB of text, whatever the file's compression
    table = pa.table({"text": rows, "id": pa.array(range(len(rows)), pa.int64())})
    check_round_trip(tiny, tmp_path, table, fmt, compression)


def test_jsonl_writes_null_for_non_finite_floats(tiny, tmp_path):
    table = pa.table({"text": ["a", "b", "c", "d"], "x": [float("nan"), float("inf"), float("-inf"), 1.5]})
    src, dst = tmp_path / "in.parquet", tmp_path / "out.jsonl"
    write(src, table)
    score(tiny, src, dst)
    body = dst.read_text()
    assert "NaN" not in body and "Infinity" not in body
    assert read(dst).column("x").to_pylist() == [None, None, None, 1.5]
