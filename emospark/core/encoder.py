"""Texts to sentence embeddings: tokenizer + ONNX encoder + pooling + L2 normalisation."""
from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from threading import BoundedSemaphore
from typing import Callable, Sequence

import numpy as np
from tokenizers import Tokenizer

from ..bundles.bundle import Bundle
from ..checks import positive_int
from ..errors import BundleError, UsageError
from .pooling import POOLINGS, l2_normalize
from .runtime import make_session

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
DTYPES = {"tensor(int64)": np.int64, "tensor(int32)": np.int32}
HIDDEN_OUTPUTS = ("last_hidden_state", "token_embeddings")
MAX_BATCH_TOKENS = 1024  # padded tokens per encoder run: bounds activation memory (and keeps it in cache)


def load_tokenizer(path, max_length: int, overlap: int | None = None) -> tuple[Tokenizer, int]:
    """The tokenizer with emospark's own settings: truncation at ``max_length``
    (special tokens included) and no padding (batches are padded to their longest
    text). The truncated rest of a long text is kept as overflowing windows of the
    same length, each sharing ``overlap`` tokens with the one before it (default: a
    quarter of the text tokens a window holds). Returns it with its padding id."""
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:
        raise BundleError(f"tokenizer {path} cannot be read by `tokenizers`: {exc}") from None
    pad_id = (tok.padding or {}).get("pad_id")
    if pad_id is None:
        pad_id = next((tok.token_to_id(t) for t in ("[PAD]", "<pad>") if tok.token_to_id(t) is not None), 0)
    tok.no_padding()
    specials = tok.num_special_tokens_to_add(False)
    window = max_length - specials  # text tokens per window
    if window < 1:
        raise BundleError(f"max_length {max_length} leaves no room for text: tokenizer {path} adds {specials} special "
                          f"tokens to every window; set encoder.max_length in emospark.json to at least {specials + 1}")
    overlap = window // 4 if overlap is None else overlap
    if isinstance(overlap, bool) or not isinstance(overlap, int) or not 0 <= overlap < window:
        raise UsageError(f"options: overlap must be an integer in [0, {window}) for this model (max_length "
                         f"{max_length}, {specials} special tokens), got {overlap!r}")
    tok.enable_truncation(max_length, stride=overlap)
    return tok, int(pad_id)


