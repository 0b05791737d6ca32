from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from emospark import Bundle
from emospark.core.schema import result_type

from . import hypothesis_profiles  # noqa: F401  (registers and loads the ci/local profiles)
from .fixtures import make_seed

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "go_emotions"
NO_DEV = (
    f"go_emotions dev.tsv is not at {SHARED_DATA} (beside the repository); to run this test, put the go_emotions "
    "data/dev.tsv (text, comma-separated label ids, id) from github.com/google-research/google-research "
    "(goemotions/data) there; tests that need only a few labelled rows use docs/examples/labelled.tsv"
)


@pytest.fixture(scope="session")
def seed_dirs(tmp_path_factory) -> tuple[Path, Path]:
    """A generated seed model: optimum-style encoder dir + published-format head dir."""
    return make_seed(tmp_path_factory.mktemp("seed"))


@pytest.fixture(scope="session")
def tiny_bundle(seed_dirs, tmp_path_factory) -> Bundle:
    """The generated seed saved as a full bundle (manifest with sha256)."""
    enc, head = seed_dirs
    parts = Bundle.from_parts("tiny", enc, head, pooling="mean", max_length=32)
    return parts.save(tmp_path_factory.mktemp("bundle") / "tiny")


@pytest.fixture
def bundle_copy(tiny_bundle, tmp_path) -> Bundle:
    """A private copy of the tiny bundle that a test may damage."""
    import shutil

    shutil.copytree(tiny_bundle.root, tmp_path / "tiny")
    return Bundle.from_dir(tmp_path / "tiny")


@pytest.fixture(scope="session")
def spark():
    """The test session's one local[2] SparkSession (one SparkContext per process)."""
    from pyspark.sql import SparkSession

    from .spark_cluster import LOCAL_CONF

    builder = SparkSession.builder.master("local[2]").appName("emospark-tests")
    for key, value in LOCAL_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    yield session
    session.stop()


def assert_same_rows(got: pa.Array | pa.ChunkedArray, want: pa.Array, atol: float = 1e-6) -> None:
    """Same Arrow type, same labels, scores equal within ``atol`` (nulls in the same places)."""
    assert got.type == result_type() == want.type
    got_rows, want_rows = got.to_pylist(), want.to_pylist()
    assert len(got_rows) == len(want_rows)
    for i, (g, w) in enumerate(zip(got_rows, want_rows, strict=True)):
        assert (g["labels"], g["english"]) == (w["labels"], w["english"]), f"row {i}"
        gs = np.array(list(g["scores"].values()), dtype=float)
        ws = np.array(list(w["scores"].values()), dtype=float)
        np.testing.assert_allclose(gs, ws, atol=atol, err_msg=f"row {i}")  # NaN (null) matches NaN


def assert_same_results(got: pa.Array | pa.ChunkedArray, want: pa.Array, atol: float = 1e-6) -> None:
    """Same Arrow type (any schema version or roll-ups), same labels and top, every float
    within ``atol`` (nulls in the same places): results scored in other batches may differ
    in the last bits of a float sum."""
    if isinstance(got, pa.ChunkedArray):
        got = got.combine_chunks()
    assert got.type == want.type
    numbers = lambda row: [  # noqa: E731
        np.nan if v is None else v
        for value in row.values() if not isinstance(value, (list, str))
        for v in (value.values() if isinstance(value, dict) else [value])
    ]
    for i, (g, w) in enumerate(zip(got.to_pylist(), want.to_pylist(), strict=True)):
        assert (g["labels"], g.get("top"), g.get("english")) == (w["labels"], w.get("top"), w.get("english")), f"row {i}"
        np.testing.assert_allclose(np.array(numbers(g), float), np.array(numbers(w), float), atol=atol, err_msg=f"row {i}")
