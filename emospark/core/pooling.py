"""Pooling of token embeddings into sentence embeddings, as plain numpy functions.

>>> import numpy as np
>>> h = np.array([[[1.0, 0.0], [3.0, 4.0], [9.0, 9.0]]], dtype=np.float32)
>>> mask = np.array([[1, 1, 0]])
>>> mean_pool(h, mask).tolist()
[[2.0, 2.0]]
>>> cls_pool(h, mask).tolist()
[[1.0, 0.0]]
>>> l2_normalize(np.array([[3.0, 4.0]], dtype=np.float32)).tolist()
[[0.6000000238418579, 0.800000011920929]]
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..bundles.bundle import POOLING_MODES


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Average of the token vectors that the attention mask marks as real tokens."""
    m = mask.astype(hidden.dtype)[:, :, None]
    summed = np.einsum("btd,bto->bd", hidden, m)
    return summed / np.maximum(m.sum(axis=1), 1e-9)


def cls_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The first token's vector ([CLS] for BERT-style encoders)."""
    return hidden[:, 0, :]


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norm, 1e-12)


POOLINGS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "mean": mean_pool,
    "cls": cls_pool,
}
assert tuple(POOLINGS) == POOLING_MODES, "every pooling a bundle may name is implemented here"
