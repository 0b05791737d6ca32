"""``emospark score --engine spark``: the same result as the pandas engine, from a Spark job.

Everything that can be checked is checked before the JVM starts (input, columns,
options, model, output directory), with the pandas engine's errors and exit codes.
Then Spark's readers read INPUT with the schema emospark reads (the column order and
types of ``--engine pandas``; CSV/TSV as text, with quoted newlines, quotes and CRLF),
rows keep their order across ``--partitions`` (range-partitioned on file and position),
:func:`emospark.spark.score` adds the result, and Spark's writers write part files into
a hidden sibling of OUTPUT, renamed to OUTPUT when the job has succeeded. CSV is
written so that emospark, pandas and Spark read it back unchanged (quotes doubled,
whitespace kept, ``multiLine``); JSON keeps null fields. Spark does not read stdin or
pipes: those need ``--engine pandas``.

Spark's own logging goes through a log4j2 configuration given to the JVM when it
starts: errors only, nothing with ``--quiet``. A line is written per finished partition.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from ..core.schema import DEFAULT_COLUMN  # noqa: F401  (documented default of --out-col)
from ..core.tables import check_column
from ..errors import (
    BundleError,
    EmosparkError,
    InputError,
    MissingExtraError,
    ModelNotFoundError,
    OutputError,
    UsageError,
    require,
)
from ..io import FLAT_FORMATS, WRITE_FORMATS, format_of, open_source
from .progress import Reporter

CSV_WRITE = {"header": "true", "quote": '"', "escape": '"', "ignoreLeadingWhiteSpace": "false",
             "ignoreTrailingWhiteSpace": "false", "encoding": "UTF-8"}
CSV_READ = {"header": "true", "multiLine": "true", "quote": '"', "escape": '"', "mode": "FAILFAST",
            "encoding": "UTF-8"}
SPARK_FORMATS = {
    "parquet": ("parquet", {}, {}),
    "csv": ("csv", CSV_READ, CSV_WRITE),
    "tsv": ("csv", {**CSV_READ, "sep": "\t"}, {**CSV_WRITE, "sep": "\t"}),
    "jsonl": ("json", {"mode": "FAILFAST"}, {"ignoreNullFields": "false"}),
}
"""format: (Spark source, read options, write options)."""

ERRORS = (UsageError, InputError, OutputError, BundleError, ModelNotFoundError, MissingExtraError)
ROW_ORDER = ("__emospark_file", "__emospark_row")


class SparkJobError(EmosparkError):
    """The Spark job failed for a reason emospark does not know (exit code 1)."""


def score_with_spark(args: argparse.Namespace, reporter: Reporter) -> None:
    """Run ``emospark score`` as a Spark job (see the module doc)."""
    refuse_streams(args.input)
    source = open_source(args.input, args.input_format)
    if source.format == "go_emotions":
        raise UsageError("go_emotions TSV input needs --engine pandas")
    out_format = format_of(Path(args.output), args.output_format, WRITE_FORMATS)
    check_column(source.schema, args.text_col, str(source.path), text=True)
    output = Path(args.output)
    if not output.parent.is_dir():
        raise OutputError(f"cannot write {output}: directory {output.parent} does not exist")
    require("pyspark", "spark", "--engine spark")
    from ..integrations.spark import check_options

    options = check_options(args.model, threshold=args.threshold, top_k=args.top_k, batch_size=args.batch_size,
                            threads=args.threads, rollups=args.rollup, long_texts=args.long_texts,
                            aggregate=args.aggregate, schema_version=args.schema_version)
    expand = args.expand or out_format in FLAT_FORMATS
    check_result_names(source.schema.names, args.out_col, expand, options, str(source.path))

    with spark_session(args, reporter) as spark:
        df = read_input(spark, source)
        partitions = args.partitions or spark.sparkContext.defaultParallelism
        scored = score_frame(df, args, options, partitions, out_format, expand)
        reporter.start("scoring with Spark", counted=False, input=str(source.path), output=str(output),
                       partitions=partitions)
        staging = output.with_name(f".{output.name}.{os.getpid()}.emospark-tmp")
        spark_format, _, write_options = SPARK_FORMATS[out_format]
        try:
            with partition_progress(spark, reporter, partitions), spark_errors():
                scored.write.mode("overwrite").format(spark_format).options(**write_options).save(str(staging))
            publish(staging, output)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    reporter.finish(output=str(output))


def refuse_streams(path: str) -> None:
    """Spark reads files and directories only: stdin and FIFOs are refused up front."""
    if path == "-" or (os.path.exists(path) and stat.S_ISFIFO(os.stat(path).st_mode)):
        raise UsageError(f"--engine spark reads files and directories, not stdin or pipes ({path}): use --engine "
                         "pandas (the default), or write the stream to a file first")


def check_result_names(names: list[str], out_col: str, expand: bool, options, where: str) -> None:
    """The result columns must not exist in the input (as with the pandas engine)."""
    import pyarrow as pa

    from ..core.scoring import score_type
    from ..core.tables import expand as flat
    from ..labels import GO_EMOTIONS

    result_type = score_type(GO_EMOTIONS, options.rollups, options.schema_version)
    empty = pa.array([], type=result_type)
    new = [name for name, _ in flat(empty, out_col)] if expand else [out_col]
    taken = [name for name in new if name in names]
    if taken:
        raise UsageError(f"{where} already has the columns {taken}: name the result otherwise with --out-col")


@contextlib.contextmanager
def spark_session(args: argparse.Namespace, reporter: Reporter) -> Iterator[Any]:
    """The active session if there is one (left running), else a new one, its JVM
    started with emospark's log4j2 configuration (stopped at the end)."""
    from pyspark.sql import SparkSession

    from ..integrations.spark import use_driver_python

    active = SparkSession.getActiveSession()
    if active is not None:
        use_driver_python(active.sparkContext)
        yield active
        return
    with tempfile.TemporaryDirectory(prefix="emospark-spark-") as tmp:
        config = Path(tmp) / "log4j2.properties"
        config.write_text(log4j2_properties("off" if reporter.mode == "quiet" else "error"))
        builder = (SparkSession.builder.master(args.master or "local[*]").appName("emospark score")
                   .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={config.as_uri()}")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.shuffle.partitions", str(args.partitions or 200)))
        with silenced_stderr(reporter.mode == "quiet"):  # the JVM's own warnings go where its stderr goes
            session = builder.getOrCreate()
        use_driver_python(session.sparkContext)
        try:
            yield session
        finally:
            session.stop()


