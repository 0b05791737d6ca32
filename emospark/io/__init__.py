"""Reading and writing tables as streams of Arrow record batches, for the CLI.

Formats (chosen by extension, or named explicitly):

- ``parquet`` (``.parquet``, ``.pq``; also a directory of parquet files);
- ``csv`` (``.csv``) and ``tsv`` (``.tsv``): a header row; every column is read as
  text, so values come back out exactly as they went in. A ``.tsv`` whose first row
  looks like go_emotions data (second field a list of label ids) is read as
  ``go_emotions``: no header, columns ``text``, ``labels`` (ids), ``id``;
- ``jsonl`` (``.jsonl``, ``.ndjson``): one JSON object per line.

Input is streamed in batches, one in memory at a time, so memory stays bounded
whatever the file size: parquet through ``pyarrow.dataset``, one row group at a time;
CSV/TSV with ``pyarrow.csv``'s streaming reader, 1 MiB at a time; JSONL
:data:`ROWS_PER_BATCH` lines at a time, with the columns and types of the first
batch (a later line with a new field is an input error). Output goes to an
anonymous temporary file in the target directory and gets its name only when
:meth:`AtomicFile.commit` is called, so a failed or killed run leaves no partial file.

>>> import tempfile, pyarrow as pa
>>> d = Path(tempfile.mkdtemp())
>>> table = pa.table({"text": ["so happy", "meh"], "n": [1, 2]})
>>> with AtomicFile(d / "t.jsonl") as out:
...     writer = open_writer(out.file, "jsonl", table.schema)
...     writer.write(table.to_batches()[0])
...     writer.close()
...     out.commit()
>>> source = open_source(d / "t.jsonl")
>>> source.format, source.schema.names, [b.num_rows for b in source.batches()]
('jsonl', ['text', 'n'], [2])
"""
from __future__ import annotations

import base64
import datetime
import json
import os
import tempfile
from itertools import islice
from pathlib import Path
from typing import IO, Iterator, Protocol, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.dataset as ds
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from ..errors import InputError, OutputError, UsageError

ROWS_PER_BATCH = 8192
READ_FORMATS = ("parquet", "csv", "tsv", "jsonl", "go_emotions")
WRITE_FORMATS = ("parquet", "csv", "tsv", "jsonl")
FLAT_FORMATS = ("csv", "tsv")  # cannot hold structs or lists
EXTENSIONS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl",
              ".ndjson": "jsonl"}
GO_EMOTIONS_COLUMNS = ("text", "labels", "id")
LIST_SEPARATOR = ","


def format_of(path: Path, given: str | None, allowed: Sequence[str]) -> str:
    """The format named by ``given``, else by the file's extension (for a directory,
    by the first file in it with a known extension)."""
    if given is None:
        named = [path] if not path.is_dir() else sorted(p for p in path.rglob("*") if p.suffix.lower() in EXTENSIONS)
        given = EXTENSIONS.get(named[0].suffix.lower()) if named else None
        if given is None:
            raise UsageError(
                f"cannot tell the format of {path} from its extension; name it with --input-format/--output-format "
                f"({', '.join(allowed)})"
            )
    if given not in allowed:
        raise UsageError(f"format {given!r} is not one of {list(allowed)} here")
    return given


