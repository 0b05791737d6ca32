"""Int8 compute with one activation scale per token row (build-time graph rewrite).

onnxruntime's dynamic quantization computes one activation scale per *tensor*, i.e. per
batch, so a text's scores change with the texts it is batched with. This rewrite keeps
int8 GEMMs but quantizes every row of a MatMul's input (one token of one text) on its
own range, from standard ONNX ops only:

    lo, hi  = min(ReduceMin(x, -1), 0), max(ReduceMax(x, -1), 0)     # per row
    scale   = (hi - lo) / 255;   zero = round(-lo / scale)             # per row
    q       = QuantizeLinear(x, scale, zero, axis=0)                   # uint8, [rows, K]
    y       = (MatMulInteger(q, W) - zero * colsum(W)) * scale * w_scale

``W`` are the int8 weights (symmetric, one scale per output column) that
``quantize_weights`` already stores behind DequantizeLinear; ``zero * colsum(W)`` undoes
the per-row zero point, which onnxruntime's MatMulInteger only accepts per tensor. Every
row's result depends on that row alone, so batching cannot change a score.

The GEMMs are **uint8 x uint8**: the weights are stored as ``W + 128`` with a zero point
of 128 (:func:`to_u8u8`), the same integers. With int8 weights (u8 x s8), onnxruntime's
AVX2 kernels (CPUs without VNNI) add pairs of products in saturating int16 arithmetic
(``vpmaddubsw``) and clip large sums: the same model then scores differently on an AVX2
CPU than on an AVX-512 VNNI one (go_emotions dev macro F1 0.5546 instead of 0.5643 for
the default bundle). u8 x u8 products are summed exactly on every ISA, so the scores are
the same on every CPU.

Usage::

    python models/build/rowquant.py int8_weights.onnx int8_rows.onnx
    python models/build/rowquant.py --u8u8 old_rows.onnx rows.onnx   # convert an existing rewrite
"""
from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper


class _Graph:
    """Appends nodes and constants under unique names."""

    def __init__(self, graph: onnx.GraphProto):
        self.graph, self.nodes, self.count = graph, [], 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"rowq/{hint}_{self.count}"

    def const(self, value: np.ndarray, hint: str) -> str:
        name = self.name(hint)
        self.graph.initializer.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str, **attrs) -> str:
        out = self.name(hint)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out


def _quantize_rows(g: _Graph, x: str) -> tuple[str, str]:
    """``x`` [.., K] as uint8 (same shape, zero point 128) with one symmetric scale per row
    ([.., 1]): ``x ~= (q - 128) * scale``."""
    f32 = lambda v: g.const(np.array(v, dtype=np.float32), "c")  # noqa: E731
    i64 = lambda v: g.const(np.array(v, dtype=np.int64), "i")  # noqa: E731
    shape = g.op("Shape", [x], "shape")
    flat_shape = g.op("Concat", [i64([-1]), g.op("Slice", [shape, i64([-1]), i64([2**62])], "k")], "flat_shape", axis=0)
    flat = g.op("Reshape", [x, flat_shape], "flat")
    hi = g.op("ReduceMax", [flat], "hi", axes=[1], keepdims=0)
    lo = g.op("ReduceMin", [flat], "lo", axes=[1], keepdims=0)
    amax = g.op("Max", [hi, g.op("Neg", [lo], "neglo"), f32(1e-30)], "amax")
    scale = g.op("Div", [amax, f32(127.0)], "scale")
    zero = g.op("Expand", [g.const(np.array(128, dtype=np.uint8), "z"), g.op("Shape", [scale], "rows")], "zero")
    q = g.op("QuantizeLinear", [flat, scale, zero], "q", axis=0)
    lead = g.op("Slice", [shape, i64([0]), i64([-1])], "lead")
    col_shape = g.op("Concat", [lead, i64([1])], "col_shape", axis=0)
    return g.op("Reshape", [q, shape], "q_nd"), g.op("Reshape", [scale, col_shape], "scale_nd")


