"""Scoring options, checked once: how a model is loaded (:class:`LoadOptions`: long texts,
batches, threads) and what a result holds (:func:`check_rollups`, :func:`check_top_k`).

Every check raises :class:`~emospark.errors.UsageError` (CLI exit 2) naming the option
and the bad value; a string where a list was meant (``rollups="sentiment"``) is read as
that one name, never as its characters. The Spark entry points run the same checks on
the driver.

>>> LoadOptions(long_texts="truncate", batch_size=8)
LoadOptions(long_texts='truncate', aggregate='max', overlap=None, batch_size=8, threads=None)
>>> check_rollups("sentiment"), check_rollups(["ekman", "sentiment"])
(('sentiment',), ('ekman', 'sentiment'))
>>> check_rollups(["sentiment", "sentiment"])
Traceback (most recent call last):
...
emospark.errors.UsageError: rollups: 'sentiment' is given twice; give each roll-up once
>>> LoadOptions(overlap=-1)
Traceback (most recent call last):
...
emospark.errors.UsageError: options: overlap must be an integer >= 0, got -1
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..checks import choice, kind, positive_int
from ..errors import UsageError, shown
from .rollups import ROLLUPS
from .schema import SCHEMA_VERSIONS

LONG_TEXTS = ("chunk", "truncate")
AGGREGATES = ("max", "mean")
MAX_BATCH_SIZE = 1 << 20
MAX_THREADS = 1024


@dataclass(frozen=True)
class LoadOptions:
    """The options of :func:`emospark.load` beyond the model: checked on creation.

    ``long_texts``: ``"chunk"`` or ``"truncate"``; ``aggregate``: ``"max"`` or ``"mean"``;
    ``overlap``: tokens shared by consecutive windows, an integer >= 0 (its upper bound
    depends on the model's window and is checked when the tokenizer loads), or None for
    a quarter window; ``batch_size``: texts per encoder run, 1 to 2**20; ``threads``:
    encoder batches at once, 1 to 1024, or None for one per core."""

    long_texts: str = "chunk"
    aggregate: str = "max"
    overlap: int | None = None
    batch_size: int = 32
    threads: int | None = None

    def __post_init__(self) -> None:
        choice(self.long_texts, LONG_TEXTS, "options", "long_texts")
        choice(self.aggregate, AGGREGATES, "options", "aggregate")
        if self.overlap is not None:
            object.__setattr__(self, "overlap", positive_int(self.overlap, "options", "overlap", at_least=0))
        object.__setattr__(self, "batch_size", check_batch_size(self.batch_size))
        if self.threads is not None:
            object.__setattr__(self, "threads", positive_int(self.threads, "options", "threads", at_most=MAX_THREADS))


def check_batch_size(value: Any, field: str = "batch_size") -> int:
    """A batch size: an integer in [1, 2**20]."""
    return positive_int(value, "options", field, at_most=MAX_BATCH_SIZE)


def check_top_k(value: Any) -> int | None:
    """``None`` (every label that passes) or a positive integer."""
    return None if value is None else positive_int(value, "options", "top_k")


def check_rollups(names: Any) -> tuple[str, ...]:
    """Roll-up names as a tuple: one name (a string) or an iterable of names, each one
    of :data:`emospark.core.rollups.ROLLUPS` and given once; ``None`` is none."""
    if names is None:
        return ()
    if isinstance(names, str):
        names = (names,)
    elif not isinstance(names, Iterable) or isinstance(names, (bytes, dict)):
        raise UsageError(f"rollups: {kind(names)} is not a list of roll-up names; give e.g. ['sentiment'], "
                         f"choosing from {list(ROLLUPS)}")
    names = tuple(names)
    for name in names:
        if not isinstance(name, str) or name not in ROLLUPS:
            raise UsageError(f"unknown roll-up {shown(name)}: choose from {list(ROLLUPS)}")
        if names.count(name) > 1:
            raise UsageError(f"rollups: {name!r} is given twice; give each roll-up once")
    return names


def check_schema_version(version: Any) -> int:
    """A result schema version: one of :data:`emospark.core.schema.SCHEMA_VERSIONS`."""
    if isinstance(version, bool) or version not in SCHEMA_VERSIONS:
        raise UsageError(f"schema_version must be one of {list(SCHEMA_VERSIONS)}, got {shown(version)}")
    return int(version)
