"""The English-only check against scoring, on the same texts in one run.

    python -m benchmarks.language                  # go_emotions dev (../shared), else the bundled texts
    python -m benchmarks.language --texts 2000 --threads 1

Prints µs per text of :func:`emospark.core.language.english_mask` and of
``emospark.load().predict_proba`` (one call over all texts, as a column is scored), their ratio
(the budget: the check costs at most 10% of scoring), and the share of texts flagged as not
English (on go_emotions dev it must stay <= 1%).
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import emospark
from emospark.core.language import english_mask

from .texts import DEV, dev_texts


def best_seconds(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", type=Path, default=DEV, help="go_emotions dev.tsv")
    ap.add_argument("--texts", type=int, default=None, help="first N texts (default all)")
    ap.add_argument("--threads", type=int, default=None, help="onnxruntime threads for scoring")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    texts, source = dev_texts(args.dev)
    texts = texts[: args.texts]
    model = emospark.load(threads=args.threads) if args.threads else emospark.load()
    english_mask(texts[:20]), model.predict_proba(texts[:20])  # warm-up
    check = best_seconds(lambda: english_mask(texts), args.rounds)
    score = best_seconds(lambda: model.predict_proba(texts), args.rounds)
    flagged = ~english_mask(texts)
    result = {
        "texts": len(texts),
        "source": source,
        "cpu": platform.processor() or platform.machine(),
        "check_us_per_text": round(check / len(texts) * 1e6, 1),
        "score_us_per_text": round(score / len(texts) * 1e6, 1),
        "check_over_score": round(check / score, 4),
        "flagged_share": round(float(flagged.mean()), 5),
        "flagged_examples": [t for t, f in zip(texts, flagged, strict=True) if f][:10],
    }
    print(json.dumps(result, indent=1, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()
