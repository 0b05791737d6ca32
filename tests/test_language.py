"""The English-only check (emospark.core.language) on texts in many languages and scripts,
English edge cases, Arrow columns and arbitrary Unicode."""
from __future__ import annotations

import pytest

pycld2 = pytest.importorskip("pycld2", reason='the English-only check needs pip install "emospark[lang]"')

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from emospark.core.language import (  # noqa: E402
    NotEnglishWarning,
    english_array,
    english_mask,
    languages,
    not_english_message,
    warn_not_english,
)

OTHER = [  # (ISO 639 code, a short comment) in 20 languages and 12 scripts
    ("fr", "Je suis tellement content pour toi, bravo !"),
    ("es", "Qué asco, no me gusta nada esto"),
    ("de", "Das ist wirklich traurig, es tut mir leid"),
    ("it", "Sono davvero arrabbiato con te"),
    ("pt", "Muito obrigado, você é incrível"),
    ("nl", "Ik ben echt blij met dit nieuws"),
    ("pl", "Jestem bardzo szczęśliwy, dziękuję"),
    ("tr", "Bu gerçekten çok komik olmuş"),
    ("sv", "Jag är så glad för din skull"),
    ("fi", "Olen todella iloinen tästä"),
    ("vi", "Tôi rất vui khi gặp bạn"),
    ("ms", "Saya sangat senang hari ini"),  # Indonesian: CLD2 says Malay, its close kin
    ("ru", "Я очень рад тебя видеть"),  # Cyrillic
    ("el", "Είμαι πολύ χαρούμενος σήμερα"),  # Greek
    ("ar", "أنا سعيد جدا بهذا الخبر"),  # Arabic
    ("he", "אני ממש שמח בשבילך"),  # Hebrew (CLD2's old code iw, mapped)
    ("hi", "मुझे यह बहुत पसंद आया"),  # Devanagari
    ("zh", "我今天非常开心"),  # Han
    ("ja", "本当にありがとうございます"),  # Kana and Kanji
    ("ko", "정말 감사합니다"),  # Hangul
    ("th", "ขอบคุณมากครับ"),  # Thai
]
ENGLISH = [
    "lmao this is so bad it's good ngl",  # slang
    "bruh wtf is this",
    "no cap that was fire fr fr",
    "tbh idk lol",
    "omg yasss queen",
    "😂😂😂",  # emoji only
    "❤️",
    "🙏🏻🙏🏻",
    "ok",  # short
    "Yes.",
    "[NAME]",
    "10/10",
    "?",
    "",
    "   ",
    "https://imgur.com/a/xyz",
    "r/wholesomememes",
    "That's so cute, très mignon",  # code-switching
    "I love this, gracias amigo",
    "Happy birthday! Feliz cumpleaños",
    "Funny joke.",  # CLD2 says Scots
    "WHAT THE HELL",
    "I'm so proud of you, this made my day",
]


@pytest.mark.parametrize(("code", "text"), OTHER, ids=[c for c, _ in OTHER])
def test_other_languages_are_flagged_with_their_code(code, text):
    assert languages([text]) == [code]
    assert english_mask([text]).tolist() == [False]


@pytest.mark.parametrize("text", ENGLISH)
def test_english_edge_cases_count_as_english(text):
    assert english_mask([text]).tolist() == [True]
    assert languages([text]) == ["en"]


def test_arrow_column_keeps_nulls_and_chunks():
    column = pa.chunked_array([["thanks so much!", None], ["Merci beaucoup, vous êtes vraiment très gentils"]])
    assert english_array(column).to_pylist() == [True, None, False]
    assert english_array(pa.array([], pa.string())).to_pylist() == []
    assert english_mask([None]).tolist() == [True]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(), max_size=8))
def test_any_unicode_gives_one_bool_per_text_and_never_raises(texts):
    mask = english_mask(texts)
    assert mask.dtype == np.bool_ and mask.shape == (len(texts),)
    # Each text is judged alone: the answer does not depend on its neighbours.
    assert mask.tolist() == [english_mask([t])[0] for t in texts]


def test_warning_counts_texts_that_are_not_english():
    english = english_array(pa.array(["thank you!", "Je suis tellement content pour toi", None, "Das ist wirklich traurig"]))
    with pytest.warns(NotEnglishWarning, match=r"2 of 3 texts \(66.7%\) are not English"):
        warn_not_english(english)
    assert not_english_message(np.array([True, True])) is None
    assert not_english_message(pa.array([], pa.bool_())) is None


def test_without_cld2_the_field_is_null_with_one_warning(monkeypatch):
    """Where pycld2 has no wheel (e.g. Linux ARM) and is not installed, ``english`` is null, not
    a guess, and one warning says how to get the check."""
    from emospark.core import language
    from emospark.errors import MissingExtraError

    def missing():
        raise MissingExtraError('the English-only check needs the \'pycld2\' package: pip install "emospark[lang]"')

    monkeypatch.setattr(language, "_cld2", missing)
    monkeypatch.setattr(language, "_UNAVAILABLE_WARNED", False)
    with pytest.warns(language.LanguageCheckUnavailable, match=r'emospark\[lang\]'):
        first = language.english_flags(["Je suis tellement content pour toi", None])
    assert first.type == pa.bool_() and first.to_pylist() == [None, None]
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert language.english_flags(["encore"]).to_pylist() == [None]  # warned once per process


@settings(max_examples=30, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs")), min_size=1, max_size=8),
       st.integers(5_000, 20_000))
def test_long_unbroken_text_is_checked_in_linear_time(piece, times):
    """One long word (no spaces): the URL stripping used to backtrack quadratically on it
    (minutes for 1 MB); every text gets an answer."""
    word = piece * times
    assert english_array(pa.array([word + "://" + word, "www." + word, word])).null_count == 0
