"""How the command line fails: one line on stderr (a JSON ``error`` event with
``--log-format json``) and the documented exit code, for bad arguments too; a traceback
only with ``--debug``.

- :class:`ArgumentParser` turns argparse's own errors (unknown option, bad choice, missing
  argument) into :class:`~emospark.errors.UsageError` (exit 2) instead of printing usage and
  exiting, so they are reported like every other error.
- :func:`scan_argv` reads ``--log-format``, ``--quiet`` and ``--debug`` from the raw
  arguments first, so that an error found while parsing the others is reported as asked.
- :func:`argument_type` lets an argument type function raise an ``EmosparkError`` of its
  own class (a threshold file that cannot be read is an ``InputError``, exit 3), which
  argparse would otherwise turn into a usage error.

>>> scan_argv(["score", "in.csv", "out.csv", "--log-format=json", "--", "--debug"])
ArgvOptions(log_format='json', quiet=False, debug=False)
"""
from __future__ import annotations

import argparse
import functools
import traceback
from dataclasses import dataclass
from typing import Any, Callable, NoReturn, Sequence

from ..errors import EmosparkError, UsageError


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser whose errors raise :class:`UsageError` naming the command
    (its sub-parsers are of this class too)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


class ArgumentFailure(Exception):
    """Carries an ``EmosparkError`` raised by an argument type function past argparse
    (which turns every ``ValueError`` into a usage error); :func:`unwrap` takes it out."""


def argument_type(function: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse ``type`` whose ``EmosparkError`` s keep their class (and exit code);
    its ``argparse.ArgumentTypeError`` s stay usage errors."""

    @functools.wraps(function)
    def checked(value: str) -> Any:
        try:
            return function(value)
        except EmosparkError as exc:
            raise ArgumentFailure(exc) from None

    return checked


def unwrap(exc: BaseException) -> BaseException:
    """The error an :class:`ArgumentFailure` carries, or ``exc`` itself."""
    return exc.args[0] if isinstance(exc, ArgumentFailure) else exc


@dataclass(frozen=True)
class ArgvOptions:
    """How to report, as read from the raw arguments before parsing them."""

    log_format: str = "text"
    quiet: bool = False
    debug: bool = False


def scan_argv(argv: Sequence[str]) -> ArgvOptions:
    """``--log-format`` (also ``--log-format=json`` and unambiguous abbreviations such as
    ``--log-f json``), ``-q``/``--quiet`` and ``--debug`` in ``argv``, up to ``--``."""
    log_format, quiet, debug = "text", False, False
    args = list(argv)
    for i, arg in enumerate(args):
        if arg == "--":
            break
        name, eq, value = arg.partition("=")
        if len(name) >= 6 and "--log-format".startswith(name):
            value = value if eq else (args[i + 1] if i + 1 < len(args) else "")
            log_format = "json" if value == "json" else "text"
        elif arg in ("-q", "--quiet") or (len(arg) >= 4 and "--quiet".startswith(arg)):
            quiet = True
        elif len(arg) >= 4 and "--debug".startswith(arg):
            debug = True
    return ArgvOptions(log_format, quiet, debug)


def one_line(exc: BaseException) -> BaseException:
    """``exc`` with its message on one line (its lines joined by `` | ``), of the same class.

    >>> one_line(ValueError("model not found. Put the files here:\\n  /a\\n  /b"))
    ValueError('model not found. Put the files here: | /a | /b')
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if len(lines) <= 1 and "\n" not in str(exc):
        return exc
    try:
        return type(exc)(" | ".join(lines) or repr(str(exc)))
    except Exception:  # noqa: BLE001 - a class that takes other arguments
        return exc


def internal_error_message(exc: BaseException, debug: bool) -> str:
    """The one line shown for an unexpected error (a bug), with the traceback only when
    ``debug``."""
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" at {where.filename.rsplit('/', 1)[-1]}:{where.lineno}" if where else ""
    hint = "" if debug else "; run again with --debug for the traceback"
    return f"internal error (a bug in emospark, please report it): {type(exc).__name__}: {exc}{at}{hint}"


def add_debug_option(parser: argparse.ArgumentParser) -> None:
    """``--debug`` (read by :func:`scan_argv`; accepted by every command)."""
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="on an unexpected error, print the Python traceback")
