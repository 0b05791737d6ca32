"""The build-time rewrite to per-row int8 MatMuls (models/build/rowquant.py), on a generated graph."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from emospark.core.runtime import make_session  # noqa: E402

BUILD = Path(__file__).resolve().parents[1] / "models" / "build"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, BUILD / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _int8_weights_graph(path: Path, w: np.ndarray) -> np.ndarray:
    """x [B, S, K] -> MatMul(x, DequantizeLinear(int8 W)) + 1 -> y; returns the dequantized W."""
    scale = (np.abs(w).max(axis=0) / 127).astype(np.float32)
    q = np.rint(w / scale).astype(np.int8)
    nodes = [
        helper.make_node("DequantizeLinear", ["w_int8", "w_scale", "w_zero"], ["w"], axis=1),
        helper.make_node("MatMul", ["x", "w"], ["xw"]),
        helper.make_node("Add", ["xw", "one"], ["y"]),
    ]
    inits = [numpy_helper.from_array(q, "w_int8"), numpy_helper.from_array(scale, "w_scale"),
             numpy_helper.from_array(np.zeros_like(q[0]), "w_zero"), numpy_helper.from_array(np.float32(1), "one")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "s", w.shape[0]])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", "s", w.shape[1]])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return q.astype(np.float32) * scale


def test_rows_are_quantized_independently_and_accurately(tmp_path):
    rng = np.random.default_rng(0)
    w = _int8_weights_graph(tmp_path / "qdq.onnx", rng.normal(size=(64, 48)).astype(np.float32))
    assert _module("rowquant").quantize_rows(tmp_path / "qdq.onnx", tmp_path / "rows.onnx") == 1
    session = make_session(tmp_path / "rows.onnx", "encoder")
    assert "MatMulIntegerToFloat" in {n.op_type for n in onnx.load(str(tmp_path / "rows.onnx")).graph.node}

    x = rng.normal(size=(3, 5, 64)).astype(np.float32)
    x[1, 2] *= 1000  # one outlier row: with a per-tensor scale it would crush every other row
    x[2, 4] = 0  # an all-zero row stays exact
    y = session.run(None, {"x": x})[0]
    exact = x @ w + 1
    rel = np.abs(y - exact).max(axis=-1) / np.abs(x @ w).max(axis=-1).clip(1e-6)
    assert rel.max() < 0.03
    assert np.array_equal(y[2, 4], np.ones(48, dtype=np.float32))
    for b in range(3):  # each row alone gives bit-identical results
        for s in range(5):
            alone = session.run(None, {"x": x[b : b + 1, s : s + 1]})[0]
            assert np.array_equal(alone[0, 0], y[b, s])
