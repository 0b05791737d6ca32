"""The pandas accessors on the generated real ONNX bundle (and the default one when built)."""
from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import emospark
from emospark import EmotionModel, MissingExtraError
from emospark.core.model_cache import cached_model
from emospark.core.schema import result_type, to_arrow

from .conftest import SHARED_DATA

TEXTS = ["I love this so much, thank you!", None, "why", "", "lol", "wow great", "sorry", float("nan"), pd.NA]


@pytest.fixture(scope="module")
def model(tiny_bundle) -> EmotionModel:
    return cached_model(str(tiny_bundle.root))


@pytest.fixture
def df() -> pd.DataFrame:
    return pd.DataFrame({"id": range(len(TEXTS)), "text": TEXTS}, index=[9, 3, 3, 7, 0, -1, 8, 2, 5])


def core_result(model: EmotionModel, texts: list, **options) -> pa.StructArray:
    proba = model.predict_proba(texts)
    return to_arrow(proba, model.labels_from_proba(proba, **options), model.labels)


def test_struct_column_is_the_shared_arrow_type_and_equals_the_core(df, model):
    out = df.emotions.score(model=model)
    assert out["emotions"].dtype == pd.ArrowDtype(result_type())
    assert pa.array(out["emotions"].array).equals(core_result(model, TEXTS))
    assert out.index.equals(df.index) and out["id"].tolist() == df["id"].tolist()
    assert list(out.columns) == ["id", "text", "emotions"]
    assert "emotions" not in df.columns  # a new DataFrame


def test_missing_texts_get_null_scores_and_no_labels(df, model):
    rows = df.emotions.score(model=model)["emotions"].tolist()
    for i in (1, 7, 8):
        assert rows[i]["labels"] == [] and set(rows[i]["scores"].values()) == {None}
    assert None not in rows[3]["scores"].values()  # the empty string is scored


def test_expand_gives_label_columns_and_a_labels_column(df, model):
    out = df.emotions.score(expand=True, model=model)
    assert list(out.columns) == ["id", "text", *emospark.GO_EMOTIONS, "labels"]
    assert (out[list(emospark.GO_EMOTIONS)].dtypes == np.float32).all()
    np.testing.assert_array_equal(out[list(emospark.GO_EMOTIONS)].to_numpy(), model.predict_proba(TEXTS))
    assert out["labels"].dtype == pd.ArrowDtype(pa.list_(pa.string()))
    assert [list(x) for x in out["labels"]] == model.predict(TEXTS)
    assert out.index.equals(df.index)


def test_series_accessor_matches_the_frame_accessor(df, model):
    series = df["text"].emotions.score(model=model, name="e")
    assert series.name == "e" and series.index.equals(df.index)
    assert series.tolist() == df.emotions.score(model=model)["emotions"].tolist()
    wide = df["text"].emotions.score(expand=True, model=model)
    assert wide.equals(df.emotions.score(expand=True, model=model).drop(columns=["id", "text"]))


def test_options_pass_through_to_the_core(df, model, tiny_bundle):
    by_path = df.emotions.score("text", "scored", model=str(tiny_bundle.root), threshold=0.0, top_k=2, batch_size=1)
    assert pa.array(by_path["scored"].array).equals(core_result(model, TEXTS, threshold=0.0, top_k=2))
    per_label = df.emotions.score(model=model, threshold={"surprise": 0.0})["emotions"]
    assert all("surprise" in row["labels"] for row, t in zip(per_label, TEXTS) if isinstance(t, str))
    with pytest.raises(ValueError, match="top_k"):
        df.emotions.score(model=model, top_k=0)


def test_text_dtypes_accepted(model):
    texts = ["wow", None, "sorry"]
    want = core_result(model, texts)
    for dtype in (object, "string", pd.ArrowDtype(pa.string()), "category"):
        got = pd.DataFrame({"text": pd.Series(texts, dtype=dtype)}).emotions.score(model=model)["emotions"]
        assert pa.array(got.array).equals(want), dtype


def test_clear_errors(df, model):
    with pytest.raises(ValueError, match=r"no column 'txt' to score: the DataFrame's columns are \['id', 'text'\]"):
        df.emotions.score("txt", model=model)
    with pytest.raises(TypeError, match="column 'id' has dtype int64, not text"):
        df.emotions.score("id", model=model)
    with pytest.raises(TypeError, match=r"texts\[1\] is int"):
        pd.DataFrame({"text": ["a", 5]}).emotions.score(model=model)
    with pytest.raises(ValueError, match="not unique"):
        pd.DataFrame([["a", "b"]], columns=["text", "text"]).emotions.score(model=model)
    with pytest.raises(TypeError, match="dtype float64, not text"):
        pd.Series([1.5]).emotions.score(model=model)


