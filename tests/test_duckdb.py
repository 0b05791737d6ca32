"""DuckDB: the emotions() SQL function on a parquet file and a pandas frame, with the
generated real ONNX bundle; the same struct as the core, NULL rows included."""
from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import emospark.duckdb as ed
from emospark.core.model_cache import cached_model
from emospark.core.schema import result_type
from emospark.core.scoring import score_arrow

from .conftest import assert_same_results

TEXTS = ["I love this so much, thank you!", None, "why", "", "lol " * 40, "wow great", "sorry"]


@pytest.fixture(scope="module")
def model(tiny_bundle):
    return cached_model(str(tiny_bundle.root))


@pytest.fixture
def con(model):
    return ed.register(duckdb.connect(), model=model)


def core(model, texts, **options):
    return score_arrow(model, pa.array(texts, pa.string()), **options)


def test_parquet_file_in_order_with_nulls(con, model, tmp_path):
    texts = (TEXTS * 700)[:4500]  # more than two of DuckDB's 2,048-row chunks
    pq.write_table(pa.table({"id": range(len(texts)), "text": texts}), tmp_path / "comments.parquet")
    got = con.sql(f"SELECT id, emotions(text) AS e FROM '{tmp_path / 'comments.parquet'}' ORDER BY id").arrow()
    got = got.read_all() if hasattr(got, "read_all") else got
    assert got.column("e").type == result_type()
    assert_same_results(got.column("e"), core(model, texts))
    null_row = got.column("e").to_pylist()[1]
    assert null_row["top"] is None and null_row["labels"] == [] and set(null_row["scores"].values()) == {None}
    tops = con.sql(f"SELECT emotions(text).top FROM '{tmp_path / 'comments.parquet'}'").fetchall()
    assert sorted(t for (t,) in tops if t) == sorted(t for t in core(model, texts).field("top").to_pylist() if t)


def test_pandas_frame_and_options(model, tiny_bundle):
    comments = pd.DataFrame({"text": TEXTS})  # noqa: F841 (read by DuckDB's replacement scan below)
    con = ed.register(duckdb.connect(), "emo", model=str(tiny_bundle.root), top_k=1, threshold=0.0, rollups=["sentiment"],
                      schema_version=1)
    got = con.sql("SELECT emo(text) AS e FROM comments").arrow()
    got = got.read_all() if hasattr(got, "read_all") else got
    want = core(model, TEXTS, top_k=1, threshold=0.0, rollups=["sentiment"], schema_version=1)
    assert_same_results(got.column("e"), want)
    assert [f.name for f in want.type] == ["scores", "labels", "sentiment"]


def test_non_text_is_a_clear_emospark_error(con, model):
    with pytest.raises(duckdb.Error, match=r"emospark: emotions\(\) scores text, but its argument is INTEGER"):
        con.sql("SELECT emotions(x) FROM (VALUES (1), (2)) v(x)").fetchall()
    assert con.sql("SELECT emotions(NULL).top").fetchall() == [(None,)]
    enum = con.sql("SELECT emotions(x::ENUM('wow', 'sorry')).top AS t FROM (VALUES ('wow')) v(x)").fetchall()
    assert enum == [(core(model, ["wow"]).field("top")[0].as_py(),)]


def test_bad_name_and_options_fail_at_register(model):
    from emospark.errors import UsageError

    with pytest.raises(UsageError, match="plain SQL identifier"):
        ed.register(duckdb.connect(), "x; drop", model=model)
    with pytest.raises(ValueError, match="top_k"):
        ed.register(duckdb.connect(), model=model, top_k=0)


def test_callers_threads_do_not_oversubscribe_the_cores(tiny_bundle):
    """However many threads score at once (DuckDB's, Polars'), at most one encoder run per
    core is in flight: each run uses one onnxruntime thread."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from emospark import EmotionModel
    from emospark.core.encoder import available_cores

    model = EmotionModel(tiny_bundle, threads=2)
    real_run, lock, state = model.encoder.session.run, threading.Lock(), {"now": 0, "max": 0}

    class Counting:  # the real session, counting runs in flight
        def run(self, *args, **kwargs):
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            try:
                return real_run(*args, **kwargs)
            finally:
                with lock:
                    state["now"] -= 1

    model.encoder.session = Counting()
    texts = ["wow great " * (i % 9 + 1) for i in range(400)]
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda _: model.predict_proba(texts, batch_size=8), range(6)))
    assert 1 <= state["max"] <= available_cores()
