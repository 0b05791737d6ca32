"""Table formats: names, file suffixes, and how each is parsed and written with pyarrow.

A name's format comes from its suffix, after an optional compression suffix
(``.gz``, ``.zst``, ``.bz2``): ``reviews.csv.gz`` is gzip-compressed CSV.

>>> name_format("reviews.csv.gz"), name_format("part-0.snappy.parquet"), name_format("notes.txt")
(('csv', 'gzip'), ('parquet', None), (None, None))

What each format holds, and the rules for what it cannot (docs/cli.md, "What lossless
means"):

- **parquet**: every Arrow type, nulls included: nothing is changed.
- **CSV/TSV** are text: every column is read as a string (``007`` stays ``007``), an
  empty field is the empty string (CSV has no null: null and ``""`` are both written as
  an empty field), fields are quoted when they hold quotes, delimiters or line breaks,
  and quoted fields may hold line breaks (LF, CR, CRLF) at any position in a file of
  any size. Written values: numbers in their shortest round-trip form, dates and times
  in ISO 8601, binary as base64, the result's label lists as comma-separated names and
  any other list, struct or map as JSON text.
- **JSONL**: one JSON object per line. Types are inferred by pyarrow from all the
  lines of a file, except that text is never turned into a timestamp (a ``"2024-01-02"``
  stays text). Written: non-finite floats as ``null`` (JSON has no NaN or Infinity),
  dates and times in ISO 8601, binary as base64, decimals as strings.

>>> import pyarrow as pa
>>> block = b'{"when": "2024-01-02", "n": 1}\\n{"when": "soon", "n": 2.5}\\n'
>>> parse_json_block(block).schema.types
[DataType(string), DataType(double)]
"""
from __future__ import annotations

import base64
import datetime
import json
import math
from typing import IO, Iterator, Protocol, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from ..errors import OutputError, UsageError

ROWS_PER_BATCH = 8192
"""Most rows handed to the scorer at once (larger blocks are sliced)."""
CSV_BLOCK = 1 << 20
"""Bytes of CSV parsed at once; a file whose rows are longer is re-read with larger blocks."""
CSV_MAX_BLOCK = 1 << 30
STREAM_CSV_BLOCK = 16 << 20
"""Bytes of CSV parsed at once from a stream (a stream cannot be re-read: its rows must fit)."""
READ_FORMATS = ("parquet", "csv", "tsv", "jsonl", "go_emotions")
WRITE_FORMATS = ("parquet", "csv", "tsv", "jsonl")
FLAT_FORMATS = ("csv", "tsv")  # cannot hold structs or lists
EXTENSIONS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl",
              ".ndjson": "jsonl", ".json": "jsonl"}
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd", ".bz2": "bz2"}
SUFFIX_OF = {"parquet": ".parquet", "csv": ".csv", "tsv": ".tsv", "jsonl": ".jsonl"}
GO_EMOTIONS_COLUMNS = ("text", "labels", "id")
LIST_SEPARATOR = ","
DELIMITERS = {"csv": ",", "tsv": "\t", "go_emotions": "\t"}


def name_format(name: str) -> tuple[str | None, str | None]:
    """(format, compression) named by a file name's suffixes; None for what they do not name."""
    lower = name.lower().rsplit("/", 1)[-1]
    compression = next((codec for suffix, codec in COMPRESSIONS.items() if lower.endswith(suffix)), None)
    if compression:
        lower = lower.rsplit(".", 1)[0]
    dot = lower.rfind(".")
    return (EXTENSIONS.get(lower[dot:]) if dot >= 0 else None), compression


def format_of(path, given: str | None, allowed: Sequence[str]) -> str:
    """The format named by ``given``, else by the suffix of ``path`` (compression suffixes
    aside); :class:`UsageError` if neither names one of ``allowed``."""
    if given is None:
        given = name_format(str(path))[0]
        if given is None:
            raise UsageError(
                f"cannot tell the format of {path} from its extension; name it with --input-format/--output-format "
                f"({', '.join(allowed)})"
            )
    if given not in allowed:
        raise UsageError(f"format {given!r} is not one of {list(allowed)} here")
    return given


def looks_like_go_emotions(first_line: bytes) -> bool:
    """True if a TSV's first line is ``text<TAB>label ids<TAB>...`` (no header).

    >>> looks_like_go_emotions(b"so happy\\t17,4\\teeibfx1\\n"), looks_like_go_emotions(b"text\\tlabels\\n")
    (True, False)
    """
    fields = first_line.decode("utf-8", errors="replace").rstrip("\r\n").split("\t")
    return len(fields) >= 2 and all(part.strip().isdigit() for part in fields[1].split(","))


