"""The text sets: go_emotions dev texts (short) and dev texts joined into long ones."""
from __future__ import annotations

import random
from pathlib import Path

from tokenizers import Tokenizer

REPO = Path(__file__).resolve().parents[1]
DEV = REPO.parent / "shared" / "data" / "go_emotions" / "dev.tsv"
FALLBACK = REPO / "docs" / "examples" / "comments.csv"
LONG_TOKENS = (200, 600)


def dev_texts(path: Path = DEV) -> tuple[list[str], str]:
    """The dev split's texts and where they came from; without the split, the example
    comments (a smoke run still works from a clone without the shared data)."""
    if path.is_file():
        return [line.split("\t")[0] for line in path.read_text(encoding="utf-8").splitlines()], str(path)
    import csv

    with FALLBACK.open(encoding="utf-8", newline="") as f:
        return [row["text"] for row in csv.DictReader(f)], f"{FALLBACK} (dev split not found at {path})"


def cycle(texts: list[str], n: int) -> list[str]:
    """The first ``n`` texts, repeating the list when it is shorter."""
    return [texts[i % len(texts)] for i in range(n)]


def long_texts(texts: list[str], n: int, tokenizer: Tokenizer, seed: int = 0) -> list[str]:
    """``n`` texts of LONG_TOKENS tokens (a uniform target each), made by joining
    consecutive short texts in order of a seeded shuffle."""
    rng = random.Random(seed)
    pool = texts[:]
    rng.shuffle(pool)
    out, i = [], 0
    while len(out) < n:
        target, parts, tokens = rng.randint(*LONG_TOKENS), [], 0
        while tokens < target:
            text = pool[i % len(pool)]
            i += 1
            parts.append(text)
            tokens += len(tokenizer.encode(text, add_special_tokens=False).ids)
        out.append(" ".join(parts))
    return out


def window_lengths(texts: list[str], tokenizer: Tokenizer) -> list[int]:
    """Token count of every encoder window of ``texts``, with the tokenizer's own
    truncation and overflow settings (emospark's, from ``load_tokenizer``)."""
    return [len(w.ids) for e in tokenizer.encode_batch(texts) for w in (e, *e.overflowing)]
