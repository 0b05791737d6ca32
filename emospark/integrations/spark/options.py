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
emospark.errors.UsageError: threshold must be a number in [0, 1], one per label (28), or {label: number}; got 1.5
"""
from __future__ import annotations

import hashlib
import math
import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...bundles.bundle import Bundle
from ...bundles.registry import REGISTRY, model_info
from ...core.model import AGGREGATES, LONG_TEXTS
from ...core.rollups import ROLLUPS
from ...core.schema import SCHEMA_VERSIONS, SCHEMA_VERSION
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
        top_k=optional_positive(top_k, "top_k"),
        batch_size=optional_positive(batch_size, "batch_size"),
        threads=optional_positive(threads, "threads"),
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
    problem = (f"threshold must be a number in [0, 1], one per label ({len(GO_EMOTIONS)}), or {{label: number}}; "
               f"got {threshold!r}")
    if threshold is None:
        return None
    if isinstance(threshold, Mapping):
        unknown = sorted(str(k) for k in threshold if k not in GO_EMOTIONS)
        if unknown:
            raise UsageError(f"unknown labels in threshold: {unknown}; labels are {list(GO_EMOTIONS)}")
        values = {str(k): unit_number(v, problem) for k, v in threshold.items()}
        return values
    if is_number(threshold):
        return unit_number(threshold, problem)
    if isinstance(threshold, (str, bytes)) or not isinstance(threshold, Sequence) and not hasattr(threshold, "tolist"):
        raise UsageError(problem)
    values = tuple(unit_number(v, problem) for v in list(threshold))
    if len(values) != len(GO_EMOTIONS):
        raise UsageError(problem)
    return values


def is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def unit_number(value: Any, problem: str) -> float:
    if not is_number(value) or not 0 <= float(value) <= 1 or math.isnan(float(value)):
        raise UsageError(problem)
    return float(value)


def optional_positive(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise UsageError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_rollups(rollups: Any) -> tuple[str, ...]:
    """Roll-up names (a single name is accepted), each once."""
    names = (rollups,) if isinstance(rollups, str) else tuple(rollups or ())
    for name in names:
        if name not in ROLLUPS:
            raise UsageError(f"unknown roll-up {name!r}: choose from {list(ROLLUPS)}")
    if len(set(names)) != len(names):
        raise UsageError(f"each roll-up may be given once, got {list(names)}")
    return names


def check_schema_version(version: Any) -> int:
    if isinstance(version, bool) or version not in SCHEMA_VERSIONS:
        raise UsageError(f"schema_version must be one of {list(SCHEMA_VERSIONS)}, got {version!r}")
    return int(version)


def check_load_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``long_texts``, ``aggregate`` and ``overlap`` of :func:`emospark.load`; nothing else."""
    unknown = sorted(set(options) - set(LOAD_OPTIONS))
    if unknown:
        raise UsageError(f"unknown options {unknown}: the Spark UDF takes model, threshold, top_k, batch_size, "
                         f"threads, rollups, schema_version and {list(LOAD_OPTIONS)}")
    checked = {k: v for k, v in options.items() if v is not None}
    for name, allowed in (("long_texts", LONG_TEXTS), ("aggregate", AGGREGATES)):
        if name in checked and checked[name] not in allowed:
            raise UsageError(f"{name} must be one of {list(allowed)}, got {checked[name]!r}")
    if "overlap" in checked and (isinstance(checked["overlap"], bool)
                                 or not isinstance(checked["overlap"], numbers.Integral) or checked["overlap"] < 0):
        raise UsageError(f"overlap must be a non-negative integer, got {checked['overlap']!r}")
    return checked


def bundle_digest(path: str | os.PathLike) -> str:
    """sha256 of a bundle's manifest (which holds the sha256 of every file): what
    identifies a custom bundle in a saved pipeline stage."""
    return "sha256:" + hashlib.sha256((Path(path) / "emospark.json").read_bytes()).hexdigest()
