"""onnxruntime sessions with emospark's defaults, and loading errors that name the file."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import onnxruntime as ort

from ..errors import BundleError, UsageError


def make_session(
    path: Path, role: str, *, threads: int | None = None, providers: Sequence[str] | None = None
) -> ort.InferenceSession:
    """A CPU-first inference session: full graph optimisation, sequential execution,
    ``threads`` intra-op threads (onnxruntime's default, one per core, when None), and
    int8-stored weights dequantized once at start."""
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.inter_op_num_threads = 1
    if threads is not None:
        if threads < 1:
            raise UsageError(f"threads must be >= 1, got {threads}")
        so.intra_op_num_threads = threads
    so.log_severity_level = 3
    # Bundles may store weights as int8 behind DequantizeLinear (the default bundle does for
    # its embedding tables; its MatMuls run in int8 with per-row activation scales, see
    # models/build/rowquant.py). Without this, onnxruntime fuses such nodes into 8-bit
    # MatMulNBits kernels (slower here than fp32) and re-dequantizes embedding tables on every
    # call; with it, those weights are constant-folded to fp32 once at session start
    # (default bundle: 1,134 vs 892 texts/s on 2 cores).
    so.add_session_config_entry("session.disable_quant_qdq", "1")
    available = ort.get_available_providers()
    chosen = list(providers) if providers else ["CPUExecutionProvider"]
    unknown = [p for p in chosen if p not in available]
    if unknown:
        raise UsageError(f"onnxruntime providers {unknown} are not available here; available: {available}")
    try:
        return ort.InferenceSession(str(path), sess_options=so, providers=chosen)
    except Exception as exc:  # onnxruntime raises its own RuntimeError subclasses
        raise BundleError(f"the {role} model {path} cannot be loaded by onnxruntime: {exc}") from None
