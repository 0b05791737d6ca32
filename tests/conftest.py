from __future__ import annotations

from pathlib import Path

import pytest

from emospark import Bundle

from .fixtures import make_seed

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "go_emotions"


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
