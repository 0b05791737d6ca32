"""Ekman and sentiment roll-ups: the paper's mapping, group score = max of members."""
from __future__ import annotations

import numpy as np
import pytest

from emospark.core.rollups import (
    EKMAN,
    ROLLUPS,
    SENTIMENT,
    add_rollups,
    groups,
    rollup_scores,
    rollup_to_arrow,
    rollup_type,
)
from emospark.core.schema import result_type, to_arrow
from emospark.labels import GO_EMOTIONS


@pytest.mark.parametrize("name", list(ROLLUPS))
def test_every_label_is_in_exactly_one_group(name):
    members = [lab for group in ROLLUPS[name].values() for lab in group]
    assert sorted(members) == sorted(GO_EMOTIONS)


def test_mapping_is_the_papers():
    assert groups("ekman") == ("anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral")
    assert groups("sentiment") == ("positive", "negative", "ambiguous", "neutral")
    assert set(SENTIMENT["ambiguous"]) == {"confusion", "curiosity", "realization", "surprise"}
    assert set(EKMAN["surprise"]) == set(SENTIMENT["ambiguous"])
    assert set(EKMAN["anger"]) == {"anger", "annoyance", "disapproval"}
    assert set(EKMAN["fear"]) == {"fear", "nervousness"}
    assert set(EKMAN["sadness"]) == {"sadness", "disappointment", "embarrassment", "grief", "remorse"}
    assert set(EKMAN["joy"]) == set(SENTIMENT["positive"])
    with pytest.raises(TypeError):
        EKMAN["joy"] = ("joy",)  # the mappings are read-only data


@pytest.mark.parametrize("name", list(ROLLUPS))
def test_group_score_is_the_max_of_its_members(name):
    rng = np.random.default_rng(3)
    proba = rng.random((50, 28), dtype=np.float32)
    proba[7] = np.nan
    got = rollup_scores(proba, name)
    assert got.dtype == np.float32 and got.shape == (50, len(ROLLUPS[name]))
    for g, members in enumerate(ROLLUPS[name].values()):
        for i in range(50):
            expected = max(proba[i, GO_EMOTIONS.index(m)] for m in members)
            assert got[i, g] == expected or (np.isnan(expected) and np.isnan(got[i, g]))


def test_label_order_of_the_model_is_followed():
    labels = GO_EMOTIONS[::-1]
    proba = np.zeros((1, 28), dtype=np.float32)
    proba[0, labels.index("disgust")] = 0.7
    assert rollup_scores(proba, "ekman", labels)[0, groups("ekman").index("disgust")] == pytest.approx(0.7)


def test_arrow_form_and_extra_struct_fields():
    proba = np.full((2, 28), 0.25, dtype=np.float32)
    proba[1] = np.nan
    arr = rollup_to_arrow(proba, "sentiment")
    assert arr.type == rollup_type("sentiment")
    assert arr.to_pylist() == [dict.fromkeys(groups("sentiment"), 0.25), dict.fromkeys(groups("sentiment"))]
    result = add_rollups(to_arrow(proba, [["joy"], []]), proba, ["sentiment", "ekman"])
    assert [f.name for f in result.type] == [*(f.name for f in result_type()), "sentiment", "ekman"]
    row = result.to_pylist()[0]
    assert row["labels"] == ["joy"] and row["ekman"]["fear"] == 0.25 and row["scores"]["joy"] == 0.25


def test_bad_rollups_are_refused():
    with pytest.raises(ValueError, match="unknown roll-up 'plutchik'"):
        rollup_scores(np.zeros((1, 28)), "plutchik")
    with pytest.raises(ValueError, match="lacks"):
        rollup_scores(np.zeros((1, 2)), "ekman", ("joy", "anger"))
