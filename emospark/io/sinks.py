"""Where tables are written: a file appears whole or not at all; anything else is written through.

:func:`open_output` decides by what OUTPUT is:

- a **regular file** (or a name not taken yet) is written to an anonymous temporary
  file in its directory and given its name only on :meth:`Output.commit`, so a failed
  or killed run leaves nothing, and an older file stays as it was (:class:`AtomicFile`);
  ``no_clobber`` refuses to replace an existing file, also one that appears meanwhile;
- a **symlink** keeps being a link: the file it points to is replaced as above (or
  written through if it is a device or a pipe);
- ``-`` (**stdout**), a **character or block device** or a **named pipe** is written
  through, never replaced or removed (:class:`PassThrough`);
- a **directory with** ``partition_by`` becomes a hive-partitioned dataset
  (``key=value/part-00000.parquet``), written into a hidden sibling directory and put
  in place only when complete (:class:`PartitionedOutput`);
- a **URI** (``s3://``, ``gs://``, ...) is written to a local temporary file first; on
  commit it is uploaded under a hidden temporary key beside the target and then moved
  to its name, so the object appears only complete: an object store's upload stream
  completes on close even after an error, so nothing is streamed to the target itself.

``.gz``, ``.zst`` and ``.bz2`` suffixes compress CSV, TSV and JSONL output.

>>> import tempfile, pyarrow as pa
>>> d = Path(tempfile.mkdtemp())
>>> table = pa.table({"text": ["so happy", "meh"], "n": [1, 2]})
>>> with open_output(d / "t.jsonl.gz") as out:
...     out.write(table.schema, table.to_batches())
...     out.commit()
>>> import gzip; gzip.decompress((d / "t.jsonl.gz").read_bytes()).decode().splitlines()[0]
'{"text": "so happy", "n": 1}'
"""
from __future__ import annotations

import contextlib
import ctypes
import io
import os
import secrets
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from typing import IO, Iterable, Iterator, Sequence
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs

from ..errors import InputError, OutputError, UsageError
from .filesystems import Location, redact, resolve
from .formats import SUFFIX_OF, WRITE_FORMATS, name_format, open_writer
from .sources import NULL_PARTITION

MAX_OPEN_PARTITIONS = 64
"""Partition files open at once; the least recently used is closed beyond (a new part file follows)."""
SUCCESS = "_SUCCESS"
STDOUT = "<stdout>"
RENAME_EXCHANGE = 2
AT_FDCWD = -100


@contextlib.contextmanager
def output_errors(display: str) -> Iterator[None]:
    """OS and Arrow errors while writing as :class:`OutputError` naming ``display``."""
    try:
        yield
    except BrokenPipeError:
        if display == STDOUT:
            _quiet_stdout()
        raise OutputError(f"cannot write {display}: its reader closed the pipe before every row was written") from None
    except (OSError, pa.ArrowException) as exc:
        raise OutputError(f"cannot write {display}: {redact(str(exc))}") from None