def looks_like_go_emotions(path: Path) -> bool:
    """True if the first line is ``text<TAB>label ids<TAB>...`` (no header)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        fields = f.readline().rstrip("\n").split("\t")
    return len(fields) >= 2 and all(part.strip().isdigit() for part in fields[1].split(","))


def _csv_options(path: Path, fmt: str) -> dict:
    """Options of pyarrow.csv for CSV/TSV/go_emotions, with every column read as text."""
    if fmt == "go_emotions":
        read = pa_csv.ReadOptions(column_names=list(GO_EMOTIONS_COLUMNS))
        parse = pa_csv.ParseOptions(delimiter="\t", quote_char=False)
    else:
        read, parse = pa_csv.ReadOptions(), pa_csv.ParseOptions(delimiter="," if fmt == "csv" else "\t")
    names = read.column_names or pa_csv.open_csv(path, read_options=read, parse_options=parse).schema.names
    convert = pa_csv.ConvertOptions(column_types={name: pa.string() for name in names})
    return {"read_options": read, "parse_options": parse, "convert_options": convert}


def _json_lines(data: bytes, schema: pa.Schema | None = None) -> pa.Table:
    """Parse a block of JSON lines (with ``schema``: exactly its fields and types)."""
    read = pa_json.ReadOptions(use_threads=False, block_size=len(data) + 1)
    parse = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error" if schema else "infer")
    return pa_json.read_json(pa.BufferReader(data), read_options=read, parse_options=parse)


def _checked_utf8(table: pa.Table) -> pa.Table:
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


def _line_blocks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while lines := list(islice(f, ROWS_PER_BATCH)):
            yield b"".join(lines)


class Source:
    """A readable table: its path, format, schema, and its rows as a stream of batches
    (one batch in memory at a time)."""

    def __init__(self, path: Path, fmt: str):
        self.path = path
        self.format = fmt
        self.dataset: ds.Dataset | None = None
        self.csv_options: dict = {}
        if fmt == "parquet":  # no pre-buffering: it would hold whole column chunks
            scan = ds.ParquetFragmentScanOptions(pre_buffer=False)
            self.dataset = ds.dataset(path, format=ds.ParquetFileFormat(default_fragment_scan_options=scan))
            self.schema = self.dataset.schema
        elif fmt == "jsonl":
            self.schema = _json_lines(next(_line_blocks(path), b"")).schema
        else:
            self.csv_options = _csv_options(path, fmt)
            self.schema = pa_csv.open_csv(path, **self.csv_options).schema

    def count_rows(self) -> int | None:
        """The row count when it is cheap to know (parquet metadata), else None."""
        return self.dataset.count_rows() if self.dataset is not None else None

    def _read(self) -> Iterator[pa.RecordBatch]:
        if self.dataset is not None:  # parquet: one row group at a time
            for fragment in self.dataset.get_fragments():
                for group in fragment.split_by_row_group():
                    yield from group.to_batches(schema=self.schema, batch_size=ROWS_PER_BATCH)
        elif self.format == "jsonl":
            for block in _line_blocks(self.path):
                yield from _checked_utf8(_json_lines(block, self.schema)).to_batches()
        else:
            yield from pa_csv.open_csv(self.path, **self.csv_options)

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
        """The rows in file order, in batches of at most :data:`ROWS_PER_BATCH` rows
        (parquet, JSONL) or of one 1 MiB block (CSV/TSV); only ``columns`` if given."""
        rows = 0
        try:
            for batch in self._read():
                yield batch if columns is None else batch.select(list(columns))
                rows += batch.num_rows
        except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{self.path}: cannot read {self.format} after row {rows}: {exc}") from None


def open_source(path: str | os.PathLike, fmt: str | None = None) -> Source:
    """Open a file (or a directory of parquet files) for reading in batches."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    fmt = format_of(path, fmt, READ_FORMATS)
    if path.is_dir() and fmt != "parquet":
        raise InputError(f"{path} is a directory: only parquet is read from directories")
    try:
        if fmt == "tsv" and looks_like_go_emotions(path):
            fmt = "go_emotions"
        return Source(path, fmt)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as {fmt}: {exc}") from None


