"""Exceptions raised by emospark.

All of them keep their message as their only argument, so they pickle and cross
process boundaries (Spark workers, multiprocessing) unchanged.
"""
from __future__ import annotations


class EmosparkError(Exception):
    """Base class of every error emospark raises on purpose."""


class BundleError(EmosparkError, ValueError):
    """A model bundle is incomplete, altered or inconsistent."""


class ModelNotFoundError(EmosparkError, LookupError):
    """A model name or path cannot be resolved to files on this machine."""


class MissingExtraError(EmosparkError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class UsageError(EmosparkError, ValueError):
    """Options or arguments that cannot work together or name nothing valid."""


class InputError(EmosparkError, ValueError):
    """Input data cannot be read or scored; the message names the file, column and row."""


class OutputError(EmosparkError):
    """A result cannot be written where it was asked to go."""


def require(module: str, extra: str, purpose: str):
    """Import ``module`` or raise :class:`MissingExtraError` with an install hint.

    >>> require("json", "none", "testing").__name__
    'json'
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{purpose} needs the '{module}' package: pip install \"emospark[{extra}]\""
        ) from exc


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages.

    >>> shown("x" * 100, 30)
    "'xxxxxxxxxxxxxx...(102 chars)"
    >>> shown([0.5, "a"])
    "[0.5, 'a']"
    """
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__ must not hide the real error
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else f"{text[: max(limit - 15, 1)]}...({len(text)} chars)"
