"""Small real ONNX models and tokenizers, generated in the published formats.

- ``make_tokenizer``: a WordLevel BERT-style tokenizer whose tokenizer.json, like the
  public all-MiniLM-L6-v2 one, pads to a fixed 128 and truncates at 128.
- ``make_encoder``: an ONNX graph with the inputs of a BERT export (input_ids,
  attention_mask, token_type_ids) and a ``last_hidden_state`` [N, T, D] output:
  token + position embeddings, then a mask-sensitive mixing layer (each token adds a
  projection of the mean of the *unmasked* tokens, like one head of attention), masked.
  A wrong attention mask or padding that leaks into the mask changes every token's output.
- ``make_head``: a classifier in the exact format of the published go_emotions heads:
  one input named ``logits`` [N, D], one [N, 2] output per label, starting with
  ``surprise`` and not in label order, plus ``thresholds.json``.
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

from emospark.bundles.export import save_classifier, save_thresholds
from emospark.labels import GO_EMOTIONS

WORDS = (
    "i love this thank you so much happy sad angry hate why what wow great terrible "
    "sorry afraid scared fine ok the a is it you me not good bad funny lol".split()
)
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
DIM = 16


def make_tokenizer(path: Path, extra_words: int = 0) -> Path:
    vocab = {tok: i for i, tok in enumerate(SPECIAL + WORDS + [f"w{i}" for i in range(extra_words)])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    tok.enable_padding(length=128, pad_id=0, pad_token="[PAD]")  # the public pitfall
    tok.enable_truncation(128)
    tok.save(str(path))
    return path


def vocab_size() -> int:
    return len(SPECIAL) + len(WORDS)


def make_encoder(path: Path, *, vocab: int | None = None, dim: int = DIM, seed: int = 0, max_pos: int = 512) -> Path:
    rng = np.random.default_rng(seed)
    vocab = vocab or vocab_size()
    word = rng.normal(size=(vocab, dim)).astype(np.float32)
    pos = (0.1 * rng.normal(size=(max_pos, dim))).astype(np.float32)
    ttype = (0.1 * rng.normal(size=(2, dim))).astype(np.float32)
    ints = lambda name: helper.make_tensor_value_info(name, TensorProto.INT64, ["N", "T"])  # noqa: E731
    nodes = [
        helper.make_node("Gather", ["word", "input_ids"], ["w"]),
        helper.make_node("Gather", ["ttype", "token_type_ids"], ["t"]),
        helper.make_node("Shape", ["input_ids"], ["shape"]),
        helper.make_node("Gather", ["shape", "one"], ["seq"], axis=0),
        helper.make_node("Range", ["zero", "seq", "one"], ["positions"]),
        helper.make_node("Gather", ["pos", "positions"], ["p"]),
        helper.make_node("Add", ["w", "t"], ["wt"]),
        helper.make_node("Add", ["wt", "p"], ["h"]),
        helper.make_node("Tanh", ["h"], ["ht"]),
        helper.make_node("Unsqueeze", ["attention_mask", "minus1"], ["m3"]),
        helper.make_node("Cast", ["m3"], ["mf"], to=TensorProto.FLOAT),
        # attention stand-in: context = mean of the tokens the mask keeps, mixed into every token
        helper.make_node("Mul", ["ht", "mf"], ["kept"]),
        helper.make_node("ReduceSum", ["kept", "axis1"], ["kept_sum"], keepdims=1),
        helper.make_node("ReduceSum", ["mf", "axis1"], ["kept_n"], keepdims=1),
        helper.make_node("Div", ["kept_sum", "kept_n"], ["context"]),
        helper.make_node("MatMul", ["context", "mix"], ["mixed"]),
        helper.make_node("Add", ["ht", "mixed"], ["h2"]),
        helper.make_node("Tanh", ["h2"], ["h2t"]),
        helper.make_node("Mul", ["h2t", "mf"], ["last_hidden_state"]),
    ]
    inits = [
        numpy_helper.from_array(word, "word"),
        numpy_helper.from_array(pos, "pos"),
        numpy_helper.from_array(ttype, "ttype"),
        numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"),
        numpy_helper.from_array(np.array(1, dtype=np.int64), "one"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "minus1"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array((2 * rng.normal(size=(dim, dim)) / np.sqrt(dim)).astype(np.float32), "mix"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_encoder",
        [ints("input_ids"), ints("attention_mask"), ints("token_type_ids")],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["N", "T", dim])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def published_order(labels=GO_EMOTIONS) -> list[str]:
    rest = [lab for lab in labels if lab != "surprise"]
    random.Random(7).shuffle(rest)
    return ["surprise", *rest]


def make_head(directory: Path, *, dim: int = DIM, labels=GO_EMOTIONS, seed: int = 1, order=None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    weight = (3 * rng.normal(size=(dim, len(labels)))).astype(np.float32)
    bias = rng.normal(size=len(labels)).astype(np.float32)
    save_classifier(weight, bias, labels, directory / "model.onnx", output_order=order or published_order(labels))
    thresholds = {lab: round(0.2 + 0.02 * (i % 10), 2) for i, lab in enumerate(labels)}
    save_thresholds(thresholds, directory / "thresholds.json")
    np.savez(directory / "reference.npz", weight=weight, bias=bias)
    return directory


def make_seed(root: Path, *, optimum_layout: bool = True) -> tuple[Path, Path]:
    """An encoder directory as optimum exports it (onnx/model.onnx + tokenizer.json)
    and a classifier directory as published. Returns (encoder_dir, classifier_dir)."""
    enc = root / "encoder"
    (enc / "onnx").mkdir(parents=True, exist_ok=True)
    make_encoder(enc / "onnx" / "model.onnx" if optimum_layout else enc / "model.onnx")
    make_tokenizer(enc / "tokenizer.json")
    return enc, make_head(root / "classifier")


def reference_proba(encoder_dir: Path, classifier_dir: Path, texts: list[str], pooling: str = "mean") -> np.ndarray:
    """The expected probabilities, computed one text at a time with no padding, straight
    from onnxruntime and numpy (an independent path from emospark's batching)."""
    tok = Tokenizer.from_file(str(encoder_dir / "tokenizer.json"))
    tok.no_padding()
    return reference_proba_ids(encoder_dir, classifier_dir, [tok.encode(text).ids for text in texts], pooling)


def reference_proba_ids(
    encoder_dir: Path, classifier_dir: Path, ids_list: list[list[int]], pooling: str = "mean"
) -> np.ndarray:
    """The expected probabilities of token id sequences, one at a time with no padding."""
    import onnxruntime as ort

    model = next(p for p in (encoder_dir / "onnx" / "model.onnx", encoder_dir / "model.onnx") if p.exists())
    sess = ort.InferenceSession(str(model))
    ref = np.load(classifier_dir / "reference.npz")
    rows = []
    for seq in ids_list:
        ids = np.array([seq], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        h = sess.run(None, {i.name: feed[i.name] for i in sess.get_inputs()})[0]
        e = h[0].mean(0) if pooling == "mean" else h[0, 0]
        e = e / np.linalg.norm(e)
        rows.append(1 / (1 + np.exp(-(e @ ref["weight"] + ref["bias"]))))
    return np.array(rows, dtype=np.float32)
