"""Checks of single configuration values and of JSON configuration files, shared by
every configuration object (bundle manifests, thresholds, options, the model search path).

Each check takes the place the value came from (``where``: a file, an argument or an
option name) and the :class:`~emospark.errors.EmosparkError` subclass to raise, so the
same rule gives a ``BundleError`` in a manifest, an ``InputError`` in a threshold file
and a ``UsageError`` in a keyword argument, each message naming the place, the field
and the bad value (cut if long) and saying what would work.

>>> unit_number(0.25, "threshold", "joy")
0.25
>>> unit_number("0.2", "threshold", "joy")
Traceback (most recent call last):
...
emospark.errors.UsageError: threshold: 'joy' must be a number in [0, 1], got '0.2' (str); write it without quotes, e.g. 0.3
>>> positive_int(True, "options", "top_k")
Traceback (most recent call last):
...
emospark.errors.UsageError: options: top_k must be a positive integer, got True (bool); give a whole number such as 1
"""
from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import EmosparkError, UsageError, shown

Error = type[EmosparkError]

MAX_JSON_BYTES = 16 << 20
"""A configuration file larger than this is refused unread (a manifest with metrics is ~30 kB)."""


def kind(value: Any) -> str:
    """The value and its type, for messages: ``'0.2' (str)``."""
    return f"{shown(value)} ({type(value).__name__})"


def at(where: str) -> str:
    """The prefix of a message about a value from ``where`` (nothing if unnamed)."""
    return f"{where}: " if where else ""


def is_number(value: Any) -> bool:
    """A real number (numpy's included) that is not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and type(value).__name__ != "bool_"


def unit_number(value: Any, where: str, field: str, error: Error = UsageError) -> float:
    """``value`` as a float if it is a finite number in [0, 1]."""
    if not is_number(value):
        hint = "; write it without quotes, e.g. 0.3" if isinstance(value, str) else ""
        raise error(f"{at(where)}{field!r} must be a number in [0, 1], got {kind(value)}{hint}")
    number = float(value)
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise error(f"{at(where)}{field!r} must be a number in [0, 1] (a probability, e.g. 0.3), got {shown(value)}")
    return number


def positive_int(value: Any, where: str, field: str, error: Error = UsageError, *, at_least: int = 1,
                 at_most: int | None = None) -> int:
    """``value`` as an int if it is a whole number in [``at_least``, ``at_most``] (bool refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise error(f"{at(where)}{field} must be {_span(at_least, at_most)}, got {kind(value)}; give a whole number "
                    f"such as {max(at_least, 1)}")
    number = int(value)
    if number < at_least or (at_most is not None and number > at_most):
        raise error(f"{at(where)}{field} must be {_span(at_least, at_most)}, got {number}")
    return number


def _span(at_least: int, at_most: int | None) -> str:
    if at_most is not None:
        return f"an integer in [{at_least}, {at_most}]"
    return "a positive integer" if at_least == 1 else f"an integer >= {at_least}"


def choice(value: Any, allowed: Sequence[str], where: str, field: str, error: Error = UsageError) -> str:
    """``value`` if it is one of ``allowed`` (strings)."""
    if not isinstance(value, str) or value not in allowed:
        raise error(f"{at(where)}{field} must be one of {list(allowed)}, got {kind(value)}")
    return value


def text(value: Any, where: str, field: str, error: Error = UsageError, *, empty: bool = False) -> str:
    """``value`` if it is a string (non-empty unless ``empty``)."""
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise error(f"{at(where)}{field} must be a {'' if empty else 'non-empty '}string, got {kind(value)}")
    return value


def mapping(value: Any, where: str, field: str, error: Error = UsageError) -> Mapping:
    """``value`` if it is a mapping (a JSON object)."""
    if not isinstance(value, Mapping):
        raise error(f"{at(where)}{field} must be a JSON object {{...}}, got {kind(value)}")
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"the key {shown(key)} appears twice")
        seen[key] = value
    return seen


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON (write a number in [0, 1])")


def loads(content: str | bytes, where: str, error: Error = UsageError) -> Any:
    """Strict JSON: duplicate keys, ``NaN``/``Infinity`` and nesting deeper than Python's
    recursion limit are errors, not silently accepted values or a ``RecursionError``."""
    try:
        return json.loads(content, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise error(f"{where} cannot be read as JSON: {reason}; fix the file (e.g. check it with `python -m json.tool`)") \
            from None


def read_json(path: str | Path, error: Error = UsageError, what: str = "file") -> Any:
    """The JSON value in the file ``path``: a missing, unreadable, oversized or invalid
    file is an ``error`` naming it."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            raise error(f"{path} is {path.stat().st_size:,} bytes: too large for a {what} "
                        f"(at most {MAX_JSON_BYTES:,}); is it the right file?")
        content = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: no such {what}; check the path") from None
    except OSError as exc:  # a directory, no permission, a name too long...
        raise error(f"{path} cannot be read as JSON: {exc.strerror or exc}; give the path of a {what}") from None
    return loads(content, str(path), error)


PlainThreshold = float | tuple[float, ...] | dict[str, float] | None


def threshold_value(value: Any, labels: Sequence[str], where: str = "threshold", error: Error = UsageError) -> PlainThreshold:
    """A threshold setting checked against ``labels``, as plain Python values that pickle
    anywhere: ``None``; one number for every label; a sequence (list, tuple, 1-D array)
    of exactly one number per label, in label order; or a mapping ``{label: number}``
    naming any subset of the labels (the others keep the model's thresholds) and nothing
    else. Numbers are finite, in [0, 1], not bool and not str.

    >>> threshold_value({"joy": 0.2}, ["joy", "anger"])
    {'joy': 0.2}
    >>> threshold_value([0.1, 1], ["joy", "anger"])
    (0.1, 1.0)
    >>> threshold_value({"joyy": 0.2}, ["joy", "anger"])
    Traceback (most recent call last):
    ...
    emospark.errors.UsageError: unknown labels in threshold: ['joyy']; the labels are ['joy', 'anger']
    """
    if value is None:
        return None
    if hasattr(value, "tolist") and not isinstance(value, Mapping):  # numpy arrays and scalars, pandas, Arrow
        try:
            value = value.tolist()
        except Exception as exc:  # noqa: BLE001 - any object may claim tolist
            raise error(f"{where}: cannot read {kind(value)} as thresholds ({exc})") from None
    if isinstance(value, Mapping):
        unknown = [label for label in value if not isinstance(label, str) or label not in labels]
        if unknown:
            raise error(f"unknown labels in {where}: {shown(unknown, 200)}; the labels are {shown(list(labels), 600)}")
        return {label: unit_number(number, where, label, error) for label, number in value.items()}
    if isinstance(value, (list, tuple)):
        if len(value) != len(labels):
            raise error(f"{where}: {len(value)} thresholds given, the model has {len(labels)} labels; give one number "
                        f"per label in label order, or an object {{label: number}}")
        return tuple(unit_number(number, where, label, error) for label, number in zip(labels, value, strict=True))
    if isinstance(value, (str, bytes)) or not is_number(value):
        raise error(f"{where}: {kind(value)} is not a threshold; give a number in [0, 1], one number per label "
                    f"({len(labels)}), or an object {{label: number}}")
    return unit_number(value, where, "threshold", error)
