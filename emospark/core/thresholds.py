"""Per-label thresholds: checked once, then a frozen object.

A threshold setting is one of (see :func:`check_threshold`):

- ``None``: the model's own thresholds;
- one number in [0, 1] for every label;
- a sequence of exactly one number per label, in the model's label order;
- a mapping ``{label: number}`` naming any subset of the labels (the others keep the
  model's thresholds) and nothing else;
- a :class:`ThresholdFile` (the CLI's ``--threshold FILE.json``): a JSON object or array
  as above, whose errors name the file and are ``InputError`` s (CLI exit 3).

Numbers must be finite and in [0, 1]; ``True`` and ``"0.2"`` are refused, not read as 1
and 0.2. A bad setting is a :class:`~emospark.errors.UsageError` (CLI exit 2) naming the
label and the value.

>>> labels = ("joy", "anger", "fear")
>>> base = Thresholds.parse([0.5, 0.4, 0.3], labels)
>>> Thresholds.parse({"joy": 0.2}, labels, base=base).values
(0.2, 0.4, 0.3)
>>> Thresholds.parse(0.6, labels).array().tolist()
[0.6000000238418579, 0.6000000238418579, 0.6000000238418579]
>>> Thresholds.parse({"joy": "0.2"}, labels, base=base)
Traceback (most recent call last):
...
emospark.errors.UsageError: threshold: 'joy' must be a number in [0, 1], got '0.2' (str); write it without quotes, e.g. 0.3
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..checks import PlainThreshold, is_number, read_json, threshold_value, unit_number
from ..errors import InputError, UsageError


@dataclass(frozen=True)
class ThresholdFile:
    """A threshold file as read by :meth:`read`: its path and its values, checked for
    shape and range; the labels are checked against a model by :func:`check_threshold`.

    ``value`` is a ``{label: number}`` dict or a tuple of numbers (one per label)."""

    path: str
    value: dict[str, float] | tuple[float, ...]

    @classmethod
    def read(cls, path: str | os.PathLike) -> "ThresholdFile":
        """Read and check a JSON threshold file; any problem is an :class:`InputError`
        naming the file (and the label and value)."""
        where = str(path)
        raw = read_json(Path(path), InputError, "threshold file")
        if isinstance(raw, dict):
            for label, number in raw.items():
                unit_number(number, where, label, InputError)
            return cls(where, {label: float(number) for label, number in raw.items()})
        if isinstance(raw, list):
            return cls(where, tuple(unit_number(n, where, f"[{i}]", InputError) for i, n in enumerate(raw)))
        raise InputError(f"{where}: holds {type(raw).__name__} {str(raw)[:40]!r}; a threshold file holds a JSON object "
                         '{"label": number, ...} (as `emospark eval --tune-thresholds` writes) or an array of one '
                         "number per label")


def check_threshold(value: Any, labels: Sequence[str], *, where: str = "threshold") -> PlainThreshold:
    """A threshold setting (see the module doc) checked against ``labels``, as plain
    values that pickle without emospark: ``None``, a float, a tuple of floats (one per
    label) or a ``{label: float}`` dict. For the Spark entry points' driver-side checks.

    >>> check_threshold({"joy": 0.2}, ("joy", "anger"))
    {'joy': 0.2}
    >>> check_threshold(True, ("joy", "anger"))
    Traceback (most recent call last):
    ...
    emospark.errors.UsageError: threshold: True (bool) is not a threshold; give a number in [0, 1], one number per label (2), or an object {label: number}
    """
    if isinstance(value, ThresholdFile):
        return threshold_value(value.value, labels, value.path, InputError)
    if isinstance(value, Thresholds):
        value = value.values if tuple(value.labels) == tuple(labels) else value.as_dict()
    return threshold_value(value, labels, where, UsageError)


@dataclass(frozen=True)
class Thresholds:
    """One threshold per label, in label order: finite floats in [0, 1]."""

    labels: tuple[str, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.values) or not all(is_number(v) and 0 <= v <= 1 for v in self.values):
            raise UsageError(f"thresholds: {len(self.values)} values for {len(self.labels)} labels; "
                             "build Thresholds with Thresholds.parse")

    @classmethod
    def parse(cls, value: Any, labels: Sequence[str], *, base: "Thresholds | None" = None,
              where: str = "threshold") -> "Thresholds":
        """Check ``value`` (see the module doc) and complete it from ``base`` (the model's
        thresholds): without ``base``, a mapping must name every label and ``None`` is
        refused."""
        labels = tuple(labels)
        plain = check_threshold(value, labels, where=where)
        if isinstance(plain, tuple):
            return cls(labels, plain)
        if is_number(plain):
            return cls(labels, (plain,) * len(labels))
        fail, where = (InputError, value.path) if isinstance(value, ThresholdFile) else (UsageError, where)
        if base is None or base.labels != labels:
            missing = [lab for lab in labels if lab not in (plain or {})]
            raise fail(f"{where} lacks thresholds for {missing[:10]}{' ...' if len(missing) > 10 else ''}: "
                       "give one number in [0, 1] for every label")
        return base if not plain else cls(labels, tuple(plain.get(lab, old) for lab, old in zip(labels, base.values, strict=True)))

    def array(self) -> np.ndarray:
        """The thresholds as a read-only float32 array in label order."""
        out = np.array(self.values, dtype=np.float32)
        out.setflags(write=False)
        return out

    def as_dict(self) -> dict[str, float]:
        """``{label: threshold}``, the format of a bundle's ``thresholds.json``."""
        return dict(zip(self.labels, self.values, strict=True))
