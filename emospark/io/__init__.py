"""Reading and writing tables as streams of Arrow record batches, for the CLI.

- :mod:`~emospark.io.formats`: parquet, CSV/TSV, JSONL (and go_emotions TSV): suffixes,
  pyarrow reader options, writers, and what each format can hold;
- :mod:`~emospark.io.filesystems`: local paths and URIs (``s3://``, ``gs://``...)
  through ``pyarrow.fs``, globs, credentials kept out of every message;
- :mod:`~emospark.io.sources`: files, directories, hive datasets, globs, compressed
  files, stdin and FIFOs, as one schema and one ordered stream of batches;
- :mod:`~emospark.io.sinks`: atomic files, written-through stdout/devices/pipes,
  partitioned datasets and object-store outputs that appear only when complete.

Memory holds one batch at a time, whatever the size of the input.

>>> import tempfile, pyarrow as pa
>>> from pathlib import Path
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

from .filesystems import Location, redact, resolve
from .formats import (
    FLAT_FORMATS,
    GO_EMOTIONS_COLUMNS,
    LIST_SEPARATOR,
    READ_FORMATS,
    ROWS_PER_BATCH,
    WRITE_FORMATS,
    Writer,
    format_of,
    open_writer,
)
from .sinks import AtomicFile, Output, open_output
from .sources import Source, open_source

__all__ = [
    "FLAT_FORMATS", "GO_EMOTIONS_COLUMNS", "LIST_SEPARATOR", "READ_FORMATS", "ROWS_PER_BATCH", "WRITE_FORMATS",
    "AtomicFile", "Location", "Output", "Source", "Writer", "format_of", "open_output", "open_source",
    "open_writer", "redact", "resolve",
]
