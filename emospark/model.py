"""The scorer: texts in, 28 go_emotions probabilities and thresholded labels out."""
from __future__ import annotations

import os
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .bundle import Bundle
from .classifier import Classifier
from .encoder import Encoder
from .inputs import split_missing
from .locate import resolve

CHUNK = 4096  # texts tokenized at once: bounds memory on long inputs


class EmotionModel:
    """A loaded bundle, ready to score. Safe to share between threads.

    >>> import emospark
    >>> model = emospark.load()
    >>> model.labels[:3]
    ('admiration', 'amusement', 'anger')
    >>> P = model.predict_proba(["Thank you so much!", None])
    >>> P.shape, bool(P[0, model.labels.index("gratitude")] > 0.5), bool(np.isnan(P[1]).all())
    ((2, 28), True, True)
    >>> model.predict(["Thank you so much!"])
    [['gratitude']]
    """

    def __init__(
        self,
        bundle: Bundle,
        *,
        threads: int | None = None,
        providers: Sequence[str] | None = None,
        batch_size: int = 32,
        verify: bool = True,
    ):
        if verify:
            bundle.verify()
        self.bundle = bundle
        self.batch_size = _positive(batch_size, "batch_size")
        self.labels: tuple[str, ...] = tuple(bundle.labels)
        table = bundle.read_thresholds()
        self.thresholds = np.array([table[lab] for lab in self.labels], dtype=np.float32)
        self.thresholds.setflags(write=False)
        self.encoder = Encoder(bundle, threads=threads, providers=providers)
        self.classifier = Classifier(bundle, threads=threads, providers=providers)
        self.classifier.check_accepts(self.encoder.dim)

    @property
    def name(self) -> str:
        return self.bundle.name

    def __repr__(self) -> str:
        return f"EmotionModel(name={self.name!r}, labels={len(self.labels)}, root={str(self.bundle.root)!r})"

    def embed(self, texts: Iterable[Any], *, batch_size: int | None = None) -> np.ndarray:
        """Sentence embeddings (n, dim), float32; NaN rows for missing texts."""
        return self._rows(texts, self.encoder.dim, self.encoder.embed, batch_size)

    def predict_proba(self, texts: Iterable[Any], *, batch_size: int | None = None) -> np.ndarray:
        """Probabilities (n, 28), float32, row i for texts[i]; all-NaN rows for missing texts."""
        return self._rows(texts, len(self.labels), lambda t, b: self.classifier(self.encoder.embed(t, b)), batch_size)

    def predict(
        self,
        texts: Iterable[Any],
        *,
        threshold: float | Sequence[float] | Mapping[str, float] | None = None,
        top_k: int | None = None,
        batch_size: int | None = None,
    ) -> list[list[str]]:
        """The labels of each text whose probability reaches its threshold.

        ``threshold`` overrides the bundle's per-label thresholds (one number for all
        labels, or one per label); ``top_k`` keeps at most the k most probable of them,
        most probable first. Missing texts get ``[]``.
        """
        return self.labels_from_proba(self.predict_proba(texts, batch_size=batch_size), threshold=threshold, top_k=top_k)

    def labels_from_proba(
        self,
        proba: np.ndarray,
        *,
        threshold: float | Sequence[float] | Mapping[str, float] | None = None,
        top_k: int | None = None,
    ) -> list[list[str]]:
        """Apply thresholds (and ``top_k``) to probabilities from :meth:`predict_proba`."""
        passed = np.nan_to_num(proba, nan=-1.0) >= self.threshold_array(threshold)
        if top_k is None:
            return [[self.labels[j] for j in np.flatnonzero(row)] for row in passed]
        _positive(top_k, "top_k")
        ranked = np.argsort(-np.nan_to_num(proba, nan=-1.0), axis=1, kind="stable")[:, :top_k]
        return [[self.labels[j] for j in r if ok[j]] for r, ok in zip(ranked, passed)]

    def threshold_array(self, threshold: float | Sequence[float] | Mapping[str, float] | None = None) -> np.ndarray:
        """The per-label thresholds in label order, with an optional override."""
        if threshold is None:
            return self.thresholds
        if isinstance(threshold, Mapping):
            unknown = sorted(set(threshold) - set(self.labels))
            if unknown:
                raise ValueError(f"unknown labels in threshold: {unknown}; labels are {list(self.labels)}")
            out = self.thresholds.copy()
            for lab, t in threshold.items():
                out[self.labels.index(lab)] = t
        else:
            out = np.broadcast_to(np.asarray(threshold, dtype=np.float32), self.thresholds.shape).copy()
        if not np.all((out >= 0) & (out <= 1)):
            raise ValueError(f"thresholds must lie in [0, 1], got {threshold!r}")
        return out

    def _rows(self, texts: Iterable[Any], width: int, fn, batch_size: int | None) -> np.ndarray:
        present, kept = split_missing(texts)
        batch = self.batch_size if batch_size is None else _positive(batch_size, "batch_size")
        out = np.full((len(present), width), np.nan, dtype=np.float32)
        rows = np.flatnonzero(present)
        for start in range(0, len(kept), CHUNK):
            out[rows[start : start + CHUNK]] = fn(kept[start : start + CHUNK], batch)
        return out


def _positive(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def load(
    model: str | os.PathLike | Bundle | None = None,
    *,
    threads: int | None = None,
    providers: Sequence[str] | None = None,
    batch_size: int = 32,
    download: bool = False,
) -> EmotionModel:
    """Load a model: ``None`` for the bundled default (offline), a registered name
    (see :data:`emospark.registry.REGISTRY`), or a bundle directory.

    Nothing is downloaded unless ``download=True`` (needs ``emospark[hub]``).

    >>> import emospark
    >>> emospark.load().name
    'minilm-l6-go-emotions'
    """
    bundle = resolve(model, download=download)
    return EmotionModel(bundle, threads=threads, providers=providers, batch_size=batch_size)
