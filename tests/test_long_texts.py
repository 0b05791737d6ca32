"""Long texts: overlapping token windows, checked against an independent windowing of
the untruncated token ids (tiny bundle, max_length 32: 30 text tokens a window)."""
from __future__ import annotations

import random

import numpy as np
import pytest
from tokenizers import Tokenizer

from emospark import EmotionModel

from .fixtures import WORDS, reference_proba_ids

WIDTH = 30  # text tokens per window: max_length 32 minus [CLS] and [SEP]


def words(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(n))


# lengths around the window edges: fits, exactly fits, one over, several windows, ragged end
TEXTS = [words(n, seed) for seed, n in enumerate([3, 30, 31, 53, 54, 100, 7, 250])]


def expected_windows(tokenizer_path, text: str, overlap: int) -> list[list[int]]:
    """Windows cut by hand from the untruncated ids, with [CLS]/[SEP] added by hand."""
    tok = Tokenizer.from_file(str(tokenizer_path))
    tok.no_padding()
    tok.no_truncation()
    ids = tok.encode(text, add_special_tokens=False).ids
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    starts = [0]
    while starts[-1] + WIDTH < len(ids):
        starts.append(starts[-1] + WIDTH - overlap)
    return [[cls, *ids[s : s + WIDTH], sep] for s in starts]


def expected_proba(tiny_bundle, seed_dirs, texts, overlap: int, aggregate) -> np.ndarray:
    rows = []
    for text in texts:
        windows = expected_windows(tiny_bundle.tokenizer, text, overlap)
        rows.append(aggregate(reference_proba_ids(*seed_dirs, windows), axis=0))
    return np.array(rows, dtype=np.float32)


@pytest.mark.parametrize("aggregate", ["max", "mean"])
@pytest.mark.parametrize("overlap", [None, 0, 29])
def test_windows_aggregate_like_an_independent_computation(tiny_bundle, seed_dirs, aggregate, overlap):
    model = EmotionModel(tiny_bundle, batch_size=3, aggregate=aggregate, overlap=overlap)
    expected = expected_proba(tiny_bundle, seed_dirs, TEXTS, WIDTH // 4 if overlap is None else overlap,
                              getattr(np, aggregate))
    np.testing.assert_allclose(model.predict_proba(TEXTS), expected, atol=2e-6)


def test_windows_carry_special_tokens_and_cover_the_text(tiny_bundle):
    model = EmotionModel(tiny_bundle)
    ids, counts = model.encoder.windows(TEXTS)
    assert counts.tolist() == [1, 1, 2, 2, 3, 5, 1, 11]  # overlap 7: a window adds 23 tokens
    expected = [w for text in TEXTS for w in expected_windows(tiny_bundle.tokenizer, text, 7)]
    assert ids == expected
    assert all(len(w) <= 32 and w[0] == 2 and w[-1] == 3 for w in ids)  # [CLS]=2 ... [SEP]=3


def test_short_texts_take_the_truncating_path_unchanged(tiny_bundle):
    short = [t for t in TEXTS if len(t.split()) <= WIDTH]
    chunked = EmotionModel(tiny_bundle).predict_proba(short)
    truncated = EmotionModel(tiny_bundle, long_texts="truncate").predict_proba(short)
    assert np.array_equal(chunked, truncated)


def test_truncate_scores_the_first_window_only(tiny_bundle, seed_dirs):
    model = EmotionModel(tiny_bundle, long_texts="truncate")
    first = [expected_windows(tiny_bundle.tokenizer, t, 0)[0] for t in TEXTS]
    np.testing.assert_allclose(model.predict_proba(TEXTS), reference_proba_ids(*seed_dirs, first), atol=2e-6)


def test_missing_values_between_long_texts_keep_rows_in_place(tiny_bundle):
    model = EmotionModel(tiny_bundle)
    proba = model.predict_proba([TEXTS[-1], None, TEXTS[3], ""])
    assert np.isnan(proba[1]).all() and np.isfinite(proba[[0, 2, 3]]).all()
    np.testing.assert_allclose(proba[[0, 2]], model.predict_proba([TEXTS[-1], TEXTS[3]]), atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"long_texts": "split"}, "long_texts must be one of"),
        ({"aggregate": "median"}, "aggregate must be one of"),
        ({"overlap": 30}, r"overlap must be an integer in \[0, 30\)"),
        ({"overlap": -1}, "overlap must be"),
    ],
)
def test_bad_long_text_options_are_refused(tiny_bundle, kwargs, message):
    with pytest.raises(ValueError, match=message):
        EmotionModel(tiny_bundle, **kwargs)