# -- writing ---------------------------------------------------------------------------------
class AtomicFile:
    """A binary file that appears at ``path`` only on :meth:`commit`.

    On Linux it is an anonymous ``O_TMPFILE`` inode in the target directory: if the
    process dies, even by SIGKILL, nothing is left behind. Elsewhere it is a hidden
    ``.<name>.*.emospark-tmp`` file beside the target, removed on any error.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.tmp_name: Path | None = None
        parent = self.path.parent
        if not parent.is_dir():
            raise OutputError(f"cannot write {self.path}: directory {parent} does not exist")
        if self.path.is_dir():
            raise OutputError(f"cannot write {self.path}: it is a directory")
        try:
            try:
                fd = os.open(parent, os.O_TMPFILE | os.O_WRONLY, 0o666)
            except (AttributeError, OSError):  # no O_TMPFILE here: a named temporary file
                fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".emospark-tmp", dir=parent)
                self.tmp_name = Path(name)
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc}") from None
        self.file: IO[bytes] = os.fdopen(fd, "wb")

    def __enter__(self) -> "AtomicFile":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            if not self.file.closed:
                self.file.close()  # flushes: fails on a full disk
        except OSError as error:
            if exc_type is None:
                raise OutputError(f"cannot write {self.path}: {error}") from None
        finally:
            if self.tmp_name is not None and self.tmp_name.exists():
                self.tmp_name.unlink()

    def commit(self) -> None:
        """Flush to disk and give the file its name (replacing any older file)."""
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            if self.tmp_name is None:  # name the anonymous inode, then move it into place atomically
                self.tmp_name = self.path.with_name(f".{self.path.name}.{os.getpid()}.emospark-tmp")
                _link_fd(self.file.fileno(), self.tmp_name)
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(self.tmp_name, 0o666 & ~umask)
            self.file.close()
            os.replace(self.tmp_name, self.path)
        except OSError as exc:
            raise OutputError(f"cannot write {self.path}: {exc}") from None


def _link_fd(fd: int, path: Path) -> None:
    """Give an ``O_TMPFILE`` inode a name: linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd
    (os.link takes that path only when given a source directory descriptor)."""
    proc = os.open("/proc/self/fd", os.O_RDONLY)
    try:
        os.link(str(fd), path, src_dir_fd=proc, follow_symlinks=True)
    finally:
        os.close(proc)


class Writer(Protocol):
    def write(self, batch: pa.RecordBatch) -> None: ...

    def close(self) -> None: ...


class ParquetWriter:
    def __init__(self, file: IO[bytes], schema: pa.Schema):
        self.writer = pq.ParquetWriter(file, schema)

    def write(self, batch: pa.RecordBatch) -> None:
        self.writer.write_batch(batch)

    def close(self) -> None:
        self.writer.close()


class CsvWriter:
    """CSV/TSV with a header; list columns are written as comma-joined text."""

    def __init__(self, file: IO[bytes], schema: pa.Schema, delimiter: str):
        bad = [f"{f.name} ({f.type})" for f in schema if pa.types.is_nested(f.type) and not _is_text_list(f.type)]
        if bad:
            raise OutputError(f"CSV/TSV cannot hold the nested columns {bad}: write parquet or jsonl instead")
        self.schema = pa.schema([pa.field(f.name, pa.string()) if _is_text_list(f.type) else f for f in schema])
        self.writer = pa_csv.CSVWriter(file, self.schema, write_options=pa_csv.WriteOptions(delimiter=delimiter))

    def write(self, batch: pa.RecordBatch) -> None:
        columns = [pc.binary_join(col, LIST_SEPARATOR) if _is_text_list(col.type) else col for col in batch.columns]
        self.writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=self.schema))

    def close(self) -> None:
        self.writer.close()


class JsonlWriter:
    """One JSON object per row; dates and times as ISO 8601, binary as base64."""

    def __init__(self, file: IO[bytes]):
        self.file = file

    def write(self, batch: pa.RecordBatch) -> None:
        lines = (json.dumps(row, ensure_ascii=False, default=_json_default) + "\n" for row in batch.to_pylist())
        self.file.write("".join(lines).encode("utf-8"))

    def close(self) -> None:
        self.file.flush()


def open_writer(file: IO[bytes], fmt: str, schema: pa.Schema) -> Writer:
    """A writer of record batches with ``schema`` to ``file`` in format ``fmt``."""
    if fmt == "parquet":
        return ParquetWriter(file, schema)
    if fmt in FLAT_FORMATS:
        return CsvWriter(file, schema, "," if fmt == "csv" else "\t")
    return JsonlWriter(file)


def _is_text_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) and pa.types.is_string(t.value_type)


def _json_default(value):
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)  # decimals, timedeltas...
