"""Every option of the Spark UDF, Transformer and SQL function, checked on the driver
before any job runs: :func:`check_options` returns them as plain values (strings,
numbers, tuples) that pickle without emospark, so a Python worker can unpickle the UDF
even where emospark is missing and say so itself (see :mod:`.udf`).

>>> opts = check_options(threshold={"joy": 0.2}, top_k=2, rollups=["sentiment"])
>>> opts.threshold, opts.top_k, opts.rollups
({'joy': 0.2}, 2, ('sentiment',))
>>> check_options(threshold=1.5)
Traceback (most recent call last):
...
emospark.errors.UsageError: threshold: 'threshold' must be a number in [0, 1] (a probability, e.g. 0.3), got 1.5
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...bundles.bundle import Bundle
from ...bundles.registry import REGISTRY, model_info
from ...core import thresholds
from ...core.options import LoadOptions, check_batch_size, check_rollups, check_schema_version, check_top_k
from ...core.schema import SCHEMA_VERSION
from ...errors import BundleError, ModelNotFoundError, UsageError
from ...labels import GO_EMOTIONS

LOAD_OPTIONS = ("long_texts", "aggregate", "overlap")
"""Keywords of :func:`emospark.load` that the Spark entry points pass to the executors."""


@dataclass(frozen=True)
class SparkOptions:
    """Checked options, plain values only (they travel to the executors).

    ``model`` is ``None``, a registered name, a bundle path, or ``("shipped", name)`` for
    :func:`~emospark.integrations.spark.ship_bundle`'s result."""

    model: str | tuple[str, str] | None = None
    threshold: float | tuple[float, ...] | dict[str, float] | None = None
    top_k: int | None = None
    batch_size: int | None = None
    threads: int | None = None
    rollups: tuple[str, ...] = ()
    schema_version: int = SCHEMA_VERSION
    load_options: dict[str, Any] = field(default_factory=dict)

    def score_options(self) -> dict[str, Any]:
        """The keywords of :func:`emospark.core.scoring.score_arrow`."""
        return {"threshold": self.threshold, "top_k": self.top_k, "rollups": self.rollups,
                "schema_version": self.schema_version, "batch_size": self.batch_size}


def check_options(
    model: Any = None,
    *,
    threshold: Any = None,
    top_k: Any = None,
    batch_size: Any = None,
    threads: Any = None,
    rollups: Any = (),
    schema_version: Any = SCHEMA_VERSION,
    **load_options: Any,
) -> SparkOptions:
    """Check the options of :func:`~emospark.integrations.spark.emotions_udf` and friends
    on the driver; raises :class:`~emospark.errors.UsageError` naming the bad value
    (:class:`~emospark.errors.ModelNotFoundError` / ``BundleError`` for the model)."""
    return SparkOptions(
        model=check_model(model),
        threshold=check_threshold(threshold),
        top_k=check_top_k(top_k),
        batch_size=None if batch_size is None else check_batch_size(batch_size),
        threads=None if threads is None else LoadOptions(threads=threads).threads,
        rollups=check_rollups(rollups),
        schema_version=check_schema_version(schema_version),
        load_options=check_load_options(load_options),
    )


def check_model(model: Any) -> str | tuple[str, str] | None:
    """None, a registered name, an existing bundle directory (checked here, on the
    driver) or a shipped bundle; anything else is an error."""
    from .shipping import ShippedBundle

    if model is None:
        return None
    if isinstance(model, ShippedBundle):
        return ("shipped", model.name)
    if not isinstance(model, (str, os.PathLike)):
        raise UsageError(f"model must be a registered name, a bundle directory or ship_bundle(...)'s result, "
                         f"got {model!r}")
    name = os.fspath(model)
    if isinstance(model, str) and name in {m.name for m in REGISTRY}:
        return name
    path = Path(name).expanduser()
    if not path.exists():
        if isinstance(model, str) and os.sep not in name:
            model_info(name)  # raises, listing the registered names
        raise ModelNotFoundError(f"model path {path} does not exist on the driver: give a path the driver and "
                                 "every executor can read, or ship the bundle with ship_bundle(spark, path)")
    bundle = Bundle.from_dir(path)
    if bundle.labels != GO_EMOTIONS:
        raise BundleError(f"model {path} has labels {list(bundle.labels)}; the Spark column holds the 28 "
                          "go_emotions labels")
    return str(path.resolve())


def check_threshold(threshold: Any) -> float | tuple[float, ...] | dict[str, float] | None:
    """One number in [0, 1], one per label, or ``{label: number}``, as plain floats."""
    return thresholds.check_threshold(threshold, GO_EMOTIONS)


def check_load_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``long_texts``, ``aggregate`` and ``overlap`` of :func:`emospark.load`; nothing else."""
    unknown = sorted(set(options) - set(LOAD_OPTIONS))
    if unknown:
        raise UsageError(f"unknown options {unknown}: the Spark UDF takes model, threshold, top_k, batch_size, "
                         f"threads, rollups, schema_version and {list(LOAD_OPTIONS)}")
    checked = {k: v for k, v in options.items() if v is not None}
    LoadOptions(**checked)
    return checked


def bundle_digest(path: str | os.PathLike) -> str:
    """sha256 of a bundle's manifest (which holds the sha256 of every file): what
    identifies a custom bundle in a saved pipeline stage."""
    return "sha256:" + hashlib.sha256((Path(path) / "emospark.json").read_bytes()).hexdigest()
