"""What is installed: registered models on this machine, and the software around them.

>>> [s.name for s in model_statuses()][:1]
['minilm-l6-go-emotions-v1']
>>> dict(environment())["onnxruntime providers"].count("CPUExecutionProvider")
1
"""
from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from ..errors import BundleError, ModelNotFoundError
from .bundle import MANIFEST
from .locate import hf_cache_dir, local_dirs, packaged_dir, resolve
from .manifest import UNVERIFIED
from .registry import REGISTRY, ModelInfo

PACKAGES = ("emospark", "numpy", "onnxruntime", "tokenizers", "pyarrow", "pandas", "pyspark", "huggingface_hub")


@dataclass(frozen=True)
class ModelStatus:
    """A registered model as found on this machine (``location`` None if absent)."""

    name: str
    license: str
    location: str | None
    size_bytes: int | None
    sha256: str  # "ok", "not checked: ...", "FAILED: ..." or "-" when absent


def model_status(info: ModelInfo) -> ModelStatus:
    """Find ``info``'s files locally (never downloads) and check them against the manifest."""
    try:
        bundle = resolve(info.name)
    except (ModelNotFoundError, BundleError):
        return ModelStatus(info.name, info.license, None, None, "-")
    files = [p for p in bundle.files().values() if p.is_file()]
    if not bundle.sha256:
        opted_out = (bundle.root / MANIFEST).is_file()
        check = f'not checked: its manifest says "sha256": "{UNVERIFIED}"' if opted_out else \
            "not checked: seed files carry no manifest"
    else:
        try:
            bundle.verify()
            check = "ok"
        except BundleError as exc:
            check = f"FAILED: {exc}"
    return ModelStatus(info.name, info.license, str(bundle.root), sum(p.stat().st_size for p in files), check)


def model_statuses() -> list[ModelStatus]:
    """:func:`model_status` of every registered model, in registry order."""
    return [model_status(info) for info in REGISTRY]


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def environment() -> list[tuple[str, str]]:
    """Versions, onnxruntime providers and model search paths, as (name, value) pairs."""
    import onnxruntime

    return [
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("platform", platform.platform()),
        ("cpus", str(os.cpu_count())),
        *((name, package_version(name)) for name in PACKAGES),
        ("onnxruntime providers", ", ".join(onnxruntime.get_available_providers())),
        ("packaged models", str(packaged_dir())),
        ("local models ($EMOSPARK_MODELS)", _shown_or_problem(lambda: os.pathsep.join(map(str, local_dirs())))),
        ("Hugging Face cache", _shown_or_problem(lambda: str(hf_cache_dir()))),
    ]


def _shown_or_problem(value) -> str:
    """A search path for `emospark info`, or what is wrong with its variable."""
    try:
        return value()
    except ModelNotFoundError as exc:
        return f"INVALID: {exc}"
