"""The ``emospark`` command line: score files, evaluate a model, list models, show versions.

    emospark score reviews.parquet scored.parquet --text-col body
    emospark eval dev.tsv --json dev-metrics.json
    emospark models
    emospark info

Run ``emospark COMMAND --help`` for each command's options; docs/cli.md has the rest.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import textwrap
import traceback
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from .. import __version__
from ..bundles.inventory import environment, model_statuses
from ..bundles.locate import local_dirs, resolve
from ..core.metrics import tune_thresholds
from ..core.model import AGGREGATES, LONG_TEXTS, EmotionModel, load
from ..core.rollups import ROLLUPS
from ..core.schema import DEFAULT_COLUMN, SCHEMA_VERSION, SCHEMA_VERSIONS
from ..core.tables import BatchScorer
from ..core.thresholds import ThresholdFile, check_threshold
from ..errors import (
    BundleError,
    EmosparkError,
    InputError,
    MissingExtraError,
    ModelNotFoundError,
    OutputError,
    UsageError,
)
from ..io import FLAT_FORMATS, READ_FORMATS, WRITE_FORMATS, AtomicFile, open_output, open_source
from .check import run_check
from .errors import (
    ArgumentFailure,
    ArgumentParser,
    add_debug_option,
    argument_type,
    internal_error_message,
    one_line,
    scan_argv,
    unwrap,
)
from .evaluation import evaluate, predict_all, read_labelled
from .progress import Reporter
from .spark_engine import score_with_spark


class Terminated(EmosparkError):
    """The process received SIGTERM."""


class InternalError(Exception):
    """An unexpected error (a bug), as reported on one line (exit code 1)."""


EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (UsageError, 2),
    (InputError, 3),
    (OutputError, 4),
    (BundleError, 5),
    (ModelNotFoundError, 5),
    (MissingExtraError, 6),
    (KeyboardInterrupt, 130),
    (Terminated, 143),
)

EXIT_HELP = """exit codes:
  0    success
  1    internal error (a bug: please report it; --debug prints the traceback)
  2    usage: bad or conflicting options, unknown format or label
  3    input: missing or unreadable file, missing or non-text column, bad row,
       bad threshold file
  4    output: the output cannot be written (missing or read-only directory...)
  5    model: the model cannot be found, its manifest or files are damaged,
       or EMOSPARK_MODELS is invalid
  6    an optional dependency is missing (the message says what to install)
  130  interrupted (Ctrl-C); 143 terminated (SIGTERM). No partial output is left."""


def exit_code(exc: BaseException) -> int:
    """The documented exit code of an error (1 for anything unexpected)."""
    return next((code for kind, code in EXIT_CODES if isinstance(exc, kind)), 1)


@contextmanager
def options_checked() -> Iterator[None]:
    """Plain ValueErrors raised while applying options (thresholds, overlap...) are usage errors."""
    try:
        yield
    except EmosparkError:
        raise
    except ValueError as exc:
        raise UsageError(str(exc)) from None


# -- argument types ----------------------------------------------------------------------------
def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


@argument_type
def threshold_arg(value: str) -> float | ThresholdFile:
    """A number in [0, 1], or a JSON file {label: threshold} (e.g. from eval --tune-thresholds)
    or [one threshold per label]: a bad number is a usage error (exit 2), a file that cannot
    be read or holds anything else an InputError (exit 3)."""
    try:
        number = float(value)
    except ValueError:
        if Path(value).exists() or value.lower().endswith(".json") or "/" in value or "\\" in value:
            return ThresholdFile.read(value)
        raise argparse.ArgumentTypeError(
            f"{value!r} is neither a number in [0, 1] nor a threshold file (FILE.json)") from None
    if not 0.0 <= number <= 1.0:  # NaN fails too
        raise argparse.ArgumentTypeError(f"a threshold must lie in [0, 1], got {value}")
    return number


def file_thresholds(args: argparse.Namespace) -> None:
    """Check a ``--threshold FILE`` against the labels of the chosen model (read from its
    manifest: nothing is loaded yet), so that its errors name the file (exit 3) and the
    engines get plain values."""
    if isinstance(getattr(args, "threshold", None), ThresholdFile):
        labels = resolve(args.model, download=args.download).labels
        args.threshold = check_threshold(args.threshold, labels)


# -- the parser ---------------------------------------------------------------------------------
def _common_parsers() -> tuple[argparse.ArgumentParser, ...]:
    """Option groups shared by commands: input data, model, progress and logs."""
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--text-col", default="text", help="column holding the texts (default: text)")
    data.add_argument("--input-format", choices=READ_FORMATS,
                      help="override the format given by the input's extension; required for stdin ('-')")
    model = argparse.ArgumentParser(add_help=False)
    m = model.add_argument_group("model")
    m.add_argument("--model", metavar="NAME|DIR",
                   help="registered model name (see `emospark models`) or bundle directory; default: the bundled "
                        "minilm-l6-go-emotions")
    m.add_argument("--download", action="store_true",
                   help="allow downloading a registered seed model from the Hugging Face Hub (emospark[hub])")
    m.add_argument("--batch-size", type=positive_int, default=32, metavar="N",
                   help="texts per encoder run (default 32)")
    m.add_argument("--threads", type=positive_int, metavar="N",
                   help="encoder batches run at once, one core each (default: one per core)")
    m.add_argument("--long-texts", choices=LONG_TEXTS, default="chunk",
                   help="texts longer than the encoder's window (128 tokens for the default model): split into "
                        "overlapping windows and aggregate them (chunk, default; costs about one encoder run per "
                        "95 tokens), or score the first window only (truncate)")
    m.add_argument("--aggregate", choices=AGGREGATES, default="max",
                   help="how window scores of a long text combine (default max)")
    log = argparse.ArgumentParser(add_help=False)
    g = log.add_argument_group("progress and logs (stderr)")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary, only errors")
    g.add_argument("--log-format", choices=("text", "json"), default="text",
                   help="text (a live progress line on a terminal, one summary line otherwise) or json "
                        "(one JSON event per line: start, progress, done, error)")
    return data, model, log


def _command(commands, name: str, summary: str, description: str, examples: Sequence[str],
             parents: Sequence[argparse.ArgumentParser] = ()) -> argparse.ArgumentParser:
    """A sub-command whose --help ends with examples and the exit codes."""
    paragraphs = [textwrap.fill(part, 79, break_on_hyphens=False) for part in description.split("\n\n")]
    command = commands.add_parser(
        name, parents=list(parents), formatter_class=argparse.RawDescriptionHelpFormatter, help=summary,
        description="\n\n".join(paragraphs),
        epilog="examples:\n" + "".join(f"  {e}\n" for e in examples) + "\n" + EXIT_HELP,
    )
    add_debug_option(command)
    return command


def build_parser() -> argparse.ArgumentParser:
    """The ``emospark`` argument parser, with one sub-parser per command."""
    parser = ArgumentParser(
        prog="emospark",
        description="go_emotions emotion scores (28 labels) for text columns in files.",
        epilog=EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"emospark {__version__}")
    add_debug_option(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data, model, log = _common_parsers()

    score = _command(
        commands, "score", "add emotion scores to parquet, CSV/TSV or JSONL files, datasets and streams",
        "Read INPUT in batches (bounded memory, any size), add the emotions of --text-col to every "
        "row and write OUTPUT, keeping every input column and the row order. A file OUTPUT appears "
        "only when the whole file is written: a failed or interrupted run leaves none.\n\n"
        "INPUT: a file (.parquet, .csv, .tsv, .jsonl, optionally .gz/.zst/.bz2), a directory or glob "
        "of files (read in sorted path order; key=value directories add partition columns), '-' "
        "(stdin, with --input-format), a named pipe, or a URI (s3://bucket/key, gs://, abfs://, "
        "hdfs://). OUTPUT: a file, '-' (stdout, logs stay on stderr), a device or pipe (written "
        "through), a directory with --partition-by, or a URI (uploaded when complete).\n\n"
        "Result: a struct column (default 'emotions') with 'scores' (one float per label), 'labels' "
        "(those reaching their thresholds) and one struct per --rollup; or, with --expand, flat "
        "columns emotions_<label>, emotions_labels, emotions_<rollup>_<group>. CSV/TSV output is "
        "always expanded, its label lists written as comma-separated text.",
        ["emospark score reviews.parquet scored.parquet --text-col body --rollup sentiment",
         "emospark score comments.csv scored.jsonl --top-k 3 --threshold 0.4 --quiet",
         "cat comments.jsonl | emospark score - - --input-format jsonl --output-format jsonl | jq .emotions.top",
         "emospark score 'events/lang=*/*.parquet' scored/ --partition-by lang",
         "emospark score s3://bucket/in/ s3://bucket/out.parquet --s3-endpoint http://127.0.0.1:9000"],
        [data, model, log],
    )
    score.add_argument("input", metavar="INPUT",
                       help="file, directory, glob, '-' (stdin), named pipe or URI (s3://...)")
    score.add_argument("output", metavar="OUTPUT",
                       help="file (replaced when complete), '-' (stdout), device, pipe, dataset directory "
                            "(--partition-by) or URI")
    score.add_argument("--out-col", default=DEFAULT_COLUMN,
                       help=f"name of the result column, or prefix of the expanded ones (default: {DEFAULT_COLUMN})")
    score.add_argument("--expand", action="store_true", help="flat result columns instead of one struct")
    score.add_argument("--rollup", action="append", choices=list(ROLLUPS), default=[],
                       help="add group scores (max of member scores) per GoEmotions paper grouping; repeatable")
    score.add_argument("--threshold", type=threshold_arg, metavar="T|FILE.json",
                       help="one threshold for every label, or a JSON file {label: threshold} (e.g. from "
                            "`emospark eval --tune-thresholds`); default: the model's per-label thresholds")
    score.add_argument("--top-k", type=positive_int, metavar="K",
                       help="keep at most the K most probable labels that reach their thresholds")
    score.add_argument("--schema-version", type=int, choices=SCHEMA_VERSIONS, default=SCHEMA_VERSION,
                       help="result schema: 2 (default) adds top and top_score; 1 is emospark 0.1's, to append to older tables")
    score.add_argument("--output-format", choices=WRITE_FORMATS,
                       help="override the format given by OUTPUT's extension; required for stdout ('-')")
    score.add_argument("--no-clobber", action="store_true",
                       help="refuse to replace an existing OUTPUT file or directory (exit 4), also one that "
                            "appears while scoring")
    score.add_argument("--partition-by", nargs="+", action="extend", default=[], metavar="COL",
                       help="write OUTPUT as a hive-partitioned dataset directory (COL=value/part-00000.parquet), "
                            "put in place only when complete")
    score.add_argument("--s3-endpoint", metavar="URL",
                       help="endpoint of an S3-compatible store (MinIO, Ceph...) for s3:// INPUT and OUTPUT, e.g. "
                            "http://127.0.0.1:9000 (default: AWS, or $AWS_ENDPOINT_URL_S3)")
    score.add_argument("--engine", choices=("pandas", "spark"), default="pandas",
                       help="pandas: stream Arrow batches through this process (default); spark: a Spark job, "
                            "OUTPUT then is a directory of part files (needs emospark[spark])")
    score.add_argument("--master", help="Spark master URL for --engine spark (default local[*])")
    score.add_argument("--partitions", type=positive_int, metavar="N",
                       help="--engine spark: partitions (part files) to score in, rows kept in order "
                            "(default: one per core, Spark's default parallelism)")
    score.set_defaults(run=run_score)

    ev = _command(
        commands, "eval", "precision, recall and F1 of a model on labelled data",
        "Score the texts of DATA and compare with its labels: precision, recall and F1 per label, "
        "macro and support-weighted averages, at the model's thresholds and at 0.5, printed as a "
        "table on stdout.\n\nDATA: the go_emotions TSV layout (text, comma-separated label ids, "
        "id; no header), or parquet/CSV/JSONL with a text column and a labels column holding "
        "label ids or names, as a list or as comma-separated text.",
        ["emospark eval dev.tsv --json dev-metrics.json --tune-thresholds my-thresholds.json",
         "emospark score new.parquet out.parquet --threshold my-thresholds.json",
         "emospark eval labelled.parquet --text-col body --labels-col gold"],
        [data, model, log],
    )
    ev.add_argument("data", metavar="DATA", help="labelled file")
    ev.add_argument("--labels-col", default="labels", help="column holding the true labels (default: labels)")
    ev.add_argument("--json", type=Path, metavar="OUT.json", help="also write all figures as JSON")
    ev.add_argument("--tune-thresholds", type=Path, metavar="OUT.json",
                    help="tune per-label thresholds (best F1) on DATA and write them as {label: threshold}, the "
                         "format of a bundle's classifier/thresholds.json and of `score --threshold`")
    ev.set_defaults(run=run_eval)

    models = _command(
        commands, "models", "list the registered models and where they are found, or check a bundle",
        "Registered models: where each is found on this machine (nothing is downloaded), its size, "
        "whether its files match the manifest's sha256, and its license.\n\n"
        "With --check DIR: check the bundle directory DIR (manifest fields, files, sha256, thresholds, "
        "that the encoder, tokenizer and classifier load and fit together, a trial run at max_length) and "
        "print every problem found; exit 5 if there is any.",
        ["emospark models", "EMOSPARK_MODELS=/data/models emospark models", "emospark models --check ./my-bundle"],
        [log])
    models.add_argument("--check", metavar="DIR", help="check this bundle directory and list what is wrong")
    models.set_defaults(run=run_models)
    _command(commands, "info", "versions, onnxruntime providers and model search paths",
             "Versions of emospark and its dependencies, onnxruntime execution providers, CPUs, and where "
             "models are looked for.", ["emospark info"]).set_defaults(run=run_info)
    return parser


# -- commands -------------------------------------------------------------------------------------
def load_model(args: argparse.Namespace) -> EmotionModel:
    with options_checked():
        return load(args.model, threads=args.threads, batch_size=args.batch_size, download=args.download,
                    long_texts=args.long_texts, aggregate=args.aggregate)


def run_score(args: argparse.Namespace, reporter: Reporter) -> None:
    if args.engine == "spark":
        score_with_spark(args, reporter)
        return
    with ExitStack() as stack:  # open both ends first: fail before loading the model, not after
        source = stack.enter_context(open_source(args.input, args.input_format, s3_endpoint=args.s3_endpoint))
        output = stack.enter_context(open_output(args.output, args.output_format, no_clobber=args.no_clobber,
                                                 partition_by=args.partition_by, s3_endpoint=args.s3_endpoint))
        model = load_model(args)
        with options_checked():
            scorer = BatchScorer(model, args.text_col, out_col=args.out_col, threshold=args.threshold,
                                 top_k=args.top_k, rollups=args.rollup, schema_version=args.schema_version,
                                 expand=args.expand or output.format in FLAT_FORMATS)
        schema = scorer.output_schema(source.schema, source.display)
        reporter.start("scoring", total=source.count_rows(), input=source.display, output=output.display,
                       model=model.name)
        labels = [f"{scorer.prefix}_labels"] if scorer.expand else []
        output.write(schema, scored_batches(source, scorer, reporter), label_columns=labels)
        output.commit()
    reporter.finish(output=output.display)
    reporter.warn(scorer.not_english_message(), not_english=scorer.english[False])


def scored_batches(source, scorer: BatchScorer, reporter: Reporter) -> Iterator:
    """The source's batches with the result added, progress reported per batch."""
    for batch in source.batches():  # its read errors come as InputError
        yield scorer(batch)
        reporter.advance(batch.num_rows)


