"""A FLOP-bound estimate: the encoder's FLOPs from its graph, and this machine's peak.

Per token, every MatMul (fp32 or int8) whose right operand is a weight (an initializer, possibly
through DequantizeLinear) costs 2*K*N FLOPs; per window of L tokens each attention
layer (one Softmax) adds 4*L*L*d (Q·Kᵀ and A·V). LayerNorm, GELU, softmax and
pooling are ignored (a few %). The peak assumes two FMA units per core at the
nominal clock: 64 fp32 FLOP/cycle with AVX-512, 32 with AVX2+FMA, 8 otherwise.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EncoderCost:
    """FLOPs of the encoder: ``per_token`` weights, ``layers`` x ``dim`` for attention."""

    per_token: int
    layers: int
    dim: int

    def flops(self, window_lengths: list[int]) -> float:
        """FLOPs of running the encoder on windows of these lengths (no padding)."""
        return float(
            sum(self.per_token * n + 4 * self.layers * self.dim * n * n for n in window_lengths)
        )


def encoder_cost(path: Path) -> EncoderCost:
    """Read the encoder's weight shapes and attention layers from its ONNX graph."""
    import onnx

    graph = onnx.load(str(path)).graph
    shapes = {i.name: tuple(i.dims) for i in graph.initializer}
    dequant = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "DequantizeLinear"}
    per_token, dim = 0, 0
    for node in graph.node:
        if node.op_type in ("MatMul", "Gemm", "MatMulInteger", "MatMulIntegerToFloat"):
            weight = dequant.get(node.input[1], node.input[1])
            shape = shapes.get(weight)
            if shape is not None and len(shape) == 2:
                per_token += 2 * shape[0] * shape[1]
                dim = dim or shape[0]
    layers = sum(n.op_type == "Softmax" for n in graph.node)
    return EncoderCost(per_token, layers, dim)


@dataclass(frozen=True)
class Machine:
    """What the peak estimate is made of."""

    cpu: str
    cores: int
    ghz: float
    flops_per_cycle: int

    @property
    def peak_gflops(self) -> float:
        return self.cores * self.ghz * self.flops_per_cycle

    def describe(self) -> str:
        return (
            f"{self.cpu}, {self.cores} cores @ {self.ghz:.2f} GHz, "
            f"{self.flops_per_cycle} fp32 FLOP/cycle/core -> peak {self.peak_gflops:.0f} GFLOP/s"
        )


def this_machine(cpuinfo: str | None = None) -> Machine:
    """This machine's CPU model, usable cores, clock and fp32 FLOP/cycle from /proc/cpuinfo."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    mhz = re.search(r"cpu MHz\s*:\s*([\d.]+)", cpuinfo)
    flags = set((re.search(r"flags\s*:\s*(.+)", cpuinfo) or re.search("(.*)", "")).group(1).split())
    per_cycle = 64 if "avx512f" in flags else 32 if {"avx2", "fma"} <= flags else 8
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return Machine(
        cpu=model.group(1).strip() if model else "unknown CPU",
        cores=cores,
        ghz=float(mhz.group(1)) / 1000 if mhz else 2.0,
        flops_per_cycle=per_cycle,
    )
