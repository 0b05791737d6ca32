"""Encoder precision variants of the default bundle, built once into the cache directory.

- ``int8``: the shipped bundle (int8 weights, DequantizeLinear on initializers, fp32 compute).
- ``fp32``: the same model with those initializers dequantized ahead of time (same weights).
- ``int8-dynamic``: onnxruntime ``quantize_dynamic(per_channel=True)`` of ``fp32``; int8
  activations with one scale per batch tensor, so scores depend on batch neighbours
  (speed comparison only; see the model card's "Encoder precision").
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from emospark import Bundle
from emospark.locate import resolve

VARIANTS = ("int8", "fp32", "int8-dynamic")


def dequantized(src: Path, dst: Path) -> Path:
    """``src`` with every DequantizeLinear of an initializer replaced by its fp32 result."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    folded, used = [], set()
    for node in graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in inits:
            continue
        q = numpy_helper.to_array(inits[node.input[0]]).astype(np.float32)
        scale = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        zero = numpy_helper.to_array(inits[node.input[2]]).astype(np.float32) if len(node.input) > 2 else 0.0
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        if np.ndim(scale) == 1:  # per channel: broadcast along `axis`
            shape = [1] * q.ndim
            shape[axis] = -1
            scale, zero = scale.reshape(shape), np.reshape(zero, shape) if np.ndim(zero) else zero
        graph.initializer.append(numpy_helper.from_array((q - zero) * scale, node.output[0]))
        folded.append(node)
        used.update(node.input)
    for node in folded:
        graph.node.remove(node)
    still = {i for n in graph.node for i in n.input}
    for name in used - still:
        graph.initializer.remove(inits[name])
    onnx.save(model, str(dst))
    return dst


def dynamic_int8(src: Path, dst: Path) -> Path:
    """onnxruntime's dynamic int8 quantization (per channel) of an fp32 encoder."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), per_channel=True, weight_type=QuantType.QInt8)
    return dst


def variant_bundle(variant: str, cache: Path) -> Bundle:
    """The default bundle with the ``variant`` encoder (built on first use under ``cache``).

    Load it with ``verify=False``: the manifest's sha256 names the shipped encoder."""
    base = resolve(None)
    if variant == "int8":
        return base
    root = cache / "variants" / variant
    encoder = root / "encoder" / "model.onnx"
    if not encoder.is_file():
        tmp = cache / "variants" / f".{variant}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(base.root, tmp)
        target = tmp / "encoder" / "model.onnx"
        if variant == "fp32":
            dequantized(base.encoder, target)
        elif variant == "int8-dynamic":
            fp32 = variant_bundle("fp32", cache).encoder
            dynamic_int8(fp32, target)
        else:
            raise ValueError(f"unknown encoder variant {variant!r}; known: {VARIANTS}")
        shutil.rmtree(root, ignore_errors=True)
        tmp.rename(root)
    return Bundle.from_dir(root)