def run_eval(args: argparse.Namespace, reporter: Reporter) -> None:
    source = open_source(args.data, args.input_format)
    with source, ExitStack() as stack:  # open the outputs first: fail before scoring, not after
        outputs = {name: stack.enter_context(AtomicFile(path))
                   for name, path in (("json", args.json), ("thresholds", args.tune_thresholds)) if path}
        model = load_model(args)
        texts, y = read_labelled(source, args.text_col, args.labels_col, model.labels)
        reporter.start("evaluating", total=len(texts), data=str(source.path), model=model.name)
        proba = predict_all(model, texts, reporter)
        tuned = tune_thresholds(y, proba) if "thresholds" in outputs else None
        result = {"data": str(source.path), **evaluate(model, y, proba, tuned)}
        print(eval_table(result))
        if tuned is not None:
            write_json(outputs["thresholds"], dict(zip(model.labels, tuned.tolist(), strict=True)))
        if "json" in outputs:
            write_json(outputs["json"], result)
    reporter.finish(**{name: str(out.path) for name, out in outputs.items()})


def write_json(out: AtomicFile, value: Any) -> None:
    out.file.write((json.dumps(value, indent=2) + "\n").encode("utf-8"))
    out.commit()


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (readable as plain text too)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def eval_table(result: dict) -> str:
    """The figures of :func:`emospark.cli.evaluation.evaluate` laid out like the model cards."""
    settings = [("model thresholds", "at_model_thresholds"), ("threshold 0.5", "at_0.5"),
                ("tuned on this data", "at_tuned_thresholds"),
                ("cross-fitted (tuned on one half, scored on the other)", "cross_fitted")]
    averages = [
        (f"{avg}, {title}", *(f"{result[key][avg][m]:.4f}" for m in ("precision", "recall", "f1")))
        for title, key in settings if key in result for avg in ("macro", "weighted")
    ]
    intervals = result["f1_intervals"]["per_label"]
    interval = lambda lab: "-" if None in intervals[lab] else "{:.3f}-{:.3f}".format(*intervals[lab])  # noqa: E731
    per_label = [
        (lab, f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1']:.4f}", interval(lab),
         f"{result['cross_fitted']['per_label'][lab]['f1']:.4f}", m["support"], f"{m['threshold']:.2f}")
        for lab, m in result["at_model_thresholds"]["per_label"].items()
    ]
    return "\n\n".join([
        f"# {result['model']} on {result['data']} ({result['rows']:,} texts)",
        markdown_table(("", "precision", "recall", "F1"), averages),
        "## Per label, at the model's thresholds",
        markdown_table(("label", "precision", "recall", "F1", "F1 95% CI (bootstrap)", "F1 cross-fitted",
                        "support", "threshold"), per_label),
    ])