def test_accessor_holds_only_the_pandas_object(df):
    frame_accessor, series_accessor = df.emotions, df["text"].emotions
    assert list(vars(frame_accessor)) == ["_df"] and frame_accessor._df is df
    assert list(vars(series_accessor)) == ["_series"] and series_accessor._series.equals(df["text"])


def test_empty_frame(model):
    out = pd.DataFrame({"text": pd.Series([], dtype="string")}).emotions.score(model=model)
    assert len(out) == 0 and out["emotions"].dtype == pd.ArrowDtype(result_type())


def test_core_works_without_pandas(tiny_bundle):
    """With pandas unimportable, `import emospark` and the core work; the accessor names the extra."""
    script = f"""
import sys
sys.modules["pandas"] = None  # what an environment without pandas looks like to `import`
import pickle, emospark
print(emospark.load({str(tiny_bundle.root)!r}).predict(["wow"]) is not None, "pandas_accessor" in dir(emospark))
try:
    import emospark.integrations.pandas
except emospark.MissingExtraError as exc:
    print(pickle.loads(pickle.dumps(exc)))
"""
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "True False",
        "the pandas accessor (df.emotions) needs the 'pandas' package: pip install \"emospark[pandas]\"",
    ]
    assert isinstance(pickle.loads(pickle.dumps(MissingExtraError("x"))), MissingExtraError)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from(["wow", "sorry", "i hate it", ""]), st.text(max_size=30)), max_size=12),
    st.randoms(use_true_random=False),
)
def test_rows_follow_their_index_whatever_the_order(tiny_bundle, texts, rnd):
    model = cached_model(str(tiny_bundle.root))
    index = list(range(len(texts)))
    rnd.shuffle(index)
    series = pd.Series(texts, index=index, dtype=object)
    out = series.emotions.score(model=model)
    assert out.index.tolist() == index
    assert pa.array(out.array).equals(core_result(model, texts))


def test_default_bundle_pandas_equals_core():
    dev = SHARED_DATA / "dev.tsv"
    texts = [line.split("\t")[0] for line in dev.read_text().splitlines()[:300]] if dev.is_file() else TEXTS
    frame = pd.DataFrame({"text": texts + [None]})
    got = frame.emotions.score()
    assert pa.array(got["emotions"].array).equals(core_result(emospark.load(), texts + [None]))


def test_parquet_round_trip_keeps_the_struct(df, model, tmp_path):
    out = df.emotions.score(model=model)
    out.to_parquet(tmp_path / "scored.parquet")
    back = pd.read_parquet(tmp_path / "scored.parquet", dtype_backend="pyarrow")  # as docs/pandas.md says
    assert back["emotions"].dtype.pyarrow_dtype == result_type()  # Parquet names list items "element"
    assert back.index.tolist() == df.index.tolist()
    assert back["emotions"].tolist() == out["emotions"].tolist()


def test_rollups_as_struct_fields_and_columns(df, model):
    from emospark.core.rollups import groups, rollup_scores

    proba = model.predict_proba(df["text"])
    out = df.emotions.score(model=model, rollups=["ekman", "sentiment"])
    assert out["emotions"].dtype == pd.ArrowDtype(
        result_type(rollups={"ekman": groups("ekman"), "sentiment": groups("sentiment")})
    )
    rows = out["emotions"].tolist()
    for row, want in zip(rows, rollup_scores(proba, "ekman")):
        got = [np.nan if v is None else v for v in row["ekman"].values()]
        np.testing.assert_allclose(got, want, atol=1e-6)
    wide = df.emotions.score(model=model, expand=True, rollups=["sentiment"])
    np.testing.assert_allclose(
        wide[[f"sentiment_{g}" for g in groups("sentiment")]].to_numpy(dtype=float),
        rollup_scores(proba, "sentiment"),
        atol=1e-6,
    )
    with pytest.raises(ValueError, match=r"unknown roll-up 'plutchik': choose from \['ekman', 'sentiment'\]"):
        df.emotions.score(model=model, rollups=["plutchik"])