# -- CSV / TSV ---------------------------------------------------------------------------------
def csv_parse_options(fmt: str) -> pa_csv.ParseOptions:
    """RFC 4180 quoting with line breaks allowed inside quoted fields (go_emotions: no quoting)."""
    if fmt == "go_emotions":
        return pa_csv.ParseOptions(delimiter="\t", quote_char=False)
    return pa_csv.ParseOptions(delimiter=DELIMITERS[fmt], newlines_in_values=True)


def csv_read_options(fmt: str, block_size: int, skip_rows: int = 0) -> pa_csv.ReadOptions:
    names = list(GO_EMOTIONS_COLUMNS) if fmt == "go_emotions" else None
    return pa_csv.ReadOptions(block_size=block_size, use_threads=False, column_names=names,
                              skip_rows_after_names=skip_rows)


def csv_convert_options(names: Sequence[str]) -> pa_csv.ConvertOptions:
    """Every column as text; an empty field is the empty string, never null."""
    return pa_csv.ConvertOptions(column_types={name: pa.string() for name in names}, strings_can_be_null=False,
                                 quoted_strings_can_be_null=False)


def is_straddling(exc: BaseException) -> bool:
    """pyarrow's error for a row longer than the block being parsed."""
    return "straddl" in str(exc)


# -- JSONL -------------------------------------------------------------------------------------
def without_timestamps(t: pa.DataType) -> pa.DataType:
    """``t`` with every timestamp (pyarrow's guess for date-like text) turned back into text."""
    if pa.types.is_timestamp(t):
        return pa.string()
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(without_timestamps(f.type)) for f in t])
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(without_timestamps(t.value_type)))
    return t


def parse_json_block(data: bytes, schema: pa.Schema | None = None, *, check_utf8: bool = True) -> pa.Table:
    """Parse a block of JSON lines: with ``schema``, exactly its fields and types (another
    field is an error); without, the types pyarrow infers, text kept as text."""
    read = pa_json.ReadOptions(use_threads=False, block_size=len(data) + 1)
    if schema is None:
        inferred = pa_json.read_json(pa.BufferReader(data), read_options=read).schema
        schema = pa.schema([f.with_type(without_timestamps(f.type)) for f in inferred])
    parse = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
    table = pa_json.read_json(pa.BufferReader(data), read_options=read, parse_options=parse)
    return checked_utf8(table) if check_utf8 else table


def checked_utf8(table: pa.Table) -> pa.Table:
    """``table`` if all its strings are valid UTF-8 (pyarrow's JSON reader does not check);
    else ``ArrowInvalid`` naming the column and the row in the block."""
    try:
        table.validate(full=True)
    except pa.ArrowInvalid:
        for name in table.column_names:
            values = table.column(name)
            if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
                for row, raw in enumerate(values.cast(pa.large_binary()).to_pylist()):
                    if raw is not None and raw.decode("utf-8", errors="replace").encode("utf-8") != raw:
                        raise pa.ArrowInvalid(f"column '{name}' is not valid UTF-8 in row {row}") from None
        raise
    return table


def line_blocks(stream: IO[bytes], lines: int = ROWS_PER_BATCH) -> Iterator[bytes]:
    """Blocks of up to ``lines`` whole lines (the last may lack its newline)."""
    block: list[bytes] = []
    for line in stream:
        block.append(line)
        if len(block) == lines:
            yield b"".join(block)
            block = []
    if block:
        yield b"".join(block)


# -- writing -----------------------------------------------------------------------------------
class Writer(Protocol):
    def write(self, batch: pa.RecordBatch) -> None: ...

    def close(self) -> None: ...


class ParquetWriter:
    """One row group per batch: memory holds one batch whatever the file size."""

    def __init__(self, file, schema: pa.Schema):
        self.writer = pq.ParquetWriter(file, schema)

    def write(self, batch: pa.RecordBatch) -> None:
        self.writer.write_batch(batch)

    def close(self) -> None:
        self.writer.close()