# -- files -----------------------------------------------------------------------------------
class AtomicFile:
    """A binary file that appears at ``path`` only on :meth:`commit`.

    On Linux it is an anonymous ``O_TMPFILE`` inode in the target directory: if the
    process dies, even by SIGKILL, nothing is left behind. Elsewhere it is a hidden
    ``.<name>.*.emospark-tmp`` file beside the target, removed on any error. A file
    replaced keeps its permission bits. ``no_clobber``: an existing file is an error,
    also one created while this one was being written.
    """

    def __init__(self, path: str | os.PathLike, *, no_clobber: bool = False, display: str | None = None):
        self.path = Path(path)
        self.display = display or str(path)
        self.no_clobber = no_clobber
        self.tmp_name: Path | None = None
        parent = self.path.parent
        if not parent.is_dir():
            raise OutputError(f"cannot write {self.display}: directory {parent} does not exist")
        if self.path.is_dir():
            raise OutputError(f"cannot write {self.display}: it is a directory")
        self._refuse_clobber()
        try:
            self.mode = stat.S_IMODE(os.stat(self.path).st_mode)
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            self.mode = 0o666 & ~umask
        try:
            try:
                fd = os.open(parent, os.O_TMPFILE | os.O_WRONLY, 0o600)
            except (AttributeError, OSError):  # no O_TMPFILE here: a named temporary file
                fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".emospark-tmp", dir=parent)
                self.tmp_name = Path(name)
        except OSError as exc:
            raise OutputError(f"cannot write {self.display}: {exc}") from None
        self.file: IO[bytes] = os.fdopen(fd, "wb")

    def _refuse_clobber(self) -> None:
        if self.no_clobber and os.path.lexists(self.path):
            raise OutputError(f"{self.display} exists and --no-clobber keeps it: remove it or write elsewhere")

    def __enter__(self) -> "AtomicFile":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            if not self.file.closed:
                self.file.close()  # flushes: fails on a full disk
        except OSError as error:
            if exc_type is None:
                raise OutputError(f"cannot write {self.display}: {error}") from None
        finally:
            if self.tmp_name is not None and self.tmp_name.exists():
                self.tmp_name.unlink()

    def commit(self) -> None:
        """Flush to disk and give the file its name (replacing any older file, unless ``no_clobber``)."""
        try:
            self.file.flush()
            os.fchmod(self.file.fileno(), self.mode)
            os.fsync(self.file.fileno())
            if self.tmp_name is None:  # an anonymous inode: name it (then move it into place)
                if self.no_clobber:
                    _link_fd(self.file.fileno(), self.path)
                    self.file.close()
                    return
                self.tmp_name = self.path.with_name(f".{self.path.name}.{os.getpid()}.emospark-tmp")
                _link_fd(self.file.fileno(), self.tmp_name)
            self.file.close()
            if self.no_clobber:
                os.link(self.tmp_name, self.path)  # fails if the name was taken meanwhile
                os.unlink(self.tmp_name)
            else:
                os.replace(self.tmp_name, self.path)
        except FileExistsError:
            raise OutputError(f"{self.display} exists and --no-clobber keeps it: remove it or write elsewhere") from None
        except OSError as exc:
            raise OutputError(f"cannot write {self.display}: {exc}") from None


def _link_fd(fd: int, path: Path) -> None:
    """Give an ``O_TMPFILE`` inode a name: linkat(AT_SYMLINK_FOLLOW) on /proc/self/fd
    (os.link takes that path only when given a source directory descriptor)."""
    proc = os.open("/proc/self/fd", os.O_RDONLY)
    try:
        os.link(str(fd), path, src_dir_fd=proc, follow_symlinks=True)
    finally:
        os.close(proc)


class PassThrough:
    """stdout, a device or a named pipe: written as the rows come, never replaced."""

    def __init__(self, file: IO[bytes], display: str, *, close: bool):
        self.file = file
        self.display = display
        self.owned = close

    def __enter__(self) -> "PassThrough":
        return self

    def __exit__(self, *exc) -> None:
        try:
            if self.owned:
                self.file.close()
        except OSError:
            pass

    def commit(self) -> None:
        with output_errors(self.display):
            self.file.flush()


