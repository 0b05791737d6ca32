"""Encoder precision variants of the default bundle, built once into the cache directory.

- ``int8``: the shipped bundle: int8 weights, and int8 GEMMs on activations quantized with
  one scale per token row (``models/build/rowquant.py``), so scores are batch-independent.
- ``fp32``: the same weights dequantized to fp32, every MatMul in fp32.
- ``int8-dynamic``: onnxruntime ``quantize_dynamic(per_channel=True)`` of ``fp32``; int8
  activations with one scale per batch tensor, so scores depend on batch neighbours
  (speed comparison only; see the model card's "Encoder precision").
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from emospark import Bundle
from emospark.bundles.locate import resolve

VARIANTS = ("int8", "fp32", "int8-dynamic")


def float_matmuls(src: Path, dst: Path) -> Path:
    """``src`` with every per-row int8 MatMul (QuantizeLinear ... MatMulIntegerToFloat, Mul
    by the row scale) replaced by an fp32 MatMul on the dequantized weights."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    consumers = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    replaced, dropped = {}, set()
    for node in graph.node:
        if node.op_type != "MatMulIntegerToFloat":
            continue
        q_nd = producer[node.input[0]]  # Reshape(QuantizeLinear(Reshape(x)))
        x = producer[producer[q_nd.input[0]].input[0]].input[0]
        w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        weight = f"{node.input[1]}_fp32"
        graph.initializer.append(numpy_helper.from_array(w * numpy_helper.to_array(inits[node.input[3]]), weight))
        (mul,) = consumers[node.output[0]]
        replaced[id(mul)] = helper.make_node("MatMul", [x, weight], list(mul.output), name=mul.name)
        dropped.add(id(node))
    nodes = [replaced.get(id(n), n) for n in graph.node if id(n) not in dropped]
    while True:  # drop what no longer feeds anything (the quantization of each row)
        used = {i for n in nodes for i in n.input} | {o.name for o in graph.output}
        live = [n for n in nodes if any(o in used for o in n.output)]
        if len(live) == len(nodes):
            break
        nodes = live
    del graph.node[:]
    graph.node.extend(nodes)
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
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
            float_matmuls(base.encoder, target)
        elif variant == "int8-dynamic":
            fp32 = variant_bundle("fp32", cache).encoder
            dynamic_int8(fp32, target)
        else:
            raise ValueError(f"unknown encoder variant {variant!r}; known: {VARIANTS}")
        shutil.rmtree(root, ignore_errors=True)
        tmp.rename(root)
    return Bundle.from_dir(root)