def log4j2_properties(level: str) -> str:
    """Spark's console logging at ``level`` (error, off...), on stderr."""
    return "\n".join([
        f"rootLogger.level = {level}",
        "rootLogger.appenderRef.stderr.ref = console",
        "appender.console.type = Console",
        "appender.console.name = console",
        "appender.console.target = SYSTEM_ERR",
        "appender.console.layout.type = PatternLayout",
        "appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex",
        "",
    ])


@contextlib.contextmanager
def silenced_stderr(silence: bool) -> Iterator[None]:
    """With ``silence``, processes started inside (the JVM) get a closed-off stderr;
    this process's stderr is restored afterwards."""
    if not silence:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as sink:
            os.dup2(sink.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def read_input(spark, source):
    """INPUT as a Spark DataFrame with emospark's column names, order and types."""
    from pyspark.sql.pandas.types import from_arrow_schema
    from pyspark.sql.types import StringType, StructField, StructType

    spark_format, read_options, _ = SPARK_FORMATS[source.format]
    reader = spark.read.format(spark_format).options(**read_options)
    if source.format in ("csv", "tsv"):  # every column as text, as emospark reads them
        reader = reader.schema(StructType([StructField(name, StringType()) for name in source.schema.names]))
    elif source.format == "jsonl":
        reader = reader.schema(from_arrow_schema(source.schema))
    with spark_errors():
        df = reader.load(str(source.path.resolve()))
    if source.format in ("csv", "tsv"):  # CSV has no null: an empty field is the empty text, as emospark reads it
        from pyspark.sql import functions as F

        from ..integrations.spark import quoted

        df = df.select(*(F.coalesce(F.col(quoted(c)), F.lit("")).alias(c) for c in df.columns))
    return df


def score_frame(df, args: argparse.Namespace, options, partitions: int, out_format: str, expand: bool):
    """``df`` in ``partitions`` ordered partitions with the result column(s) added."""
    from pyspark.sql import functions as F

    from ..integrations.spark import quoted
    from ..integrations.spark.udf import udf_for

    columns = [F.col(quoted(c)) for c in df.columns]
    ordered = (df.withColumn(ROW_ORDER[0], F.input_file_name())
               .withColumn(ROW_ORDER[1], F.monotonically_increasing_id())
               .repartitionByRange(partitions, *ROW_ORDER).sortWithinPartitions(*ROW_ORDER))
    result = udf_for(options)(F.col(quoted(args.text_col)).cast("string"))
    scored = ordered.select(*columns, result.alias(args.out_col))
    if not expand:
        return scored
    return scored.select(*columns, *expanded(scored.schema[args.out_col].dataType, args.out_col,
                                             out_format in FLAT_FORMATS))


def expanded(result_type, out_col: str, flat: bool) -> list:
    """The result struct's fields as columns named as :func:`emospark.core.tables.expand`
    names them; with ``flat``, lists of labels as comma-separated text (as the CSV writer)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, StructType

    from ..integrations.spark import quoted
    from ..io import LIST_SEPARATOR

    result = quoted(out_col)
    columns = []
    for field in result_type.fields:
        path = f"{result}.{quoted(field.name)}"
        if isinstance(field.dataType, StructType):
            stem = out_col if field.name == "scores" else f"{out_col}_{field.name}"
            columns += [F.col(f"{path}.{quoted(sub.name)}").alias(f"{stem}_{sub.name}") for sub in field.dataType]
        elif flat and isinstance(field.dataType, ArrayType):
            columns.append(F.concat_ws(LIST_SEPARATOR, F.col(path)).alias(f"{out_col}_{field.name}"))
        else:
            columns.append(F.col(path).alias(f"{out_col}_{field.name}"))
    return columns


def publish(staging: Path, output: Path) -> None:
    """Replace OUTPUT by the finished staging directory."""
    try:
        if output.is_dir() and not output.is_symlink():
            shutil.rmtree(output)
        elif output.exists() or output.is_symlink():
            output.unlink()
        os.replace(staging, output)
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc}") from None


@contextlib.contextmanager
def partition_progress(spark, reporter: Reporter, partitions: int, every: float = 0.5) -> Iterator[None]:
    """A line per finished partition of the job's last stage, from the status tracker."""
    sc = spark.sparkContext
    group = f"emospark-score-{os.getpid()}-{time.monotonic_ns()}"
    sc.setJobGroup(group, "emospark score")
    done = threading.Event()
    shown = 0

    def poll() -> None:
        nonlocal shown
        tracker = sc.statusTracker()
        finished = 0
        for job_id in tracker.getJobIdsForGroup(group):
            job = tracker.getJobInfo(job_id)
            if job is None or not job.stageIds:
                continue
            stage = tracker.getStageInfo(max(job.stageIds))
            if stage is not None and stage.numTasks == partitions:
                finished = max(finished, stage.numCompletedTasks)
        while shown < finished:
            shown += 1
            partition_line(reporter, shown, partitions)

    def watch() -> None:
        while not done.wait(every):
            poll()

    thread = threading.Thread(target=watch, name="emospark-progress", daemon=True)
    thread.start()
    try:
        yield
        done.set()
        thread.join()
        poll()
    finally:
        done.set()
        sc.setLocalProperty("spark.jobGroup.id", None)


def partition_line(reporter: Reporter, done: int, total: int) -> None:
    if reporter.mode == "quiet":
        return
    if reporter.mode == "json":
        line = json.dumps({"event": "progress", "time": round(time.time(), 3), "partitions_done": done,
                           "partitions": total})
    else:
        line = f"emospark: partition {done}/{total} done"
    reporter.stream.write(line + "\n")
    reporter.stream.flush()


@contextlib.contextmanager
def spark_errors() -> Iterator[None]:
    """Spark's exceptions as emospark's errors, in one line: an emospark error raised on
    an executor keeps its kind (and so its exit code)."""
    try:
        yield
    except (EmosparkError, KeyboardInterrupt):
        raise
    except Exception as exc:  # Py4JJavaError, AnalysisException, PythonException...
        raise translated(exc) from None


def translated(exc: BaseException) -> EmosparkError:
    """The emospark error that ``exc`` (a Spark or Py4J exception) stands for."""
    from ..integrations.spark.udf import MISSING_EMOSPARK

    text = str(exc)
    for kind in ERRORS:
        found = re.search(rf"\b{kind.__name__}: (.+)", text)
        if found:
            return kind(found.group(1).strip())
    found = re.search(rf"RuntimeError: ({re.escape(MISSING_EMOSPARK)}.+)", text)
    if found:
        return MissingExtraError(found.group(1).strip())
    if re.search(r"PATH_NOT_FOUND|FileNotFoundException|MALFORMED_RECORD|Malformed|FAILFAST", text):
        return InputError(f"Spark cannot read the input: {first_line(text)}")
    return SparkJobError(f"the Spark job failed: {first_line(text)}")


def first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0][:500] if lines else "no message"