def run_models(args: argparse.Namespace, reporter: Reporter) -> None:
    if args.check is not None:
        run_check(args.check)
        return
    local_dirs()  # a bad EMOSPARK_MODELS is an error (exit 5), not a model reported missing
    rows = [
        (s.name, s.location or "not on this machine", "-" if s.size_bytes is None else f"{s.size_bytes / 1e6:.1f} MB",
         s.sha256, s.license)
        for s in model_statuses()
    ]
    print(markdown_table(("model", "found at", "size", "sha256", "license"), rows))


def run_info(args: argparse.Namespace, reporter: Reporter) -> None:
    pairs = environment()
    width = max(len(name) for name, _ in pairs)
    print("\n".join(f"{name:<{width}}  {value}" for name, value in pairs))


# -- entry point ------------------------------------------------------------------------------
def _terminate(signum: int, frame: Any) -> None:
    raise Terminated("terminated by SIGTERM")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see ``emospark --help``). Every
    failure is one line on stderr (see :mod:`emospark.cli.errors`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    seen = scan_argv(argv)
    reporter = Reporter(sys.stderr, log_format=seen.log_format, quiet=seen.quiet)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version
            return exc.code if isinstance(exc.code, int) else 0
        reporter = Reporter(sys.stderr, log_format=getattr(args, "log_format", seen.log_format),
                            quiet=getattr(args, "quiet", seen.quiet))
        file_thresholds(args)
        args.run(args, reporter)
    except (EmosparkError, KeyboardInterrupt, ArgumentFailure) as exc:
        exc = unwrap(exc)
        code = exit_code(exc)
        reporter.error(one_line(exc) if str(exc) else Terminated("interrupted"), code)
        return code
    except Exception as exc:  # a bug
        if seen.debug:
            traceback.print_exc()
        reporter.error(InternalError(internal_error_message(exc, seen.debug)), 1)
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0
