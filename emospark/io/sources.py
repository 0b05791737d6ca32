"""Tables to read, as streams of Arrow record batches (one batch in memory at a time).

:func:`open_source` opens

- a **file**, local or a URI (``s3://bucket/in.parquet``), compressed or not
  (``.gz``, ``.zst``, ``.bz2``);
- a **directory** or a **glob** (``data/*.csv``, ``s3://b/logs/**/*.jsonl``): every file
  in it or matching it, hidden ones (``.*``, ``_*``) aside, **in sorted path order**;
  ``key=value`` directories (hive partitioning) add the column ``key`` holding
  ``value``: an integer (int64) where every value of the column is written as a plain
  integer, else text, with ``__HIVE_DEFAULT_PARTITION__`` read as null;
- a **stream**: ``-`` (stdin) or a named pipe (FIFO), read exactly once as it comes
  (parquet, which needs random access, is first copied to a temporary file);
  compression is recognised by its magic bytes, the format must be named for stdin.

The schema of files is the **union** of the columns of every file, in order of first
appearance (a file without a column gives nulls there), then the partition columns;
types widen as ``pyarrow.unify_schemas(promote_options="permissive")`` widens them
(``int32`` and ``int64`` to ``int64``, ``int64`` and ``double`` to ``double``), and two
types that do not unify are an error naming both files. For JSONL, each file is read
twice: once for its columns and types, then for its rows. A stream has the schema of
its beginning (the CSV header, the parquet schema, the first 8,192 JSONL lines); a later
JSONL line with another field or type is an error naming its row.

>>> import tempfile, pyarrow as pa, pyarrow.parquet as pq
>>> root = Path(tempfile.mkdtemp())
>>> for lang, texts in (("en", ["so happy"]), ("fr", ["si triste", "bof"])):
...     (root / f"lang={lang}").mkdir()
...     pq.write_table(pa.table({"text": texts}), root / f"lang={lang}" / "part-0.parquet")
>>> source = open_source(root)
>>> source.format, source.schema.names, source.count_rows()
('parquet', ['text', 'lang'], 3)
>>> [row["lang"] for batch in source.batches() for row in batch.to_pylist()]
['en', 'fr', 'fr']
"""
from __future__ import annotations

import functools
import io
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from typing import IO, Callable, Iterator, Sequence
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ..errors import InputError, UsageError
from .filesystems import Location, expand_glob, has_glob, list_files, redact, resolve
from .formats import (
    CSV_BLOCK,
    CSV_MAX_BLOCK,
    GO_EMOTIONS_COLUMNS,
    READ_FORMATS,
    ROWS_PER_BATCH,
    STREAM_CSV_BLOCK,
    csv_convert_options,
    csv_parse_options,
    csv_read_options,
    is_straddling,
    line_blocks,
    looks_like_go_emotions,
    name_format,
    parse_json_block,
)

NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
MAGIC = ((b"\x1f\x8b", "gzip"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"BZh", "bz2"))
READ_ERRORS = (pa.ArrowException, OSError, UnicodeDecodeError)


class Source:
    """A readable table: where it is (``display``, never a secret), its format and schema,
    and its rows as a stream of batches in order.

    ``path`` is the local path as given (a :class:`~pathlib.Path`) or the URI's display."""

    format: str
    schema: pa.Schema
    display: str
    path: Path | str

    def count_rows(self) -> int | None:
        """The row count when it is cheap to know (parquet metadata), else None."""
        return None

    def _batches(self) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[pa.RecordBatch]:
        """The rows in order, in batches of at most :data:`ROWS_PER_BATCH` rows; only
        ``columns`` if given."""
        for batch in self._batches():
            if columns is not None:
                batch = batch.select(list(columns))
            for start in range(0, max(batch.num_rows, 1), ROWS_PER_BATCH):
                yield batch.slice(start, ROWS_PER_BATCH)

    def close(self) -> None:
        """Release what the source holds (a spooled stream)."""

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_source(target: str | os.PathLike, fmt: str | None = None, *, s3_endpoint: str | None = None) -> Source:
    """Open a file, directory, glob, URI, ``-`` (stdin) or FIFO for reading in batches
    (see the module doc); ``fmt`` overrides the format given by the suffixes."""
    text = os.fspath(target)
    if fmt is not None and fmt not in READ_FORMATS:
        raise UsageError(f"format {fmt!r} is not one of {list(READ_FORMATS)} here")
    if text == "-":
        if fmt is None:
            raise UsageError(f"reading stdin ('-') needs --input-format ({', '.join(READ_FORMATS)})")
        return StreamSource(sys.stdin.buffer, "<stdin>", fmt, None)
    location = resolve(text, s3_endpoint=s3_endpoint)
    if location.local and _is_fifo(location.path):
        named, compression = name_format(text)
        fmt = fmt or named
        if fmt is None:
            raise UsageError(f"cannot tell the format of the pipe {text} from its name; name it with --input-format "
                             f"({', '.join(READ_FORMATS)})")
        return StreamSource(open(location.path, "rb"), text, fmt, compression)
    base, files = _files(location)
    return FileSource(location, base, files, fmt)


