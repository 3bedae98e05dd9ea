"""Step 6, verify: run the plan with TensorRT on sample images and compare it with ONNX Runtime fp32.

The same metrics and table as the precision step, so the plan's figures sit beside its ONNX
variant's. Running the engine (device buffers, shapes, streams) is left to NVIDIA's Polygraphy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..precision.agreement import Agreement, compare
from ..precision.onnx_runtime import run_onnx
from ..repository.configs import ModelInterface
from .gpu import import_polygraphy_trt
from .sidecar import PlanInfo


def run_plan(plan: str | Path, tensors: np.ndarray, interface: ModelInterface, batch_size: int) -> np.ndarray:
    """Logits of ``tensors`` from the TensorRT plan, ``batch_size`` images at a time."""
    polygraphy_trt = import_polygraphy_trt()
    outputs = []
    with polygraphy_trt.TrtRunner(polygraphy_trt.EngineFromBytes(Path(plan).read_bytes())) as runner:
        for start in range(0, len(tensors), batch_size):
            batch = np.ascontiguousarray(tensors[start : start + batch_size])
            outputs.append(np.array(runner.infer({interface.input.name: batch})[interface.output.name]))
    return np.concatenate(outputs)


def verify_plan(
    plan: str | Path,
    info: PlanInfo,
    reference_onnx: str | Path,
    tensors: np.ndarray,
    interface: ModelInterface,
) -> tuple[Agreement, Agreement]:
    """(fp32 reference row, plan row) over ``tensors``."""
    reference = run_onnx(reference_onnx, tensors, interface.input.name)
    logits = run_plan(plan, tensors, interface, batch_size=info.opt_batch)
    name = f"plan {info.precision} ({Path(plan).name})"
    return compare("fp32", reference, reference), compare(name, reference, logits)
