"""emospark: go_emotions scores for text columns, in pandas, Spark and pipelines.

>>> import emospark
>>> model = emospark.load()
>>> model.predict(["I love this, thank you!"])
[['gratitude', 'love']]
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec

from .bundles.bundle import Bundle
from .bundles.registry import DEFAULT_MODEL, REGISTRY
from .core.model import EmotionModel, load
from .errors import BundleError, EmosparkError, MissingExtraError, ModelNotFoundError
from .labels import GO_EMOTIONS

try:
    __version__ = version("emospark")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0+unknown"

if find_spec("pandas") is not None:  # registers DataFrame.emotions and Series.emotions
    from .integrations import pandas as _pandas  # noqa: F401

__all__ = [
    "Bundle",
    "BundleError",
    "DEFAULT_MODEL",
    "EmosparkError",
    "EmotionModel",
    "GO_EMOTIONS",
    "MissingExtraError",
    "ModelNotFoundError",
    "REGISTRY",
    "load",
]
