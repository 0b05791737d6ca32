"""The classifier head in the published go_emotions ONNX format.

One input (the [N, D] sentence embeddings, named ``logits`` in the published heads)
and one output per label, named by the label, each [N, 2] = (negative, positive)
probability. Outputs come in no particular order; they are fetched by name.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..bundles.bundle import Bundle
from ..errors import BundleError
from .runtime import make_session


class Classifier:
    """Maps embeddings to per-label positive probabilities, columns in label order."""

    def __init__(self, bundle: Bundle, *, threads: int | None = None, providers: Sequence[str] | None = None):
        self.path = bundle.classifier
        self.session = make_session(bundle.classifier, "classifier", threads=threads, providers=providers)
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 2:
            raise BundleError(
                f"classifier {self.path} must take one [N, D] input (the embeddings); "
                f"it declares {[(i.name, i.shape) for i in inputs]}"
            )
        self.input = inputs[0].name
        dim = inputs[0].shape[1]
        self.dim = dim if isinstance(dim, int) else None
        names = [o.name for o in self.session.get_outputs()]
        missing = [lab for lab in bundle.labels if lab not in names]
        extra = [n for n in names if n not in bundle.labels]
        if missing or extra:
            raise BundleError(
                f"classifier {self.path} must have exactly one output per label; "
                f"missing {missing}, unexpected {extra}"
            )
        self.outputs = list(bundle.labels)

    def check_accepts(self, dim: int) -> None:
        """Fail with a clear message if ``dim``-sized embeddings do not fit, and check
        each output is [N, 2] probabilities."""
        if self.dim is not None and self.dim != dim:
            raise BundleError(
                f"the encoder makes {dim}-dimensional embeddings but classifier {self.path} accepts {self.dim}"
            )
        try:
            outs = self.session.run(self.outputs, {self.input: np.zeros((1, dim), dtype=np.float32)})
        except Exception as exc:
            raise BundleError(f"classifier {self.path} does not accept {dim}-dimensional embeddings: {exc}") from None
        bad = [n for n, o in zip(self.outputs, outs, strict=True) if o.shape != (1, 2)]
        if bad:
            raise BundleError(f"classifier {self.path}: outputs {bad} are not [N, 2] (negative, positive)")

    def __call__(self, embeddings: np.ndarray) -> np.ndarray:
        """Positive-class probabilities, shape (N, labels), float32."""
        outs = self.session.run(self.outputs, {self.input: embeddings.astype(np.float32, copy=False)})
        return np.stack([o[:, 1] for o in outs], axis=1).astype(np.float32, copy=False)