class CsvWriter:
    """CSV/TSV with a header; every value as text (see the module doc).

    >>> import io
    >>> out = io.BytesIO()
    >>> t = pa.table({"text": ['say "hi",\\nok', None], "tags": [["a", "b"], []], "m": [{"x": 1.5}, None]})
    >>> w = CsvWriter(out, t.schema, ",", label_columns=["tags"])
    >>> w.write(t.to_batches()[0]); w.close()
    >>> print(out.getvalue().decode())
    "text","tags","m"
    "say ""hi"",
    ok","a,b","{""x"": 1.5}"
    ,"",
    <BLANKLINE>
    """

    def __init__(self, file, schema: pa.Schema, delimiter: str, label_columns: Sequence[str] = ()):
        self.labels = set(label_columns)
        empty = pa.RecordBatch.from_pylist([], schema=schema)
        self.schema = pa.schema([pa.field(f.name, c.type) for f, c in zip(schema, self._columns(empty), strict=True)])
        self.writer = pa_csv.CSVWriter(file, self.schema, write_options=pa_csv.WriteOptions(delimiter=delimiter))

    def _columns(self, batch: pa.RecordBatch) -> list[pa.Array]:
        return [pc.binary_join(col, LIST_SEPARATOR) if name in self.labels and _is_text_list(col.type)
                else csv_text(col) for name, col in zip(batch.schema.names, batch.columns, strict=True)]

    def write(self, batch: pa.RecordBatch) -> None:
        self.writer.write_batch(pa.RecordBatch.from_arrays(self._columns(batch), schema=self.schema))

    def close(self) -> None:
        self.writer.close()


def _is_text_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) and pa.types.is_string(t.value_type)


def csv_text(col: pa.Array) -> pa.Array:
    """A column as the CSV writer can write it: numbers, booleans, text, dates and times as
    they are (pyarrow writes them in ISO 8601), the rest as text (see the module doc)."""
    t = col.type
    if pa.types.is_nested(t):
        return pa.array([None if v is None else json.dumps(v, ensure_ascii=False, allow_nan=False)
                         for v in json_values(col)], pa.string())
    if pa.types.is_null(t):
        return col.cast(pa.string())
    return json_ready(col)


def json_ready(col: pa.Array) -> pa.Array:
    """A column whose Python values JSON can hold: temporal values and decimals as ISO 8601
    / exact text, durations as a count of their unit, binary as base64, dictionaries
    decoded, maps as lists of ``{key, value}``, non-finite floats as null."""
    t = col.type
    if pa.types.is_dictionary(t):
        return json_ready(col.dictionary_decode())
    if pa.types.is_floating(t):
        return pc.if_else(pc.is_finite(col), col, pa.scalar(None, t))
    if pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t) or pa.types.is_decimal(t):
        return col.cast(pa.string())
    if pa.types.is_duration(t):
        return col.cast(pa.int64())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return pa.array([None if v is None else base64.b64encode(v).decode("ascii") for v in col.to_pylist()],
                        pa.string())
    if pa.types.is_map(t):
        items = pa.StructArray.from_arrays([json_ready(col.keys), json_ready(col.items)], ["key", "value"])
        return pa.ListArray.from_arrays(col.offsets, items, mask=col.is_null())
    return col


def json_values(col: pa.Array) -> list:
    """The column's values as Python values that ``json.dumps`` writes (NaN and infinity
    as None at any depth)."""
    return [_finite(v) for v in json_ready(col).to_pylist()]


class JsonlWriter:
    """One JSON object per row, UTF-8 (see the module doc for the types JSON lacks)."""

    def __init__(self, file):
        self.file = file

    def write(self, batch: pa.RecordBatch) -> None:
        names = batch.schema.names
        columns = [json_values(col) for col in batch.columns]
        lines = (json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False, default=_json_default, allow_nan=False) + "\n"
                 for row in zip(*columns, strict=True))
        self.file.write("".join(lines).encode("utf-8"))

    def close(self) -> None:
        self.file.flush()


def open_writer(file, fmt: str, schema: pa.Schema, label_columns: Sequence[str] = ()) -> Writer:
    """A writer of record batches with ``schema`` to the binary ``file`` in format ``fmt``;
    ``label_columns``: list columns written as comma-separated labels in CSV/TSV."""
    if fmt == "parquet":
        return ParquetWriter(file, schema)
    if fmt in FLAT_FORMATS:
        return CsvWriter(file, schema, DELIMITERS[fmt], label_columns)
    if fmt == "jsonl":
        return JsonlWriter(file)
    raise OutputError(f"cannot write the format {fmt!r}")


def _finite(value):
    """``value`` with every NaN and infinity (at any depth) replaced by None, and map
    entries (nested maps) as ``{key, value}``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, tuple):
        return {"key": _finite(value[0]), "value": _finite(value[1])}
    return value


def _json_default(value):
    """Nested values that JSON lacks (top-level columns are converted by :func:`json_ready`)."""
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime.timedelta):
        return value // datetime.timedelta(microseconds=1)
    return str(value)  # decimals...