class Encoder:
    """Runs the bundle's encoder; only feeds the inputs that the graph declares.

    ``threads`` batches run at once, each on one onnxruntime thread (default: one per
    core available to this process). On small CPUs this beats splitting each GEMM over
    the cores (1.4x on 2 cores with the default bundle: its int8 GEMMs on a batch of
    short texts are too small to share well).
    """

    def __init__(
        self,
        bundle: Bundle,
        *,
        threads: int | None = None,
        providers: Sequence[str] | None = None,
        overlap: int | None = None,
    ):
        self.tokenizer, self.pad_id = load_tokenizer(bundle.tokenizer, bundle.max_length, overlap)
        if threads is not None:
            threads = positive_int(threads, "options", "threads")
        self.workers = threads or available_cores()
        self.session = make_session(bundle.encoder, "encoder", threads=1, providers=providers)
        declared = {i.name: i for i in self.session.get_inputs()}
        unknown = sorted(set(declared) - set(INPUTS))
        if unknown or "input_ids" not in declared:
            raise BundleError(
                f"encoder {bundle.encoder} declares inputs {sorted(declared)}; emospark feeds {list(INPUTS)} "
                "and needs input_ids"
            )
        self.dtypes = {name: DTYPES.get(i.type, np.int64) for name, i in declared.items()}
        outputs = {o.name: o for o in self.session.get_outputs()}
        name = bundle.encoder_output or next((n for n in HIDDEN_OUTPUTS if n in outputs), None)
        if name is None:
            name = next((n for n, o in outputs.items() if len(o.shape) == 3), None)
        if name not in outputs or len(outputs[name].shape) != 3:
            raise BundleError(
                f"encoder {bundle.encoder} has no [batch, tokens, dim] output to pool "
                f"(outputs: {sorted(outputs)}); name it in the manifest as encoder.output"
            )
        self.output = name
        self.pool = POOLINGS[bundle.pooling]
        self.normalize = bundle.normalize
        self.dim = self._probe(bundle)

    def _probe(self, bundle: Bundle) -> int:
        """Two trial runs, so that a bundle that cannot score every text fails at load,
        not mid-job: the largest token id of the tokenizer (a tokenizer that does not
        belong to this encoder), then a window of ``max_length`` tokens (a max_length
        beyond the encoder's position embeddings). Returns the embedding size."""
        top = self.tokenizer.get_vocab_size(with_added_tokens=True) - 1
        try:
            hidden = self._run(np.array([[self.pad_id, top]]), np.ones((1, 2), dtype=bool))
        except Exception as exc:
            raise BundleError(
                f"tokenizer {bundle.tokenizer} (vocabulary {top + 1}) does not fit encoder {bundle.encoder}: "
                f"{str(exc)[:300]}"
            ) from None
        n = bundle.max_length
        try:
            full = self._run(np.full((1, n), self.pad_id, dtype=np.int64), np.ones((1, n), dtype=bool))
        except Exception as exc:
            raise BundleError(
                f"encoder {bundle.encoder} cannot take max_length {n} tokens (encoder.max_length in the manifest): "
                f"{str(exc)[:300]}; lower max_length to what the encoder was trained for (e.g. 512 for BERT models)"
            ) from None
        if full.shape[:2] != (1, n) or full.shape[-1] != hidden.shape[-1]:
            raise BundleError(f"encoder {bundle.encoder} returned shape {list(full.shape)} for a window of {n} tokens, "
                              f"expected [1, {n}, {hidden.shape[-1]}]")
        return int(hidden.shape[-1])

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        feed = {name: feed[name].astype(dtype, copy=False) for name, dtype in self.dtypes.items()}
        with RUNS:  # callers' own threads (DuckDB, Polars, Spark) do not oversubscribe the cores
            return self.session.run([self.output], feed)[0]

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, truncated to the bundle's max length."""
        return [e.ids or [self.pad_id] for e in self.tokenizer.encode_batch(texts)]

    def windows(self, texts: list[str]) -> tuple[list[list[int]], np.ndarray]:
        """Token windows of all texts, and how many windows each text has.

        A text that fits in ``max_length`` tokens has one window, its :meth:`token_ids`;
        a longer one is split into windows of at most ``max_length`` tokens, each with
        the special tokens ([CLS] ... [SEP]), consecutive windows sharing ``overlap``
        text tokens. The windows of text i follow those of text i - 1.
        """
        encodings = self.tokenizer.encode_batch(texts)
        counts = np.fromiter((1 + len(e.overflowing) for e in encodings), dtype=np.int64, count=len(encodings))
        ids = [e.ids or [self.pad_id] for e in encodings]
        if counts.sum() > len(ids):  # some text is long: interleave its overflowing windows
            ids = [w for first, e in zip(ids, encodings, strict=True) for w in (first, *(o.ids for o in e.overflowing))]
        return ids, counts

    def embed(self, texts: list[str], batch_size: int = 32, on_batch: Callable[[int], None] | None = None) -> np.ndarray:
        """Sentence embeddings, shape (len(texts), dim), float32, rows in input order,
        of each text truncated to ``max_length`` tokens (``on_batch`` as for :meth:`embed_ids`)."""
        return self.embed_ids(self.token_ids(texts), batch_size, on_batch)

    def embed_ids(
        self, ids: list[list[int]], batch_size: int = 32, on_batch: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Embeddings of token id sequences, shape (len(ids), dim), rows in input order.

        Sequences are sorted by length and each batch is padded only to its longest
        sequence; batches are made small enough that every worker thread gets one, run
        ``self.workers`` at a time, and the result is put back into input order.
        ``on_batch(rows)`` is called (in this thread) as each batch is done.
        """
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        order = np.argsort(lengths, kind="stable")
        out = np.empty((len(ids), self.dim), dtype=np.float32)

        def encode(bounds: tuple[int, int]) -> None:
            rows = order[bounds[0] : bounds[1]]
            lens = lengths[rows]
            mask = np.arange(lens.max()) < lens[:, None]
            batch = np.full(mask.shape, self.pad_id, dtype=np.int64)
            batch[mask] = np.fromiter(chain.from_iterable(ids[r] for r in rows), dtype=np.int64, count=int(lens.sum()))
            out[rows] = self.pool(self._run(batch, mask), mask)

        size = min(batch_size, max(1, math.ceil(len(ids) / self.workers)))
        batches = list(batch_bounds(lengths[order], size))
        done = on_batch or (lambda rows: None)
        if self.workers == 1 or len(batches) == 1:
            for start, stop in batches:
                encode((start, stop))
                done(stop - start)
        else:
            with ThreadPoolExecutor(min(self.workers, len(batches)), thread_name_prefix="emospark-encode") as pool:
                for (start, stop), _ in zip(batches, pool.map(encode, batches), strict=True):  # onnxruntime releases the GIL
                    done(stop - start)
        return l2_normalize(out) if self.normalize else out


def available_cores() -> int:
    """CPUs this process may run on (its affinity mask, e.g. a container's or a Spark
    task's cgroup), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


RUNS = BoundedSemaphore(available_cores())
"""At most one encoder run per core at once in this process, however many threads call:
each run uses one onnxruntime thread, so DuckDB's or Polars' worker threads calling the
UDF at the same time queue here instead of oversubscribing the cores."""


def batch_bounds(sorted_lengths: np.ndarray, batch_size: int, max_tokens: int = MAX_BATCH_TOKENS):
    """(start, stop) of consecutive batches over ascending lengths: at most ``batch_size``
    rows, and at most ``max_tokens`` tokens once padded to the batch's longest row (a
    single row may exceed it).

    >>> list(batch_bounds(np.array([3, 3, 5, 8, 8]), batch_size=2, max_tokens=12))
    [(0, 2), (2, 3), (3, 4), (4, 5)]
    """
    start, n = 0, len(sorted_lengths)
    while start < n:
        stop = min(start + batch_size, n)
        stop = start + max(1, min(stop - start, max_tokens // int(sorted_lengths[stop - 1])))
        yield start, stop
        start = stop
