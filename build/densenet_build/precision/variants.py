"""Step 3, precision variants as ONNX: TensorRT 11 builds only strongly typed networks, so the
precision lives in the model file, not in builder flags.

- ``fp32``: the prepared model as is.
- ``fp16``: weights and activations converted by onnxconverter-common, inputs and outputs kept
  FP32 (``keep_io_types``) so the Triton config and every client stay unchanged.
- ``int8``: explicit QuantizeLinear/DequantizeLinear from static calibration with onnxruntime's
  quantizer (symmetric int8, per-channel weights, fp16 elsewhere), the layers int8 breaks kept in
  fp16 by a measured sensitivity search: :mod:`.int8`, :mod:`.sensitivity`, :mod:`.calibration`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import onnx

from ..acquire.prepare import check_interface, save_atomically
from ..errors import PrecisionError
from ..repository.configs import DEFAULT_INTERFACE, ModelInterface
from .agreement import Agreement, compare
from .fp16 import to_fp16
from .int8 import Int8Options, build_int8
from .metadata import stamp_precision
from .onnx_runtime import run_onnx

LOGGER = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "int8")


def variant_path(output_dir: str | Path, precision: str) -> Path:
    return Path(output_dir) / f"model_{precision}.onnx"


def make_variants(
    prepared: str | Path,
    output_dir: str | Path,
    precisions: Iterable[str],
    calibration: np.ndarray | None = None,
    interface: ModelInterface = DEFAULT_INTERFACE,
    int8: Int8Options | None = None,
    show: Callable[[str], None] = LOGGER.info,
) -> dict[str, Path]:
    """Write ``model_<precision>.onnx`` for fp32 and each requested precision; return their paths."""
    wanted = ["fp32", *[p for p in dict.fromkeys(precisions) if p != "fp32"]]
    unknown = [p for p in wanted if p not in PRECISIONS]
    if unknown:
        raise PrecisionError(f"unknown precision {unknown}; choose from {', '.join(PRECISIONS)}")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    fp32 = onnx.load(str(prepared))
    check_interface(fp32, interface)
    stamp_precision(fp32, "fp32")
    paths = {"fp32": save_atomically(fp32, variant_path(output_dir, "fp32"))}
    for precision in wanted[1:]:
        LOGGER.info("making the %s variant", precision)
        if precision == "fp16":
            paths[precision] = save_atomically(to_fp16(fp32, interface), variant_path(output_dir, precision))
        else:
            if calibration is None:
                raise PrecisionError("int8 needs calibration images (--calibration-dir)")
            destination = variant_path(output_dir, precision)
            paths[precision] = build_int8(paths["fp32"], destination, calibration, interface, int8, show).path
    return paths


def evaluate(
    paths: dict[str, Path], tensors: np.ndarray, interface: ModelInterface = DEFAULT_INTERFACE
) -> tuple[list[Agreement], np.ndarray]:
    """Agreement of every variant with fp32 on ``tensors``; also returns the fp32 logits."""
    reference = run_onnx(paths["fp32"], tensors, interface.input.name)
    rows = [
        compare(name, reference, run_onnx(path, tensors, interface.input.name))
        for name, path in paths.items()
    ]
    return rows, reference