def quantize_rows(src: Path, dst: Path) -> int:
    """Rewrite every MatMul of ``src`` whose weight is an int8 DequantizeLinear (one scale
    per column, zero point 0) into per-row int8 compute; returns how many were rewritten."""
    model = onnx.load(str(src))
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    dequant = {n.output[0]: n for n in graph.node if n.op_type == "DequantizeLinear" and n.input[0] in inits}

    def weight(node: onnx.NodeProto):
        dq = dequant.get(node.input[1]) if node.op_type == "MatMul" else None
        if dq is None:
            return None
        w = numpy_helper.to_array(inits[dq.input[0]])
        scale = numpy_helper.to_array(inits[dq.input[1]])
        zero = numpy_helper.to_array(inits[dq.input[2]]) if len(dq.input) > 2 else np.zeros(1)
        axis = next((a.i for a in dq.attribute if a.name == "axis"), 1)
        if w.dtype != np.int8 or w.ndim != 2 or scale.shape != (w.shape[1],) or axis != 1 or zero.any():
            return None
        return dq.input[0], w, scale

    targets = defaultdict(list)  # activation name -> MatMuls reading it
    for node in graph.node:
        if weight(node) is not None:
            targets[node.input[0]].append(node)
    g = _Graph(graph)
    rewritten = {}  # id(MatMul) -> the nodes that replace it
    one, zero_point = g.const(np.array(1.0, dtype=np.float32), "one"), g.const(np.array(128, dtype=np.uint8), "zp")
    for x, matmuls in targets.items():
        g.nodes = []
        q, row_scale = _quantize_rows(g, x)
        for node in matmuls:
            w_name, _, w_scale = weight(node)
            inputs = [q, w_name, one, g.const(w_scale, "w_scale"), zero_point]  # to_u8u8 adds B's zero point
            y = g.op("MatMulIntegerToFloat", inputs, "mmitf", domain="com.microsoft")
            g.nodes.append(helper.make_node("Mul", [y, row_scale], list(node.output), name=node.name))
            rewritten[id(node)] = g.nodes  # the first MatMul of x carries its quantization too
            g.nodes = []
    nodes = [n for node in graph.node for n in rewritten.get(id(node), [node])]
    used = {i for n in nodes for i in n.input}
    nodes = [n for n in nodes if n.op_type != "DequantizeLinear" or n.output[0] in used]
    used = {i for n in nodes for i in n.input}
    del graph.node[:]
    graph.node.extend(nodes)
    kept = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    to_u8u8(model)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return len(rewritten)


def to_u8u8(model: onnx.ModelProto) -> int:
    """Store the int8 weights of every MatMulIntegerToFloat as uint8 ``W + 128`` with a
    per-column zero point of 128 (exactly the same products, summed without int16
    saturation on AVX2 CPUs; see the module doc). Returns how many GEMMs changed."""
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    changed = 0
    for node in graph.node:
        if node.op_type != "MatMulIntegerToFloat" or len(node.input) > 5 or node.input[1] not in inits:
            continue
        w = numpy_helper.to_array(inits[node.input[1]])
        if w.dtype != np.int8:
            continue
        inits[node.input[1]].CopyFrom(numpy_helper.from_array((w.astype(np.int16) + 128).astype(np.uint8), node.input[1]))
        zero_name = f"{node.input[1]}/zero_u8"
        graph.initializer.append(numpy_helper.from_array(np.full(w.shape[1], 128, dtype=np.uint8), zero_name))
        node.input.append(zero_name)
        changed += 1
    return changed


def convert_to_u8u8(src: Path, dst: Path) -> int:
    """:func:`to_u8u8` on a saved graph."""
    model = onnx.load(str(src))
    changed = to_u8u8(model)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return changed


if __name__ == "__main__":
    if sys.argv[1] == "--u8u8":
        print(convert_to_u8u8(Path(sys.argv[2]), Path(sys.argv[3])), "GEMMs converted to u8 x u8")
    else:
        print(quantize_rows(Path(sys.argv[1]), Path(sys.argv[2])), "MatMuls rewritten")