def _is_fifo(path: str) -> bool:
    try:
        return stat.S_ISFIFO(os.stat(path).st_mode)
    except OSError:
        return False


def _files(location: Location) -> tuple[str, list[str]]:
    """The base directory and the sorted files of a file, directory or glob."""
    try:
        info = location.info()
        if info.type == pafs.FileType.File:
            return location.path.rsplit("/", 1)[0], [location.path]
        if info.type == pafs.FileType.Directory:
            files = list_files(location, location.path)
            if not files:
                raise InputError(f"{location.display}: the directory holds no data files")
            return location.path, files
        if has_glob(location.path):
            base, files = expand_glob(location)
            if not files:
                raise InputError(f"{location.display}: no file matches")
            return base, files
    except READ_ERRORS as exc:
        raise InputError(f"{location.display}: cannot be read: {redact(str(exc))}") from None
    raise InputError(f"{location.display}: no such file")


# -- streams of bytes ----------------------------------------------------------------------------
class Prefixed(io.RawIOBase):
    """A binary stream that first gives back ``prefix`` (bytes already read), then the rest of ``stream``."""

    def __init__(self, prefix: bytes, stream: IO[bytes]):
        self.prefix = memoryview(prefix)
        self.stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.prefix:
            n = min(len(buffer), len(self.prefix))
            buffer[:n] = self.prefix[:n]
            self.prefix = self.prefix[n:]
            return n
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def read_fully(stream: IO[bytes], size: int) -> bytes:
    """Up to ``size`` bytes: fewer only at the end of the stream."""
    parts, got = [], 0
    while got < size:
        part = stream.read(size - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


def decompressed(stream: IO[bytes], compression: str | None) -> IO[bytes]:
    """``stream`` decompressed with ``compression``, or as detected from its magic bytes
    when None (not compressed if none matches)."""
    if compression is None:
        head = read_fully(stream, 4)
        stream = io.BufferedReader(Prefixed(head, stream))
        compression = next((codec for magic, codec in MAGIC if head.startswith(magic)), None)
        if compression is None:
            return stream
    return io.BufferedReader(pa.CompressedInputStream(stream, compression))


# -- reading one stream of a format ----------------------------------------------------------------
def csv_header(stream: IO[bytes], fmt: str, block: int) -> tuple[list[str], bytes]:
    """The column names of a CSV/TSV and the bytes read to find them (at least the header
    and one row, or everything)."""
    if fmt == "go_emotions":
        return list(GO_EMOTIONS_COLUMNS), b""
    data = b""
    while True:
        chunk = read_fully(stream, block)
        data += chunk
        end = len(chunk) < block
        probe = csv_parse_options(fmt)
        probe.invalid_row_handler = lambda row: "skip"  # the last row read may be cut short
        table = pa_csv.read_csv(pa.BufferReader(data), read_options=pa_csv.ReadOptions(block_size=len(data) + 1),
                                parse_options=probe)
        if end or table.num_rows > 1:  # with a whole row after it (not the last, maybe cut), the header is whole
            pa_csv.read_csv(pa.BufferReader(data), read_options=pa_csv.ReadOptions(block_size=len(data) + 1),
                            parse_options=probe, convert_options=csv_convert_options(table.column_names))
            return table.column_names, data  # (and its first rows are valid UTF-8)
        block *= 2


def check_names(names: Sequence[str], where: str) -> None:
    twice = sorted({n for n in names if list(names).count(n) > 1})
    if twice:
        raise InputError(f"{where}: the column names {twice} appear more than once; rename them")


def csv_batches(opener: Callable[[], IO[bytes]], fmt: str, names: list[str], block: int, restartable: bool,
                where: str) -> Iterator[pa.RecordBatch]:
    """A CSV/TSV's rows, every column as text. A row longer than ``block`` bytes makes a
    restartable source read again with larger blocks from that row on; a stream cannot."""
    rows = 0
    while True:
        stream = opener()
        reader = pa_csv.open_csv(stream, read_options=csv_read_options(fmt, block, rows),
                                 parse_options=csv_parse_options(fmt), convert_options=csv_convert_options(names))
        try:
            for batch in reader:
                rows += batch.num_rows
                yield batch
            return
        except pa.ArrowInvalid as exc:
            if not is_straddling(exc):
                raise
            if not restartable or block >= CSV_MAX_BLOCK:
                raise InputError(
                    f"{where}: row {rows + 1} or one near it is longer than {block >> 20} MiB, more than is read at "
                    + ("once from a stream: save the stream to a file and read the file" if not restartable else
                       "once") + f" ({exc})") from None
            block *= 8
        finally:
            stream.close()


def json_schema(blocks: Iterator[bytes], where: str) -> pa.Schema:
    """The union of the schemas of every block of JSON lines (types widened)."""
    schema, rows = pa.schema([]), 0
    for block in blocks:
        try:
            found = parse_json_block(block, check_utf8=False).schema  # (checked when the rows are read)
            schema = pa.unify_schemas([schema, found], promote_options="permissive")
        except pa.ArrowTypeError as exc:
            raise InputError(f"{where}: cannot read jsonl after row {rows}: a field changes type: {exc}") from None
        except pa.ArrowException:
            if not rows:
                raise  # the file cannot be read as JSONL at all
            if schema.names:  # the message of the stricter parse names the row
                try:
                    parse_json_block(block, schema)
                except pa.ArrowException as strict:
                    exc = strict
            raise InputError(f"{where}: cannot read jsonl after row {rows}: {exc}") from None
        rows += block.count(b"\n")
    return schema


# -- files ---------------------------------------------------------------------------------------
class FileSource(Source):
    """Files of one format: a file, a directory (hive partitions included) or a glob."""

    def __init__(self, location: Location, base: str, files: list[str], fmt: str | None):
        self.location = location
        self.display = location.display
        self.path = Path(location.display) if location.local else location.display
        self.base = base
        self.files = files
        self.compression = {path: name_format(path)[1] for path in files}
        self.format = fmt or self._format()
        if self.format == "tsv" and fmt is None and looks_like_go_emotions(self._first_line(files[0])):
            self.format = "go_emotions"
        self.partitions = partition_values(files, base)
        self.partition_schema = partition_schema(self.partitions, location.display)
        self.dataset: ds.Dataset | None = None
        if self.format == "parquet":
            bad = [p for p, c in self.compression.items() if c]
            if bad:
                raise UsageError(f"{self.shown(bad[0])}: parquet is compressed inside; read it without the "
                                 f"{bad[0].rsplit('.', 1)[-1]} suffix")
            scan = ds.ParquetFragmentScanOptions(pre_buffer=False)  # it would hold whole column chunks
            fmt_ = ds.ParquetFileFormat(default_fragment_scan_options=scan)
            self.dataset = self._guard(files[0], lambda: ds.dataset(files, filesystem=location.filesystem, format=fmt_))
        self.names: dict[str, list[str]] = {}  # CSV/TSV header of each file
        self.data_schema = self._union()
        taken = [name for name in self.partition_schema.names if name in self.data_schema.names]
        if taken:
            raise InputError(f"{self.display}: the columns {taken} are both in the files and in their directory "
                             "names (key=value); rename one of them")
        self.schema = pa.schema(list(self.data_schema) + list(self.partition_schema))

    def shown(self, path: str) -> str:
        """How messages name one of the files."""
        if path == self.location.path:
            return self.display
        return self.location.child(path).display if not self.location.local else os.path.relpath(path)

    def _guard(self, path: str, action: Callable, rows: int | None = None):
        try:
            return action()
        except InputError:
            raise
        except READ_ERRORS as exc:
            where = f"cannot be read as {self.format}" if rows is None else f"cannot read {self.format} after row {rows}"
            raise InputError(f"{self.shown(path)}: {where}: {redact(str(exc))}") from None

    def _format(self) -> str:
        """The format the files' suffixes name; a directory named like a file (``out.tsv/``,
        as Spark writes it, with ``part-*.csv`` files) is read in its own name's format."""
        own = name_format(self.location.path.rstrip("/"))[0] if self.files != [self.location.path] else None
        if own is not None:
            return own
        named = {path: name_format(path)[0] for path in self.files}
        kinds = set(named.values())
        if kinds == {None}:
            raise UsageError(f"cannot tell the format of {self.display} from its extension; name it with "
                             f"--input-format ({', '.join(READ_FORMATS)})")
        if len(kinds) > 1:
            examples = {str(kind): self.shown(path) for path, kind in named.items()}
            raise InputError(f"{self.display}: files of different formats: {sorted(examples.values())}; select "
                             "one format with a glob (e.g. DIR/**/*.parquet) or name it with --input-format")
        return kinds.pop()

    def _open(self, path: str) -> IO[bytes]:
        stream = self.location.filesystem.open_input_stream(path, compression=self.compression[path])
        return io.BufferedReader(stream, buffer_size=1 << 16)

    def _first_line(self, path: str) -> bytes:
        with self._open(path) as f:
            return f.readline(1 << 20)

    def _file_schema(self, path: str) -> pa.Schema:
        if self.format == "parquet":
            with self.location.filesystem.open_input_file(path) as f:
                return pq.read_schema(f)
        if self.format == "jsonl":
            with self._open(path) as f:
                return json_schema(line_blocks(f), self.shown(path))
        with self._open(path) as f:
            self.names[path] = csv_header(f, self.format, CSV_BLOCK)[0]
        return pa.schema([(name, pa.string()) for name in self.names[path]])

    def _union(self) -> pa.Schema:
        union, first_of = pa.schema([]), {}
        for path in self.files:
            schema = self._guard(path, functools.partial(self._file_schema, path))
            check_names(schema.names, self.shown(path))
            try:
                union = pa.unify_schemas([union, schema], promote_options="permissive")
            except (pa.ArrowTypeError, pa.ArrowInvalid):
                name = next(f.name for f in schema if f.name in first_of and not _unifies(union.field(f.name), f))
                before = union.field(name).type
                raise InputError(
                    f"column '{name}' is {before} in {self.shown(first_of[name])} but {schema.field(name).type} in "
                    f"{self.shown(path)}: the types cannot be combined; convert one file, or read them separately"
                ) from None
            for name in schema.names:
                first_of.setdefault(name, path)
        return union

    def count_rows(self) -> int | None:
        if self.dataset is None:
            return None
        try:
            return self.dataset.count_rows()
        except READ_ERRORS:
            return None

    def _batches(self) -> Iterator[pa.RecordBatch]:
        fragments = self.dataset.get_fragments() if self.dataset is not None else [None] * len(self.files)
        for path, fragment in zip(self.files, fragments, strict=True):
            keys = self.partitions[path]
            rows = 0
            batches = self._file_batches(path, fragment)
            while True:
                try:
                    batch = next(batches)
                except StopIteration:
                    break
                except InputError:
                    raise
                except READ_ERRORS as exc:
                    raise InputError(f"{self.shown(path)}: cannot read {self.format} after row {rows}: "
                                     f"{redact(str(exc))}") from None
                rows += batch.num_rows
                yield self._with_partitions(batch, keys)

    def _file_batches(self, path: str, fragment) -> Iterator[pa.RecordBatch]:
        if fragment is not None:  # parquet: one row group at a time, no read-ahead beyond a batch
            yield from fragment.to_batches(schema=self.data_schema, batch_size=ROWS_PER_BATCH, batch_readahead=1,
                                           use_threads=False)
        elif self.format == "jsonl":
            with self._open(path) as f:
                for block in line_blocks(f):
                    yield from parse_json_block(block, self.data_schema).to_batches()
        else:
            for batch in csv_batches(lambda: self._open(path), self.format, self.names[path], CSV_BLOCK, True,
                                     self.shown(path)):
                yield conform(batch, self.data_schema)

    def _with_partitions(self, batch: pa.RecordBatch, keys: dict[str, str | None]) -> pa.RecordBatch:
        if not self.partition_schema.names:
            return batch
        extra = [pa.array([keys.get(f.name)] * batch.num_rows, pa.string()).cast(f.type) for f in
                 self.partition_schema]
        return pa.RecordBatch.from_arrays([*batch.columns, *extra], schema=self.schema)


def _unifies(a: pa.Field, b: pa.Field) -> bool:
    try:
        pa.unify_schemas([pa.schema([a]), pa.schema([b])], promote_options="permissive")
        return True
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return False


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """``batch`` with exactly the columns of ``schema``, in its order: missing ones null,
    others cast (safely) to its types."""
    if batch.schema.equals(schema):
        return batch
    columns = []
    for field in schema:
        index = batch.schema.get_field_index(field.name)
        column = pa.nulls(batch.num_rows, field.type) if index < 0 else batch.column(index)
        columns.append(column if column.type == field.type else column.cast(field.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def partition_values(files: Sequence[str], base: str) -> dict[str, dict[str, str | None]]:
    """Each file's ``key=value`` directory names below ``base`` (values URI-decoded,
    ``__HIVE_DEFAULT_PARTITION__`` as None)."""
    out = {}
    for path in files:
        below = path[len(base):].lstrip("/").split("/")[:-1] if path.startswith(base) else []
        keys = {}
        for segment in below:
            key, eq, value = segment.partition("=")
            if eq and key:
                value = unquote(value)
                keys[unquote(key)] = None if value == NULL_PARTITION else value
        out[path] = keys
    return out


def partition_schema(partitions: dict[str, dict[str, str | None]], where: str) -> pa.Schema:
    """The partition columns in order of first appearance: int64 where every value is a
    plain integer (``7``, ``-3``; not ``007``), else text. Every file must name the same keys."""
    keysets = {tuple(keys) for keys in partitions.values()}
    if len(keysets) > 1:
        raise InputError(f"{where}: the files are not partitioned alike: {sorted(keysets)[:3]}; read one layout "
                         "at a time (a glob selects it)")
    names = next(iter(keysets), ())
    fields = []
    for name in names:
        values = [keys[name] for keys in partitions.values() if keys[name] is not None]
        plain = values and all(_plain_int(v) for v in values)
        fields.append(pa.field(name, pa.int64() if plain else pa.string()))
    return pa.schema(fields)


def _plain_int(text: str) -> bool:
    try:
        return str(int(text)) == text and -(2**63) <= int(text) < 2**63
    except ValueError:
        return False


# -- streams ---------------------------------------------------------------------------------------
class StreamSource(Source):
    """stdin or a FIFO: read once, as it comes; the schema is that of its beginning."""

    def __init__(self, stream: IO[bytes], display: str, fmt: str, compression: str | None):
        self.display = display
        self.path = Path(display)
        self.format = fmt
        self.spool: tempfile.TemporaryDirectory | None = None
        self.inner: Source | None = None
        self.rows = 0
        try:
            self.stream = decompressed(stream, compression)
            self._start()
        except InputError:
            raise
        except READ_ERRORS as exc:
            raise InputError(f"{display}: cannot be read as {fmt}: {exc}") from None

    def _start(self) -> None:
        if self.format == "parquet":  # random access needed: copy it to a private temporary file first
            self.spool = tempfile.TemporaryDirectory(prefix="emospark-stream-")
            path = os.path.join(self.spool.name, "stream.parquet")
            with open(path, "wb") as out:
                shutil.copyfileobj(self.stream, out, 1 << 20)
            self.inner = FileSource(resolve(path), os.path.dirname(path), [path], "parquet")
            self.schema = self.inner.schema
        elif self.format == "jsonl":
            self.blocks = line_blocks(self.stream)
            self.first = next(self.blocks, b"")
            self.schema = parse_json_block(self.first).schema if self.first else pa.schema([])
        else:
            block = STREAM_CSV_BLOCK
            if self.format == "tsv":
                head = self.stream.peek(1 << 16)[: 1 << 16]
                if looks_like_go_emotions(head.split(b"\n", 1)[0]):
                    self.format = "go_emotions"
            names, prefix = csv_header(self.stream, self.format, min(block, CSV_BLOCK))
            check_names(names, self.display)
            self.schema = pa.schema([(name, pa.string()) for name in names])
            whole = Prefixed(prefix, self.stream)
            opened = iter([whole])
            self.csv = csv_batches(lambda: next(opened), self.format, names, block, False, self.display)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        if self.inner is not None:
            yield from self.inner.batches()
            return
        parts = self._rows()
        while True:
            try:
                batch = next(parts)
            except StopIteration:
                return
            except InputError:
                raise
            except READ_ERRORS as exc:
                raise InputError(f"{self.display}: cannot read {self.format} after row {self.rows}: {exc}") from None
            yield batch
            self.rows += batch.num_rows

    def _rows(self) -> Iterator[pa.RecordBatch]:
        if self.format == "jsonl":
            for block in ([self.first] if self.first else []):
                yield from parse_json_block(block, self.schema).to_batches()
            for block in self.blocks:
                yield from parse_json_block(block, self.schema).to_batches()
        else:
            yield from self.csv

    def close(self) -> None:
        if self.spool is not None:
            self.spool.cleanup()
