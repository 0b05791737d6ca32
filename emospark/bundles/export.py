"""Writing classifier heads in the published go_emotions ONNX format (needs the
``onnx`` package: ``pip install "emospark[build]"``).

>>> import numpy as np, tempfile, os
>>> from emospark.bundles.export import save_classifier
>>> path = os.path.join(tempfile.mkdtemp(), "model.onnx")
>>> save_classifier(np.zeros((4, 2)), np.zeros(2), ("joy", "anger"), path)
>>> import onnxruntime as ort
>>> [o.name for o in ort.InferenceSession(path).get_outputs()]
['joy', 'anger']
"""
from __future__ import annotations

import json
import os
from typing import Mapping, Sequence

import numpy as np

from ..errors import require

OPSET = 17


def save_classifier(
    weight: np.ndarray,
    bias: np.ndarray,
    labels: Sequence[str],
    path: str | os.PathLike,
    *,
    output_order: Sequence[str] | None = None,
    input_name: str = "logits",
) -> None:
    """Save a linear head ``sigmoid(x @ weight + bias)`` as an ONNX graph with one
    input (``input_name``, [N, D]) and one [N, 2] (negative, positive) output per
    label, emitted in ``output_order`` (default: label order)."""
    onnx = require("onnx", "build", "writing ONNX classifier heads")
    from onnx import TensorProto, helper, numpy_helper

    weight = np.asarray(weight, dtype=np.float32)
    bias = np.asarray(bias, dtype=np.float32)
    dim, n = weight.shape
    if bias.shape != (n,) or len(labels) != n:
        raise ValueError(f"weight {weight.shape}, bias {bias.shape} and {len(labels)} labels do not agree")
    order = list(output_order or labels)
    if sorted(order) != sorted(labels):
        raise ValueError("output_order must be a permutation of labels")
    nodes = [
        helper.make_node("MatMul", [input_name, "__W"], ["__xw"]),
        helper.make_node("Add", ["__xw", "__b"], ["__z"]),
        helper.make_node("Sigmoid", ["__z"], ["__p"]),
    ]
    inits = [
        numpy_helper.from_array(weight, "__W"),
        numpy_helper.from_array(bias, "__b"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "__axis1"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "__one"),
    ]
    for j, label in enumerate(labels):
        inits += [
            numpy_helper.from_array(np.array([j], dtype=np.int64), f"__start_{j}"),
            numpy_helper.from_array(np.array([j + 1], dtype=np.int64), f"__end_{j}"),
        ]
        nodes += [
            helper.make_node("Slice", ["__p", f"__start_{j}", f"__end_{j}", "__axis1"], [f"__pos_{j}"]),
            helper.make_node("Sub", ["__one", f"__pos_{j}"], [f"__neg_{j}"]),
            helper.make_node("Concat", [f"__neg_{j}", f"__pos_{j}"], [label], axis=1),
        ]
    outputs = [helper.make_tensor_value_info(lab, TensorProto.FLOAT, ["N", 2]) for lab in order]
    graph = helper.make_graph(
        nodes,
        "go_emotions_head",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", dim])],
        outputs,
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="emospark")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.fspath(path))


def save_thresholds(thresholds: Mapping[str, float], path: str | os.PathLike) -> None:
    """Write ``{label: threshold}`` as the published heads' ``thresholds.json``."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump({k: round(float(v), 4) for k, v in thresholds.items()}, f)
