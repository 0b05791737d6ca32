"""One list of awkward inputs, run through every entry point by tests/test_reliability.py
(core, pandas accessor, Spark UDF, CLI) and documented case by case in docs/reliability.md.

Each :class:`Case` holds the values of a text column and what must come out:

- ``scored``: every row gets 28 finite probabilities in [0, 1];
- ``null``: every row is a null row (all-NaN probabilities, null scores in Arrow, no labels);
- ``mixed``: null rows exactly where the value is missing (None, NaN, pd.NA, NaT), scored elsewhere;
- ``TypeError``: the core refuses the column with a ``TypeError`` naming the first bad position.

``arrow`` says whether the values fit in an Arrow/Spark string column (and so in files):
lone surrogates and non-string values do not. ``column_type`` is, for ``TypeError`` cases
that Spark and files can hold, the column type they have there.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from emospark.core.inputs import is_missing

KINDS = ("scored", "null", "mixed", "TypeError")


@dataclass(frozen=True)
class Case:
    name: str
    values: tuple[Any, ...]
    expect: str
    notes: str = ""
    arrow: bool = True
    column_type: str | None = None  # Spark DDL of the column, for TypeError cases Spark can hold

    def __post_init__(self) -> None:
        assert self.expect in KINDS, self.expect

    @property
    def missing(self) -> np.ndarray:
        """Which rows are missing texts (and must be null rows)."""
        return np.array([is_missing(v) for v in self.values], dtype=bool)

    def as_nullable(self) -> list[str | None]:
        """The values as an Arrow/Spark string column holds them: every missing value is null."""
        return [None if is_missing(v) else v for v in self.values]


WORDS_100K = "i love this so much but why " * 3572  # 100,016 characters of words
CASES: tuple[Case, ...] = (
    # -- texts that are scored ----------------------------------------------------------------
    Case("plain", ("I love this, thank you!", "this is terrible"), "scored"),
    Case("empty string", ("",), "scored", "scored like any text (the model sees only [CLS] [SEP])"),
    Case("whitespace only", ("   ", "\t\n", "\u00a0\u2003\u3000"), "scored", "scored like the empty string"),
    Case("control characters", ("\x00", "a\x01b\x07c", "\x1b[31mred\x1b[0m", "\x7f\x85"), "scored"),
    Case("zero-width and BOM", ("\u200b", "\ufeff hello", "a\u200db", "\u2060"), "scored"),
    Case("emoji", ("😀", "I love it ❤️", "🔥🔥🔥"), "scored"),
    Case("ZWJ sequences", ("👨\u200d👩\u200d👧\u200d👦", "🏳️\u200d🌈", "👩🏽\u200d💻"), "scored"),
    Case("flags and skin tones", ("🇫🇷🇯🇵", "👍🏽👍🏿"), "scored"),
    Case("RTL text", ("مرحبا بالعالم، أنا سعيد", "שלום עולם"), "scored"),
    Case("bidi controls", ("\u202eevil\u202c", "\u200fabc\u200e", "\u2067x\u2069"), "scored"),
    Case("CJK", ("日本語のテキストです", "我今天很高兴", "행복해요"), "scored"),
    Case("other scripts", ("नमस्ते दुनिया", "สวัสดีครับ", "Привет, мир"), "scored"),
    Case("combining marks", ("e\u0301", "Z\u0324\u0354\u0367\u0311a\u0308\u0356l\u036e\u0312g\u030co\u0319"), "scored"),
    Case("astral and plane 16", ("𝕳𝖊𝖑𝖑𝖔", "\U0010fffd", "\U0001f9ff"), "scored"),
    Case("private use and noncharacters", ("\ue000", "\ufdd0", "\uffff", "\ufffe"), "scored",
         "valid UTF-8 code points, scored"),
    Case("replacement character", ("\ufffd", "bad \ufffd\ufffd bytes"), "scored"),
    Case("newlines and CR", ("line one\nline two", "a\r\nb", "\r", "\n\n"), "scored", "CSV quotes them"),
    Case("quotes and delimiters", ('say "hi", ok', "a,b,c", "tab\there", "'single'", "semi;colon"), "scored"),
    Case("null-looking strings", ("None", "null", "NULL", "NA", "nan", "NaN", "N/A", "#N/A"), "scored",
         "strings, not missing values: CSV reads them as text too"),
    Case("markup and JSON", ('{"text": 1}', "<script>alert(1)</script>", "[1, 2]", "\\u0000"), "scored"),
    Case("numbers as text", ("0", "007", "1e10", "-1"), "scored", "text columns keep them as text"),
    Case("single characters", ("a", ".", "!", "?"), "scored"),
    Case("repeated texts", ("wow",) * 5, "scored", "identical rows"),
    Case("100k characters of words", (WORDS_100K,), "scored", "chunked into overlapping windows"),
    Case("100k characters, no spaces", ("x" * 100_000,), "scored", "one long token sequence, chunked"),
    Case("100k characters of emoji", ("😀" * 100_000,), "scored", "100k code points, 400 kB of UTF-8"),
    Case("lone surrogates", ("\ud800", "a\udfffb", "\udbff\udc00 ok"), "scored",
         "not valid Unicode: replaced by U+FFFD, then scored (no Arrow/Spark/file can hold them)",
         arrow=False),
    # -- missing values ---------------------------------------------------------------------
    Case("None", (None,), "null"),
    Case("NaN", (float("nan"), np.nan, np.float64("nan")), "null"),
    Case("pd.NA", (pd.NA,), "null"),
    Case("pd.NaT", (pd.NaT,), "null", "pandas' missing datetime counts as missing too", arrow=False),
    Case("whole column of nulls", (None,) * 6, "null"),
    Case("nulls among texts", ("first", None, "", float("nan"), "last", pd.NA, "   "), "mixed",
         "null rows exactly where missing; neighbours unaffected"),
    Case("empty column", (), "scored", "no rows in, no rows out (an empty DataFrame)"),
    # -- not text -------------------------------------------------------------------------------
    Case("int", ("a", 5), "TypeError", "texts[1] is int (5)", arrow=False, column_type="bigint"),
    Case("float", (1.5,), "TypeError", "only NaN floats are missing values", arrow=False, column_type="double"),
    Case("bool", (True, "a"), "TypeError", arrow=False, column_type="boolean"),
    Case("bytes", (b"i love this",), "TypeError", "decode bytes first", arrow=False, column_type="binary"),
    Case("list", (["a", "b"],), "TypeError", "one text per row", arrow=False, column_type="array<string>"),
    Case("dict", ({"text": "a"},), "TypeError", arrow=False, column_type="map<string,string>"),
)

assert len({c.name for c in CASES}) == len(CASES) >= 30
TEXT_CASES = tuple(c for c in CASES if c.expect != "TypeError")
ARROW_CASES = tuple(c for c in TEXT_CASES if c.arrow)
ERROR_CASES = tuple(c for c in CASES if c.expect == "TypeError")
