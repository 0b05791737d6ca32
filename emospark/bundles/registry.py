"""Registered models: frozen descriptions in one list.

>>> from emospark.bundles.registry import REGISTRY, model_info
>>> [m.name for m in REGISTRY][0]
'minilm-l6-go-emotions'
>>> model_info("bge-small-en-go-emotions").pooling
'cls'
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ModelNotFoundError


@dataclass(frozen=True)
class HubFiles:
    """Files taken from one Hugging Face repository."""

    repo_id: str
    files: tuple[str, ...]
    revision: str = "main"


@dataclass(frozen=True)
class ModelInfo:
    """A registered model: either a bundle shipped inside the package (``packaged``),
    or a seed pairing a published encoder with a published go_emotions head."""

    name: str
    description: str
    license: str
    pooling: str
    max_length: int
    packaged: bool = False
    encoder: HubFiles | None = None
    classifier: HubFiles | None = None


DEFAULT_MODEL = "minilm-l6-go-emotions"

REGISTRY: tuple[ModelInfo, ...] = (
    ModelInfo(
        name=DEFAULT_MODEL,
        description="all-MiniLM-L6-v2 fine-tuned on go_emotions, int8 encoder (per-row activation scales); ships inside the package",
        license="Apache-2.0",
        pooling="mean",
        max_length=128,
        packaged=True,
    ),
    ModelInfo(
        name="all-MiniLM-L12-v2-go-emotions",
        description="sentence-transformers/all-MiniLM-L12-v2 with SamLowe's go_emotions linear head",
        license="Apache-2.0 (encoder), MIT (head)",
        pooling="mean",
        max_length=128,
        encoder=HubFiles("sentence-transformers/all-MiniLM-L12-v2", ("onnx/model.onnx", "tokenizer.json")),
        classifier=HubFiles(
            "SamLowe/all-MiniLM-L12-v2-go_emotions-classifier-onnx", ("model.onnx", "thresholds.json")
        ),
    ),
    ModelInfo(
        name="bge-small-en-go-emotions",
        description="BAAI/bge-small-en (CLS pooling) with SamLowe's go_emotions linear head",
        license="MIT",
        pooling="cls",
        max_length=512,
        encoder=HubFiles("BAAI/bge-small-en", ("onnx/model.onnx", "tokenizer.json")),
        classifier=HubFiles("SamLowe/bge-small-en-go_emotions-classifier-onnx", ("model.onnx", "thresholds.json")),
    ),
)


def model_info(name: str) -> ModelInfo:
    """The registered model called ``name``; the error lists the valid names."""
    for info in REGISTRY:
        if info.name == name:
            return info
    raise ModelNotFoundError(
        f"unknown model '{name}': registered models are {[m.name for m in REGISTRY]}, "
        "or pass the path of a bundle directory"
    )
