"""Roll-ups of the 28 go_emotions labels into the GoEmotions paper's coarser groups
(Demszky et al., 2020): Ekman's six basic emotions plus neutral, and sentiment.

A group's score is the **maximum** of its members' probabilities: the score of its
most likely member. It stays on the scale of the label scores (a sum would pass 1,
and a noisy-OR would favour big groups: Ekman joy has 12 members, disgust one), and
it never hides a confident member behind a crowd of unlikely ones, as a mean would.
Missing texts (NaN rows) give NaN (null in Arrow) group scores.

>>> import numpy as np
>>> from emospark.labels import GO_EMOTIONS
>>> proba = np.full((2, 28), 0.1, dtype=np.float32)
>>> proba[0, GO_EMOTIONS.index("gratitude")] = 0.9
>>> proba[1] = np.nan
>>> rollup_scores(proba, "sentiment").astype(float).round(2).tolist()
[[0.9, 0.1, 0.1, 0.1], [nan, nan, nan, nan]]
>>> groups("sentiment")
('positive', 'negative', 'ambiguous', 'neutral')
>>> rollup_to_arrow(proba[:1], "ekman").to_pylist()[0]["joy"]
0.8999999761581421
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np
import pyarrow as pa

from ..errors import BundleError, UsageError
from ..labels import GO_EMOTIONS
from .schema import scores_to_arrow, scores_type

EKMAN: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "anger": ("anger", "annoyance", "disapproval"),
    "disgust": ("disgust",),
    "fear": ("fear", "nervousness"),
    "joy": ("joy", "amusement", "approval", "excitement", "gratitude", "love", "optimism", "relief", "pride",
            "admiration", "desire", "caring"),
    "sadness": ("sadness", "disappointment", "embarrassment", "grief", "remorse"),
    "surprise": ("surprise", "realization", "confusion", "curiosity"),
    "neutral": ("neutral",),
})

SENTIMENT: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "positive": ("admiration", "amusement", "approval", "caring", "desire", "excitement", "gratitude", "joy", "love",
                 "optimism", "pride", "relief"),
    "negative": ("anger", "annoyance", "disappointment", "disapproval", "disgust", "embarrassment", "fear", "grief",
                 "nervousness", "remorse", "sadness"),
    "ambiguous": ("confusion", "curiosity", "realization", "surprise"),
    "neutral": ("neutral",),
})

ROLLUPS: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType({"ekman": EKMAN, "sentiment": SENTIMENT})


def mapping(rollup: str) -> Mapping[str, tuple[str, ...]]:
    """The groups of a roll-up by name, each with its member labels."""
    try:
        return ROLLUPS[rollup]
    except KeyError:
        raise UsageError(f"unknown roll-up {rollup!r}: choose from {list(ROLLUPS)}") from None


def groups(rollup: str) -> tuple[str, ...]:
    """The group names of a roll-up, in order."""
    return tuple(mapping(rollup))


def rollup_scores(proba: np.ndarray, rollup: str, labels: Sequence[str] = GO_EMOTIONS) -> np.ndarray:
    """Group scores (n, groups), float32: per group, the max of its members' columns of
    ``proba`` (whose columns are ``labels``)."""
    missing = [lab for members in mapping(rollup).values() for lab in members if lab not in labels]
    if missing:
        raise BundleError(f"the '{rollup}' roll-up needs the go_emotions labels; the model lacks {missing}")
    proba = np.asarray(proba, dtype=np.float32)
    columns = [proba[:, [labels.index(lab) for lab in members]].max(axis=1) for members in mapping(rollup).values()]
    return np.stack(columns, axis=1)


def group_names(rollups: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """{roll-up: its group names} for :func:`emospark.core.schema.result_type` and ``spark_ddl``.

    >>> group_names(["sentiment"])
    {'sentiment': ('positive', 'negative', 'ambiguous', 'neutral')}
    """
    return {name: groups(name) for name in rollups}


def rollup_type(rollup: str) -> pa.StructType:
    """The Arrow type of a roll-up: a struct of one float32 per group."""
    return scores_type(groups(rollup))


def rollup_to_arrow(proba: np.ndarray, rollup: str, labels: Sequence[str] = GO_EMOTIONS) -> pa.StructArray:
    """The group scores as an Arrow struct array (null for missing texts)."""
    return scores_to_arrow(rollup_scores(proba, rollup, labels), groups(rollup))


def add_rollups(
    result: pa.StructArray, proba: np.ndarray, rollups: Sequence[str], labels: Sequence[str] = GO_EMOTIONS
) -> pa.StructArray:
    """The result struct (see :mod:`emospark.core.schema`) with one more field per roll-up,
    named after it, e.g. ``emotions.ekman.joy``.

    >>> import numpy as np
    >>> from emospark.core.schema import to_arrow
    >>> proba = np.full((1, 28), 0.2, dtype=np.float32)
    >>> out = add_rollups(to_arrow(proba, [[]]), proba, ["ekman", "sentiment"])
    >>> [f.name for f in out.type]
    ['scores', 'labels', 'top', 'top_score', 'english', 'ekman', 'sentiment']
    """
    fields = list(result.type) + [pa.field(name, rollup_type(name)) for name in rollups]
    arrays = [result.field(i) for i in range(result.type.num_fields)]
    arrays += [rollup_to_arrow(proba, name, labels) for name in rollups]
    return pa.StructArray.from_arrays(arrays, fields=fields)
