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
from emospark.core.language import english_flags
from emospark.core.model_cache import cached_model
from emospark.core.schema import result_type, to_arrow

from .conftest import SHARED_DATA, assert_same_rows

TEXTS = ["I love this so much, thank you!", None, "why", "", "lol", "wow great", "sorry", float("nan"), pd.NA]


@pytest.fixture(scope="module")
def model(tiny_bundle) -> EmotionModel:
    return cached_model(str(tiny_bundle.root))


@pytest.fixture
def df() -> pd.DataFrame:
    return pd.DataFrame({"id": range(len(TEXTS)), "text": TEXTS}, index=[9, 3, 3, 7, 0, -1, 8, 2, 5])


def core_result(model: EmotionModel, texts: list, **options) -> pa.StructArray:
    proba = model.predict_proba(texts)
    return to_arrow(proba, model.labels_from_proba(proba, **options), model.labels, english=english_flags(texts))


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


LABEL_COLS = [f"emotions_{lab}" for lab in emospark.GO_EMOTIONS]


def test_expand_gives_prefixed_label_columns_labels_and_top(df, model):
    out = df.emotions.score(expand=True, model=model)
    assert list(out.columns) == ["id", "text", *LABEL_COLS, "emotions_labels", "emotions_top", "emotions_top_score", "emotions_english"]
    assert (out[LABEL_COLS].dtypes == np.float32).all()
    proba = model.predict_proba(TEXTS)
    np.testing.assert_array_equal(out[LABEL_COLS].to_numpy(), proba)
    assert out["emotions_labels"].dtype == pd.ArrowDtype(pa.list_(pa.string()))
    assert [list(x) for x in out["emotions_labels"]] == model.predict(TEXTS)
    present = ~np.isnan(proba).all(axis=1)
    want_top = [emospark.GO_EMOTIONS[j] if ok else None for j, ok in zip(np.nanargmax(np.nan_to_num(proba, nan=-1), axis=1), present, strict=True)]
    assert [None if pd.isna(t) else t for t in out["emotions_top"]] == want_top
    assert out.index.equals(df.index)


def test_expand_honours_out_col_and_prefix(df, model):
    out = df.emotions.score(out_col="e", expand=True, model=model)
    assert list(out.columns)[2:4] == ["e_admiration", "e_amusement"] and "e_top" in out.columns
    out = df.emotions.score(expand=True, prefix="p", model=model)
    assert "p_joy" in out.columns and "p_labels" in out.columns
    series = df["text"].emotions.score(expand=True, name="s", model=model)
    assert list(series.columns)[0] == "s_admiration"


def test_name_clash_is_an_error_unless_overwrite(df, model):
    from emospark.errors import UsageError

    taken = df.assign(joy=1.0, labels="x", emotions_joy=0.5)
    with pytest.raises(UsageError, match=r"the result columns \['emotions_joy'\] are already in the table.*overwrite=True"):
        taken.emotions.score(expand=True, model=model)
    with pytest.raises(UsageError, match=r"\['emotions'\] are already in the table"):
        df.assign(emotions=1).emotions.score(model=model)
    out = taken.emotions.score(expand=True, model=model, overwrite=True)
    assert out["joy"].tolist() == [1.0] * len(df) and out["labels"].tolist() == ["x"] * len(df)  # inputs untouched
    np.testing.assert_array_equal(out["emotions_joy"].to_numpy(), model.predict_proba(TEXTS)[:, emospark.GO_EMOTIONS.index("joy")])
    assert list(taken.columns) == list(out.columns)[: len(taken.columns)]


def test_series_accessor_matches_the_frame_accessor(df, model):
    series = df["text"].emotions.score(model=model, name="e")
    assert series.name == "e" and series.index.equals(df.index)
    assert series.tolist() == df.emotions.score(model=model)["emotions"].tolist()
    wide = df["text"].emotions.score(expand=True, model=model)
    assert wide.equals(df.emotions.score(expand=True, model=model).drop(columns=["id", "text"]))


def test_progress_bar_per_batch_is_captured(df, model, capsys):
    texts = pd.Series(["wow great", "sorry", None, "i hate it"] * 25)
    texts.emotions.score(model=model, progress=True, batch_size=10)
    err = capsys.readouterr().err
    assert "75/75" in err and "emotions" in err  # 75 texts (25 missing), batches of 10
    texts.emotions.score(model=model, progress=False)
    texts.emotions.score(model=model)  # auto: off for 100 rows and in a test (no tty)
    assert capsys.readouterr().err == ""


def test_progress_counts_every_batch(model):
    class Counting:
        def __init__(self):
            self.updates = []

        def update(self, n):
            self.updates.append(n)

    bar = Counting()
    model.predict_proba(["wow", "sorry", None, "i hate it so much"] * 30, batch_size=4, progress=bar)
    assert sum(bar.updates) == 90 and len(bar.updates) >= 90 // 4


def test_options_pass_through_to_the_core(df, model, tiny_bundle):
    by_path = df.emotions.score("text", "scored", model=str(tiny_bundle.root), threshold=0.0, top_k=2)
    assert pa.array(by_path["scored"].array).equals(core_result(model, TEXTS, threshold=0.0, top_k=2))
    one_by_one = df.emotions.score(model=model, batch_size=1)["emotions"]  # float sums may differ in the last bit
    assert_same_rows(pa.array(one_by_one.array), core_result(model, TEXTS), atol=1e-6)
    per_label = df.emotions.score(model=model, threshold={"surprise": 0.0})["emotions"]
    assert all("surprise" in row["labels"] for row, t in zip(per_label, TEXTS, strict=True) if isinstance(t, str))
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
    for row, want in zip(rows, rollup_scores(proba, "ekman"), strict=True):
        got = [np.nan if v is None else v for v in row["ekman"].values()]
        np.testing.assert_allclose(got, want, atol=1e-6)
    wide = df.emotions.score(model=model, expand=True, rollups=["sentiment"])
    np.testing.assert_allclose(
        wide[[f"emotions_sentiment_{g}" for g in groups("sentiment")]].to_numpy(dtype=float),
        rollup_scores(proba, "sentiment"),
        atol=1e-6,
    )
    with pytest.raises(ValueError, match=r"unknown roll-up 'plutchik': choose from \['ekman', 'sentiment'\]"):
        df.emotions.score(model=model, rollups=["plutchik"])
