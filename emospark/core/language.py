"""Which texts are English: the default models read English only, and score other languages
(mostly as ``neutral``) as if they understood them.

A fast, offline check with CLD2 (``pycld2``, Apache-2.0: its language tables are compiled into
the extension, nothing is downloaded; ``pip install "emospark[lang]"``). A text counts as
English unless CLD2 reliably finds a language that is not English in it. Short, undecidable,
emoji-only, numbers-only and code-switched text (English with a few words of another language)
count as English, as do Scots (CLD2's frequent guess for short Reddit English) and empty text.
URLs and subreddit/user references are ignored.

>>> english_mask(["I love this so much!", "Je suis tellement content pour toi", "😂😂", "", "我今天非常开心"]).tolist()
[True, False, True, True, False]
>>> languages(["Das ist wirklich traurig, es tut mir leid", "lol ok"])
['de', 'en']
>>> import pyarrow as pa
>>> english_array(pa.array(["Merci beaucoup, vous êtes vraiment très gentils", None, "thanks!"])).to_pylist()
[False, None, True]
>>> not_english_message(pa.array([True, False, None, True]))
'1 of 3 texts (33.3%) are not English: the model reads English only, so their scores mean nothing (see the english field)'
"""
from __future__ import annotations

import re
import warnings
from typing import Iterable, Sequence

import numpy as np
import pyarrow as pa

from ..errors import MissingExtraError, require

ENGLISH = "en"
# CLD2 codes read as English: English, Scots, unknown, emoji/inherited script, no text.
ENGLISH_LIKE = frozenset({"en", "sco", "un", "xx-Qaai", "xxx"})
_LEGACY = {"iw": "he", "in": "id", "jw": "jv"}  # CLD2's old codes -> today's ISO 639
# Every alternative starts with a bounded prefix, so the scan is linear in the text's length
# (``\S+://`` backtracked quadratically: minutes on one 1 MB word).
_IGNORED = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{0,15}://\S+|\bwww\.\S+|(?<!\w)/?[ru]/\w+|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
SAMPLE_CHARS = 4096  # the language of a longer text is judged on its first 4,096 characters


def _cld2():
    return require("pycld2", "lang", "the English-only check (emospark.core.language)")


def _language(cld2, text: object) -> str | None:
    """``en`` for English or undecidable text, else the CLD2 code; None for a missing
    value (None, NaN, pandas' NA: anything that is not a string)."""
    if not isinstance(text, str):
        return None
    text = _IGNORED.sub(" ", text[:SAMPLE_CHARS]).encode("utf-8", "replace").decode("utf-8")
    try:
        reliable, _, details = cld2.detect(text, isPlainText=True, hintLanguage=ENGLISH)
    except cld2.error:  # text CLD2 cannot read: undecidable
        return ENGLISH
    found = [code for _, code, percent, _ in details if percent > 0]
    if not reliable or not found or ENGLISH_LIKE.intersection(found):
        return ENGLISH
    return _LEGACY.get(found[0], found[0])


def languages(texts: Iterable[str | None]) -> list[str | None]:
    """Per text, ``"en"`` (English or undecidable) or the ISO 639 code CLD2 found (``zh-Hant``
    for traditional Chinese); None for nulls."""
    cld2 = _cld2()
    return [_language(cld2, t) for t in texts]


def english_mask(texts: Iterable[str | None]) -> np.ndarray:
    """Boolean array: True where a text is English (or undecidable, or null), False where it
    is reliably another language."""
    return np.array([code in (ENGLISH, None) for code in languages(texts)], dtype=bool)


def english_array(texts: pa.Array | pa.ChunkedArray) -> pa.BooleanArray:
    """The check over an Arrow string column: True/False per text, null where the text is null."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    return _flags(languages(texts.to_pylist()))


def english_flags(texts: Sequence[str | None]) -> pa.BooleanArray:
    """The result's ``english`` field for these texts: as :func:`english_array`, or all null
    (with one :class:`LanguageCheckUnavailable` warning per process) where CLD2 is not
    installed, e.g. on Linux ARM, which it has no wheel for."""
    global _UNAVAILABLE_WARNED
    try:
        return _flags(languages(texts))
    except MissingExtraError as exc:
        if not _UNAVAILABLE_WARNED:
            _UNAVAILABLE_WARNED = True
            warnings.warn(f"{exc} (the result's english field is null until then)", LanguageCheckUnavailable,
                          stacklevel=2)
        return pa.nulls(len(texts), pa.bool_())


def _flags(codes: Sequence[str | None]) -> pa.BooleanArray:
    return pa.array([None if c is None else c == ENGLISH for c in codes], type=pa.bool_())


_UNAVAILABLE_WARNED = False


class LanguageCheckUnavailable(UserWarning):
    """The English-only check is not installed: ``english`` is null (``pip install pycld2``)."""


class NotEnglishWarning(UserWarning):
    """Some scored texts are not English (pandas and Polars results; on Spark, read the field)."""


def not_english_message(english: np.ndarray | pa.Array | pa.ChunkedArray) -> str | None:
    """What to tell the user about a result's English flags (nulls, i.e. null texts, left out);
    None when every text is English."""
    flags = english.to_numpy(zero_copy_only=False) if isinstance(english, (pa.Array, pa.ChunkedArray)) else english
    flags = [f for f in np.asarray(flags, dtype=object).tolist() if f is not None]
    return count_message(sum(1 for f in flags if not f), len(flags))


def count_message(others: int, texts: int) -> str | None:
    """:func:`not_english_message` from counts: ``others`` of ``texts`` are not English."""
    if not others:
        return None
    return (f"{others:,} of {texts:,} texts ({others / texts:.1%}) are not English: the model reads "
            "English only, so their scores mean nothing (see the english field)")


def warn_not_english(english: np.ndarray | pa.Array | pa.ChunkedArray, stacklevel: int = 2) -> None:
    """Issue a :class:`NotEnglishWarning` with :func:`not_english_message`, if any text is not English."""
    message = not_english_message(english)
    if message:
        warnings.warn(message, NotEnglishWarning, stacklevel=stacklevel + 1)