def _quiet_stdout() -> None:
    """After a broken pipe on stdout, point fd 1 at nowhere so that Python's exit does not
    complain again (the recipe of the Python docs, "Note on SIGPIPE")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


class ObjectFile:
    """A file on a remote filesystem (object store): written to a local temporary file,
    uploaded on :meth:`commit` to a hidden temporary key beside the target, then moved
    to the target (see the module doc)."""

    def __init__(self, location: Location, *, no_clobber: bool = False):
        self.location = location
        self.display = location.display
        self.no_clobber = no_clobber
        with output_errors(self.display):
            _check_remote_parent(location)
            info = location.info()
        if info.type == pafs.FileType.Directory:
            raise OutputError(f"cannot write {self.display}: it is a directory")
        self._refuse_clobber(info)
        self.file: IO[bytes] = tempfile.TemporaryFile(prefix="emospark-upload-")

    def _refuse_clobber(self, info: pafs.FileInfo | None = None) -> None:
        info = info or self.location.info()
        if self.no_clobber and info.type != pafs.FileType.NotFound:
            raise OutputError(f"{self.display} exists and --no-clobber keeps it: remove it or write elsewhere")

    def __enter__(self) -> "ObjectFile":
        return self

    def __exit__(self, *exc) -> None:
        self.file.close()

    def commit(self) -> None:
        with output_errors(self.display):
            self.file.flush()
            self.file.seek(0)
            upload(self.file, self.location, self.no_clobber)
            self.file.close()


def upload(file: IO[bytes], location: Location, no_clobber: bool = False) -> None:
    """Copy a local file to ``location`` through a hidden temporary key that is moved into
    place when complete (and removed on any failure)."""
    parent, _, name = location.path.rpartition("/")
    temporary = f"{parent}/.{name}.emospark-{os.getpid()}-{secrets.token_hex(4)}.tmp"
    filesystem = location.filesystem
    try:
        with filesystem.open_output_stream(temporary) as out:
            shutil.copyfileobj(file, out, 8 << 20)
        if no_clobber and location.info().type != pafs.FileType.NotFound:
            raise OutputError(f"{location.display} exists and --no-clobber keeps it: remove it or write elsewhere")
        filesystem.move(temporary, location.path)
    finally:
        with contextlib.suppress(OSError, pa.ArrowException):
            if filesystem.get_file_info(temporary).type != pafs.FileType.NotFound:
                filesystem.delete_file(temporary)


def _check_remote_parent(location: Location) -> None:
    """The bucket (container) of a remote path must exist: fail before scoring, not after."""
    bucket = location.path.split("/", 1)[0]
    if location.filesystem.get_file_info(bucket).type == pafs.FileType.NotFound:
        raise OutputError(f"cannot write {location.display}: the bucket '{bucket}' does not exist")


# -- tables ----------------------------------------------------------------------------------
class Unclosable(io.RawIOBase):
    """``file`` seen through a wrapper whose close only flushes (for compressors that close their sink)."""

    def __init__(self, file: IO[bytes]):
        self.target = file

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        return self.target.write(data)

    def close(self) -> None:
        if not self.closed:
            self.target.flush()
        super().close()


def _table_writer(file: IO[bytes], fmt: str, compression: str | None, schema: pa.Schema,
                  label_columns: Sequence[str]):
    """A writer of ``fmt`` on ``file``, compressed if asked; and what to close after it."""
    if compression is None:
        return open_writer(file, fmt, schema, label_columns), None
    stream = pa.CompressedOutputStream(Unclosable(file), compression)
    return open_writer(stream, fmt, schema, label_columns), stream


class Output:
    """A table OUTPUT: :meth:`write` the batches, then :meth:`commit`; leaving the
    ``with`` block without committing leaves no trace of a file or dataset."""

    display: str
    format: str

    def write(self, schema: pa.Schema, batches: Iterable[pa.RecordBatch], label_columns: Sequence[str] = ()) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> "Output":
        return self

    def __exit__(self, *exc) -> None:
        raise NotImplementedError


class FileOutput(Output):
    """One file (regular, written through, or remote) in one format."""

    def __init__(self, sink, fmt: str, compression: str | None):
        self.sink = sink
        self.display = sink.display
        self.format = fmt
        self.compression = compression

    def write(self, schema: pa.Schema, batches: Iterable[pa.RecordBatch], label_columns: Sequence[str] = ()) -> None:
        with output_errors(self.display):
            writer, stream = _table_writer(self.sink.file, self.format, self.compression, schema, label_columns)
        failed = True
        try:
            for batch in batches:
                with output_errors(self.display):
                    writer.write(batch)
            failed = False
        finally:
            try:
                with output_errors(self.display):
                    writer.close()  # the parquet footer: can fail on a full disk too
                    if stream is not None:
                        stream.close()
            except OutputError:
                if not failed:
                    raise

    def commit(self) -> None:
        self.sink.commit()

    def __exit__(self, *exc) -> None:
        self.sink.__exit__(*exc)


class PartitionedOutput(Output):
    """A hive-partitioned dataset: ``key=value`` directories (values URI-encoded, null as
    ``__HIVE_DEFAULT_PARTITION__``) of ``part-NNNNN`` files without the partition
    columns, rows in input order within each partition, and ``_SUCCESS`` when complete.
    Written into a hidden sibling directory (locally) and put in place on :meth:`commit`:
    an existing directory is swapped for it in one step. Remote: written locally, then
    each file uploaded as :func:`upload` does (the prefix must hold nothing yet); if an
    upload fails or the run is stopped (SIGTERM, Ctrl-C) mid-way, the files already
    uploaded are removed again."""

    def __init__(self, location: Location, fmt: str, compression: str | None, partition_by: Sequence[str], *,
                 no_clobber: bool = False):
        self.location = location
        self.display = location.display
        self.format = fmt
        self.compression = compression
        self.partition_by = list(partition_by)
        self.no_clobber = no_clobber
        self.suffix = SUFFIX_OF[fmt] + {"gzip": ".gz", "zstd": ".zst", "bz2": ".bz2", None: ""}[compression]
        with output_errors(self.display):
            if location.local:
                target = Path(location.path)
                if not target.parent.is_dir():
                    raise OutputError(f"cannot write {self.display}: directory {target.parent} does not exist")
                if target.exists() and not target.is_dir():
                    raise OutputError(f"cannot write the dataset {self.display}: it is a file, not a directory")
                self._refuse_clobber()
                self.staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.emospark-", suffix=".tmp",
                                                     dir=target.parent))
            else:
                _check_remote_parent(location)
                self._refuse_clobber()
                self.staging = Path(tempfile.mkdtemp(prefix="emospark-dataset-"))
        self.writers: dict[str, tuple] = {}  # partition dir -> (writer, compressor, file)
        self.parts: dict[str, int] = {}

    def _refuse_clobber(self) -> None:
        if self.location.local:
            taken = self.no_clobber and os.path.lexists(self.location.path)
        else:
            found = self.location.filesystem.get_file_info(pafs.FileSelector(self.location.path, allow_not_found=True))
            taken = bool(found)
            if taken and not self.no_clobber:
                raise OutputError(f"{self.display} already holds objects: write a dataset to an empty prefix")
        if taken:
            raise OutputError(f"{self.display} exists and --no-clobber keeps it: remove it or write elsewhere")

    def write(self, schema: pa.Schema, batches: Iterable[pa.RecordBatch], label_columns: Sequence[str] = ()) -> None:
        missing = [name for name in self.partition_by if name not in schema.names]
        if missing:
            raise InputError(f"--partition-by {missing}: no such column; the columns are {schema.names}")
        nested = [name for name in self.partition_by if pa.types.is_nested(schema.field(name).type)]
        if nested:
            raise UsageError(f"--partition-by {nested}: a partition column must hold plain values, not lists or structs")
        keep = [i for i, name in enumerate(schema.names) if name not in self.partition_by]
        file_schema = pa.schema([schema.field(i) for i in keep])
        try:
            for batch in batches:
                for directory, rows in split_by_partition(batch, self.partition_by):
                    with output_errors(self.display):
                        self._writer(directory, file_schema, label_columns).write(rows.select(keep))
        finally:
            failed = sys.exc_info()[0] is not None
            for directory in list(self.writers):
                try:
                    self._close(directory)
                except OutputError:
                    if not failed:
                        raise

    def _writer(self, directory: str, schema: pa.Schema, label_columns: Sequence[str]):
        if directory not in self.writers:
            if len(self.writers) >= MAX_OPEN_PARTITIONS:
                self._close(next(iter(self.writers)))
            number = self.parts.get(directory, 0)
            self.parts[directory] = number + 1
            path = self.staging / directory / f"part-{number:05d}{self.suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            file = open(path, "wb")
            writer, stream = _table_writer(file, self.format, self.compression, schema, label_columns)
            self.writers[directory] = (writer, stream, file)
        else:  # most recently used last
            self.writers[directory] = self.writers.pop(directory)
        return self.writers[directory][0]

    def _close(self, directory: str) -> None:
        writer, stream, file = self.writers.pop(directory)
        with output_errors(self.display):
            try:
                writer.close()
                if stream is not None:
                    stream.close()
            finally:
                file.close()

    def commit(self) -> None:
        with output_errors(self.display):
            (self.staging / SUCCESS).touch()
            if self.location.local:
                publish_directory(self.staging, Path(self.location.path), self.no_clobber, self.display)
                return
            self._refuse_clobber()
            files = sorted(p for p in self.staging.rglob("*") if p.is_file() and p.name != SUCCESS)
            uploaded: list[Location] = []  # and being uploaded
            try:
                for path in [*files, self.staging / SUCCESS]:  # _SUCCESS last
                    target = self.location.child(f"{self.location.path}/{path.relative_to(self.staging).as_posix()}")
                    uploaded.append(target)  # before: a signal may come between the move and the next line
                    with open(path, "rb") as f:
                        upload(f, target)
            except BaseException:  # a failure or a signal mid-way: no partial dataset stays behind
                for target in reversed(uploaded):
                    with contextlib.suppress(OSError, pa.ArrowException):
                        target.filesystem.delete_file(target.path)
                raise

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


def split_by_partition(batch: pa.RecordBatch, columns: Sequence[str]) -> Iterator[tuple[str, pa.RecordBatch]]:
    """``(key=value/... directory, rows)`` for each partition of ``batch``, rows in order.

    >>> b = pa.RecordBatch.from_pydict({"lang": ["en", "fr/be", None, "en"], "n": [1, 2, 3, 4]})
    >>> [(d, rows.column("n").to_pylist()) for d, rows in split_by_partition(b, ["lang"])]
    [('lang=en', [1, 4]), ('lang=fr%2Fbe', [2]), ('lang=__HIVE_DEFAULT_PARTITION__', [3])]
    """
    segments = []
    for name in columns:
        values = batch.column(name)
        text = values.dictionary_decode() if pa.types.is_dictionary(values.type) else values
        encoded = pc.dictionary_encode(text.cast(pa.string()), null_encoding="encode")
        names = [f"{quote(name, safe='')}={NULL_PARTITION if v is None else quote(v, safe='')}"
                 for v in encoded.dictionary.to_pylist()]
        segments.append(pa.DictionaryArray.from_arrays(encoded.indices, pa.array(names, pa.string())))
    paths = pc.binary_join_element_wise(*[s.dictionary_decode() for s in segments], "/")
    groups = pc.dictionary_encode(paths)
    order = pc.sort_indices(groups.indices)  # stable: rows keep their order within a partition
    counts = pc.value_counts(groups.indices)
    start = 0
    table = batch.take(order)
    for index, count in sorted(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True)):
        yield groups.dictionary[index].as_py(), table.slice(start, count)
        start += count


def publish_directory(staging: Path, target: Path, no_clobber: bool, display: str) -> None:
    """Put a finished directory in place: swapped with an existing one in one step
    (renameat2 RENAME_EXCHANGE) where the system can, else renamed in two."""
    if not os.path.lexists(target):
        os.rename(staging, target)
        return
    if no_clobber:
        raise OutputError(f"{display} exists and --no-clobber keeps it: remove it or write elsewhere")
    if not _exchange(staging, target):
        old = target.with_name(f".{target.name}.emospark-old-{os.getpid()}")
        os.rename(target, old)
        os.rename(staging, target)
        staging = old
    shutil.rmtree(staging, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    return renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0


# -- choosing ---------------------------------------------------------------------------------
def output_format(target: str, given: str | None, partitioned: bool) -> tuple[str, str | None]:
    """(format, compression) of an OUTPUT: named, or from its suffixes (a dataset
    directory without one: parquet)."""
    named, compression = name_format(target) if target != "-" else (None, None)
    fmt = given or named or ("parquet" if partitioned else None)
    if fmt is None:
        raise UsageError(f"cannot tell the format of {redact(target)} from its extension; name it with "
                         f"--output-format ({', '.join(WRITE_FORMATS)})")
    if fmt not in WRITE_FORMATS:
        raise UsageError(f"format {fmt!r} is not one of {list(WRITE_FORMATS)} here")
    if fmt == "parquet" and compression is not None:
        raise UsageError(f"{redact(target)}: parquet compresses its columns itself; drop the compression suffix")
    return fmt, compression


def open_output(target: str | os.PathLike, fmt: str | None = None, *, no_clobber: bool = False,
                partition_by: Sequence[str] = (), s3_endpoint: str | None = None) -> Output:
    """The OUTPUT for ``target`` (see the module doc), in format ``fmt`` or the one its
    suffixes name."""
    text = os.fspath(target)
    fmt, compression = output_format(text, fmt, bool(partition_by))
    if text == "-":
        if partition_by:
            raise UsageError("--partition-by writes a directory, not stdout ('-')")
        sys.stdout.flush()
        return FileOutput(PassThrough(sys.stdout.buffer, STDOUT, close=False), fmt, compression)
    location = resolve(text, s3_endpoint=s3_endpoint)
    if partition_by:
        return PartitionedOutput(location, fmt, compression, partition_by, no_clobber=no_clobber)
    if not location.local:
        return FileOutput(ObjectFile(location, no_clobber=no_clobber), fmt, compression)
    path = location.path
    real = os.path.realpath(path)
    try:
        mode = os.stat(real).st_mode
    except OSError:
        mode = None
    if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)):
        try:
            file = os.fdopen(os.open(path, os.O_WRONLY), "wb")  # no O_CREAT, no O_TRUNC: written through
        except OSError as exc:
            raise OutputError(f"cannot write {text}: {exc}") from None
        return FileOutput(PassThrough(file, text, close=True), fmt, compression)
    if mode is not None and stat.S_ISSOCK(mode):
        raise OutputError(f"cannot write {text}: it is a socket")
    return FileOutput(AtomicFile(real, no_clobber=no_clobber, display=text), fmt, compression)
