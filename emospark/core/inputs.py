"""Input rules shared by every entry point.

- ``None``, float NaN and pandas' ``NA``/``NaT`` are *missing*: the row gets all-NaN
  probabilities and no labels.
- Empty and whitespace-only strings are scored like any other text.
- Lone surrogates (``"\\ud800"``: a ``str`` that is not valid Unicode, e.g. from
  ``bytes.decode(errors="surrogateescape")``) are replaced by U+FFFD and the text is scored.
- Anything else that is not a ``str`` raises ``TypeError`` naming its position.

>>> present, texts = split_missing(["a", None, float("nan"), ""])
>>> present.tolist(), texts
([True, False, False, True], ['a', ''])
"""
from __future__ import annotations

import math
import re
from typing import Any, Iterable

import numpy as np

from ..errors import TextTypeError

_MISSING_TYPES = ("NAType", "NaTType")
_SURROGATE = re.compile("[\ud800-\udfff]")


def is_missing(value: Any) -> bool:
    """True for None, NaN and pandas' missing-value singletons."""
    if value is None:
        return True
    if isinstance(value, float):  # includes numpy.float64
        return math.isnan(value)
    if isinstance(value, np.floating):
        return bool(np.isnan(value))
    return type(value).__name__ in _MISSING_TYPES


def as_list(texts: Iterable[Any]) -> list[Any]:
    """The texts as a list; a lone string is refused so it is not split into characters."""
    if isinstance(texts, (str, bytes)):
        raise TextTypeError("texts must be a sequence of strings, not a single string: wrap it in a list")
    if hasattr(texts, "to_pylist"):  # pyarrow arrays and chunked arrays
        return texts.to_pylist()
    return list(texts)


def valid_text(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD (the tokenizer cannot take them).

    >>> valid_text("a\\udc80b"), valid_text("ok")
    ('a\ufffdb', 'ok')
    """
    if text.isascii() or not _SURROGATE.search(text):  # isascii is O(1): the common case costs nothing
        return text
    return _SURROGATE.sub("\ufffd", text)


def not_text(value: Any) -> str:
    """What ``value`` is, when it is neither text nor missing."""
    return f"{type(value).__name__} ({value!r:.40}); expected str or None (missing values give a null row)"


def first_not_text(texts: Iterable[Any]) -> int | None:
    """The position of the first value that is neither text nor missing, if any."""
    return next((i for i, v in enumerate(as_list(texts)) if not isinstance(v, str) and not is_missing(v)), None)


def split_missing(texts: Iterable[Any]) -> tuple[np.ndarray, list[str]]:
    """A boolean mask of the rows that hold text, and those texts in order."""
    values = as_list(texts)
    present = np.ones(len(values), dtype=bool)
    kept: list[str] = []
    for i, value in enumerate(values):
        if isinstance(value, str):
            kept.append(valid_text(value))
        elif is_missing(value):
            present[i] = False
        else:
            raise TextTypeError(f"texts[{i}] is {not_text(value)}")
    return present, kept
