"""The scorer: texts in, 28 go_emotions probabilities and thresholded labels out."""
from __future__ import annotations

import os
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..bundles.bundle import Bundle
from ..bundles.locate import resolve
from .classifier import Classifier
from .encoder import Encoder
from .inputs import split_missing
from .options import AGGREGATES, LONG_TEXTS, LoadOptions, check_batch_size, check_top_k
from .progress import Progress, progress_bar
from .thresholds import Thresholds

CHUNK = 4096  # texts tokenized at once: bounds memory on long inputs
__all__ = ["AGGREGATES", "LONG_TEXTS", "EmotionModel", "load", "pool_windows"]


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

    ``batch_size`` texts (sorted by length, padded to the longest of the run) go through
    the encoder at once, but never more than ``encoder.MAX_BATCH_TOKENS`` padded tokens.

    Long texts: the encoder reads at most ``bundle.max_length`` tokens at once. With
    ``long_texts="chunk"`` (the default) a longer text is split into windows of that
    length which share ``overlap`` tokens (default a quarter of a window), each window
    is scored, and the text gets the ``aggregate`` of its windows' probabilities:
    ``"max"`` (an emotion expressed anywhere counts) or ``"mean"``. A text of L tokens
    costs about L / (0.75 * window) encoder runs instead of one; texts that fit take
    the same path and time as before. ``long_texts="truncate"`` scores the first
    window only.

    >>> long = "The plot was dull and I was bored. " * 60 + "But the ending made me cry with joy."
    >>> chunked = model.predict_proba([long])[0, model.labels.index("joy")]
    >>> first = emospark.load(long_texts="truncate").predict_proba([long])[0, model.labels.index("joy")]
    >>> bool(chunked > first)
    True
    """

    def __init__(
        self,
        bundle: Bundle,
        *,
        threads: int | None = None,
        providers: Sequence[str] | None = None,
        batch_size: int = 32,
        verify: bool = True,
        long_texts: str = "chunk",
        aggregate: str = "max",
        overlap: int | None = None,
    ):
        options = LoadOptions(long_texts=long_texts, aggregate=aggregate, overlap=overlap, batch_size=batch_size,
                              threads=threads)  # checked before anything is read
        if verify:
            bundle.verify()
        self.bundle = bundle
        self.batch_size = options.batch_size
        self.long_texts = options.long_texts
        self.aggregate = options.aggregate
        self.labels: tuple[str, ...] = tuple(bundle.labels)
        self.encoder = Encoder(bundle, threads=options.threads, providers=providers, overlap=options.overlap)
        self.classifier = Classifier(bundle, threads=1, providers=providers)  # tiny: one thread
        self.classifier.check_accepts(self.encoder.dim)
        table = bundle.read_thresholds()  # after the classifier, whose errors say more about a wrong head
        self.threshold_table = Thresholds(self.labels, tuple(table[lab] for lab in self.labels))
        self.thresholds = self.threshold_table.array()

    @property
    def name(self) -> str:
        return self.bundle.name

    def __repr__(self) -> str:
        return f"EmotionModel(name={self.name!r}, labels={len(self.labels)}, root={str(self.bundle.root)!r})"

    def embed(self, texts: Iterable[Any], *, batch_size: int | None = None, progress: Progress = None) -> np.ndarray:
        """Sentence embeddings (n, dim), float32, of each text's first window (long texts
        are truncated); NaN rows for missing texts. ``progress`` as for :meth:`predict_proba`."""
        return self._rows(texts, self.encoder.dim, self.encoder.embed, batch_size, progress)

    def predict_proba(
        self, texts: Iterable[Any], *, batch_size: int | None = None, progress: Progress = None
    ) -> np.ndarray:
        """Probabilities (n, 28), float32, row i for texts[i]; all-NaN rows for missing texts.
        Long texts are chunked or truncated as the model was loaded (see the class).

        ``progress``: ``True`` shows a tqdm bar advanced per batch, ``False`` none, ``None``
        one for inputs of over 5,000 texts in a terminal or notebook; a tqdm bar of your
        own is advanced as it is (see :mod:`emospark.core.progress`)."""
        return self._rows(texts, len(self.labels), self._proba, batch_size, progress)

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
        top_k = check_top_k(top_k)  # the k most probable labels among those that pass
        ranked = np.argsort(-np.nan_to_num(proba, nan=-1.0), axis=1, kind="stable")
        return [[self.labels[j] for j in r if ok[j]][:top_k] for r, ok in zip(ranked, passed, strict=True)]

    def threshold_array(self, threshold: Any = None) -> np.ndarray:
        """The per-label thresholds in label order (read-only float32), with an optional
        override: one number, one per label, ``{label: number}`` for some labels, or a
        :class:`~emospark.core.thresholds.ThresholdFile` (see :mod:`emospark.core.thresholds`).
        A bad override is a :class:`~emospark.errors.UsageError` (``InputError`` for a file).

        >>> import emospark
        >>> emospark.load().threshold_array({"joy": 0.9})[emospark.GO_EMOTIONS.index("joy")].item()
        0.8999999761581421
        """
        if threshold is None:
            return self.thresholds
        return Thresholds.parse(threshold, self.labels, base=self.threshold_table).array()

    def _proba(self, texts: list[str], batch_size: int, on_batch=None) -> np.ndarray:
        if self.long_texts == "truncate":
            return self.classifier(self.encoder.embed(texts, batch_size, on_batch))
        ids, counts = self.encoder.windows(texts)
        proba = self.classifier(self.encoder.embed_ids(ids, batch_size, on_batch and texts_done(on_batch, len(texts), len(ids))))
        return proba if len(ids) == len(texts) else pool_windows(proba, counts, self.aggregate)

    def _rows(self, texts: Iterable[Any], width: int, fn, batch_size: int | None, progress: Progress) -> np.ndarray:
        present, kept = split_missing(texts)
        batch = self.batch_size if batch_size is None else check_batch_size(batch_size)
        out = np.full((len(present), width), np.nan, dtype=np.float32)
        rows = np.flatnonzero(present)
        with progress_bar(progress, len(kept)) as bar:
            for start in range(0, len(kept), CHUNK):
                out[rows[start : start + CHUNK]] = fn(kept[start : start + CHUNK], batch, bar.update)
        return out


def texts_done(on_texts, texts: int, windows: int):
    """A per-batch callback counting windows that advances ``on_texts`` in whole texts,
    in proportion (a text with several windows counts once, all windows done = all texts)."""
    state = {"windows": 0, "texts": 0}

    def on_windows(n: int) -> None:
        state["windows"] += n
        now = state["windows"] * texts // windows
        if now > state["texts"]:
            on_texts(now - state["texts"])
            state["texts"] = now

    return on_windows


def pool_windows(proba: np.ndarray, counts: np.ndarray, aggregate: str = "max") -> np.ndarray:
    """One row per text from the rows of its windows (``counts[i]`` consecutive rows
    for text i), by their maximum or mean.

    >>> p = np.array([[0.1, 0.9], [0.5, 0.3], [0.2, 0.2]], dtype=np.float32)
    >>> pool_windows(p, np.array([2, 1])).tolist()
    [[0.5, 0.8999999761581421], [0.20000000298023224, 0.20000000298023224]]
    >>> pool_windows(p, np.array([2, 1]), "mean")[0].astype(float).round(2).tolist()
    [0.3, 0.6]
    """
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    if aggregate == "max":
        return np.maximum.reduceat(proba, starts, axis=0)
    return (np.add.reduceat(proba, starts, axis=0) / counts[:, None]).astype(proba.dtype)


def load(
    model: str | os.PathLike | Bundle | None = None,
    *,
    threads: int | None = None,
    providers: Sequence[str] | None = None,
    batch_size: int = 32,
    download: bool = False,
    long_texts: str = "chunk",
    aggregate: str = "max",
    overlap: int | None = None,
) -> EmotionModel:
    """Load a model: ``None`` for the bundled default (offline), a registered name
    (see :data:`emospark.bundles.registry.REGISTRY`), or a bundle directory.

    Nothing is downloaded unless ``download=True`` (needs ``emospark[hub]``).
    ``long_texts``, ``aggregate`` and ``overlap`` choose how texts longer than the
    encoder's window are scored (see :class:`EmotionModel`).

    >>> import emospark
    >>> emospark.load().name
    'minilm-l6-go-emotions'
    """
    bundle = resolve(model, download=download)
    return EmotionModel(
        bundle,
        threads=threads,
        providers=providers,
        batch_size=batch_size,
        long_texts=long_texts,
        aggregate=aggregate,
        overlap=overlap,
    )
