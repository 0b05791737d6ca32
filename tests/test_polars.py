"""Polars: expression namespace, frame namespaces and the plain function, on the generated
real ONNX bundle: eager, lazy and streaming; the same struct as the core."""
from __future__ import annotations

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import emospark.polars as ep
from emospark.core.model_cache import cache_key, cached_model, load_counts
from emospark.core.schema import result_type
from emospark.core.scoring import score_arrow
from emospark.errors import InputError, UsageError

from .conftest import assert_same_results

TEXTS = ["I love this so much, thank you!", None, "why", "", "lol " * 40, "wow great", "sorry"]


@pytest.fixture(scope="module")
def path(tiny_bundle) -> str:
    return str(tiny_bundle.root)


@pytest.fixture(scope="module")
def model(path):
    return cached_model(path)


def core(model, texts, **options) -> pa.StructArray:
    return score_arrow(model, pa.array(texts, pa.string()), **options)


def test_eager_expression_equals_the_core(model, path):
    df = pl.DataFrame({"id": range(len(TEXTS)), "text": TEXTS})
    out = df.with_columns(pl.col("text").emotions.score(model=path).alias("emotions"))
    assert out.columns == ["id", "text", "emotions"]
    assert_same_results(out["emotions"].to_arrow().cast(result_type()), core(model, TEXTS))
    assert out["emotions"].struct.field("top").to_list()[1] is None


def test_lazy_plan_does_not_load_the_model(bundle_copy):
    path = str(bundle_copy.root)
    lf = pl.LazyFrame({"text": TEXTS}).with_columns(ep.score("text", model=path, rollups=["ekman"]).alias("e"))
    schema = lf.collect_schema()
    lf.explain()
    assert cache_key(path) not in load_counts()  # building and describing the plan loaded nothing
    assert schema["e"] == ep.score_dtype(path, ["ekman"]) and schema["e"].fields[-1].name == "ekman"
    out = lf.collect()
    assert load_counts()[cache_key(path)] == 1
    want = core(cached_model(path), TEXTS, rollups=["ekman"])
    assert_same_results(out["e"].to_arrow().cast(want.type), want)


class Counting:
    def __init__(self):
        self.rows = 0

    def update(self, n):
        self.rows += n


def test_streaming_and_head_score_in_batches(model, path):
    texts = [f"wow great {i}" if i % 7 else None for i in range(3000)]
    lf = pl.LazyFrame({"text": texts})
    bar = Counting()
    streamed = lf.with_columns(ep.score("text", model=path, progress=bar).alias("e")).collect(engine="streaming")
    assert_same_results(streamed["e"].to_arrow().cast(result_type()), core(model, texts))
    assert bar.rows == sum(t is not None for t in texts)
    bar = Counting()
    head = lf.with_columns(ep.score("text", model=path, progress=bar).alias("e")).head(5).collect()
    assert head.height == 5 and bar.rows < 100  # elementwise: head(5) does not score all 3,000 rows


def test_frame_namespace_expand_prefix_and_clash(model, path):
    df = pl.DataFrame({"text": TEXTS, "emotions_joy": [1.0] * len(TEXTS)})
    with pytest.raises(UsageError, match=r"\['emotions_joy'\] are already in the table"):
        df.emotions.score("text", expand=True, model=path)
    out = df.emotions.score("text", expand=True, model=path, overwrite=True)
    assert out.columns[:3] == ["text", "emotions_joy", "emotions_admiration"]
    assert out["emotions_joy"].to_list()[0] != 1.0
    assert out.height == len(TEXTS)
    wide = df.emotions.score("text", "r", expand=True, model=path)
    assert {"r_labels", "r_top", "r_top_score", "r_admiration"} <= set(wide.columns)
    assert wide["r_top"].to_list() == core(model, TEXTS).field("top").to_pylist()
    assert df.emotions.score("text", "s", expand=True, prefix="p", model=path).columns[2] == "p_admiration"
    nested = df.emotions.score("text", model=path, schema_version=1)
    assert [f.name for f in nested.schema["emotions"].fields] == ["scores", "labels"]
    lazy = df.lazy().emotions.score("text", "e", model=path).collect()
    assert_same_results(lazy["e"].to_arrow().cast(result_type()), core(model, TEXTS))


def test_non_text_and_missing_columns_are_clear_emospark_errors(path):
    df = pl.DataFrame({"n": [1, 2], "text": ["a", "b"]})
    with pytest.raises(InputError, match="column 'n' holds Int64, not text"):
        df.emotions.score("n", model=path)
    with pytest.raises(InputError, match="no column 'txt'"):
        df.emotions.score("txt", model=path)
    with pytest.raises(Exception, match="column 'n' holds Int64, not text"):
        df.select(pl.col("n").emotions.score(model=path))
    cats = pl.DataFrame({"text": pl.Series(["wow", None], dtype=pl.Categorical)})
    assert cats.emotions.score(model=path)["emotions"].struct.field("top").to_list()[1] is None


def test_progress_one_bar_for_the_frame(path, capsys):
    pl.DataFrame({"text": ["wow"] * 40}).emotions.score(model=path, progress=True)
    assert "40/40" in capsys.readouterr().err


@settings(max_examples=25, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["wow", "sorry", ""]), st.text(max_size=30)), max_size=15))
def test_any_texts_equal_the_core(tiny_bundle, texts):
    model = cached_model(str(tiny_bundle.root))
    out = pl.DataFrame({"text": pl.Series(texts, dtype=pl.String)}).emotions.score(model=model)
    assert_same_results(out["emotions"].to_arrow().cast(result_type()), core(model, texts))
