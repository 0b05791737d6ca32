"""Loaded models, one per process: what Spark executors and the pandas accessor load through.

A Python process loads each model (with given :func:`emospark.load` options) once,
under a lock, and every later batch, task or accessor call in that process reuses it.
:func:`load_counts` says how many loads this process did, so a job can check that each
Spark Python worker loaded its model exactly once.

>>> from emospark.core.model_cache import cached_model, load_counts
>>> a = cached_model(None, threads=1)
>>> a is cached_model(None, threads=1)
True
>>> load_counts()[cache_key(None, threads=1)]
1
"""
from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Hashable
from typing import Any

from .model import EmotionModel, load

ModelRef = str | os.PathLike | None
"""A model name, a bundle directory, or None for the bundled default."""

CacheKey = tuple[str | None, tuple[tuple[str, Hashable], ...]]

_lock = threading.Lock()
_models: dict[CacheKey, EmotionModel] = {}
_loads: Counter[CacheKey] = Counter()


def cache_key(model: ModelRef, **options: Any) -> CacheKey:
    """What identifies a loaded model in this process: its name or path and its load options.

    >>> cache_key("/models/b", threads=2, long_texts="truncate")
    ('/models/b', (('long_texts', 'truncate'), ('threads', 2)))
    """
    return (None if model is None else os.fspath(model), tuple(sorted(options.items())))


def cached_model(model: ModelRef = None, **options: Any) -> EmotionModel:
    """This process's instance of ``emospark.load(model, **options)``, loaded on first use."""
    key = cache_key(model, **options)
    with _lock:
        if key not in _models:
            _models[key] = load(key[0], **options)
            _loads[key] += 1
        return _models[key]


def load_counts() -> dict[CacheKey, int]:
    """How many times this process loaded each key."""
    with _lock:
        return dict(_loads)
