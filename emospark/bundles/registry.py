"""Registered models: frozen descriptions in one list.

Packaged models have versioned names (``minilm-l6-go-emotions-v1``, ``-v2``, ...): a version's
scores never change, and every version stays loadable by name after a newer one becomes the
default, so a pipeline can pin the scores it was built on. ``DEFAULT_MODEL`` (what
``emospark.load()`` gives) moves to new versions; ``minilm-l6-go-emotions``, the name the
first default shipped under, stays an alias of ``-v1``.

>>> from emospark.bundles.registry import REGISTRY, model_info
>>> [m.name for m in REGISTRY][0]
'minilm-l6-go-emotions-v1'
>>> model_info("minilm-l6-go-emotions").name
'minilm-l6-go-emotions-v1'
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
    aliases: tuple[str, ...] = ()  # other names that load this same model
    directory: str = ""  # packaged: the bundle's directory in emospark/bundles (default: name)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    @property
    def packaged_dir_name(self) -> str:
        return self.directory or self.name


DEFAULT_MODEL = "minilm-l6-go-emotions-v1"

REGISTRY: tuple[ModelInfo, ...] = (
    ModelInfo(
        name="minilm-l6-go-emotions-v1",
        description="all-MiniLM-L6-v2 fine-tuned on go_emotions, int8 encoder (per-row activation scales); ships inside the package",
        license="Apache-2.0",
        pooling="mean",
        max_length=128,
        packaged=True,
        aliases=("minilm-l6-go-emotions",),
        directory="minilm-l6-go-emotions",
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


def registered_names() -> list[str]:
    """Every name a registered model loads by: versioned names and their aliases."""
    return [n for info in REGISTRY for n in info.names]


def model_info(name: str) -> ModelInfo:
    """The registered model called ``name`` (or aliased so); the error lists the valid names."""
    for info in REGISTRY:
        if name in info.names:
            return info
    raise ModelNotFoundError(
        f"unknown model '{name}': registered models are {registered_names()}, "
        "or pass the path of a bundle directory"
    )
