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
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import onnx

from ..acquire.prepare import check_interface, save_atomically
from ..errors import PrecisionError
from ..repository.configs import DEFAULT_INTERFACE, ModelInterface
from .agreement import Agreement, compare
from .int8 import Int8Options, build_int8

LOGGER = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "int8")
PRECISION_KEY = "precision"  # ONNX metadata_props key; the engine step copies it into the sidecar
EVAL_BATCH = 8


def variant_path(output_dir: str | Path, precision: str) -> Path:
    return Path(output_dir) / f"model_{precision}.onnx"


def read_precision(model: onnx.ModelProto) -> str | None:
    return next((p.value for p in model.metadata_props if p.key == PRECISION_KEY), None)


def stamp_precision(model: onnx.ModelProto, precision: str) -> None:
    props = {p.key: p.value for p in model.metadata_props}
    props[PRECISION_KEY] = precision
    onnx.helper.set_model_props(model, props)


def to_fp16(model: onnx.ModelProto, interface: ModelInterface = DEFAULT_INTERFACE) -> onnx.ModelProto:
    """The fp16 variant: fp16 inside, fp32 at the inputs and outputs."""
    from onnxconverter_common import float16

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        converted = float16.convert_float_to_float16(model, keep_io_types=True)
    clamped = [w for w in caught if "truncated" in str(w.message)]
    if clamped:
        # Tiny weights below fp16's range become ±1e-7 (or the fp16 maximum); a count is enough.
        LOGGER.info("fp16: %d weight values outside the fp16 range were clamped", len(clamped))
    converted.ir_version = model.ir_version  # the converter may raise it past what onnxruntime reads
    check_interface(converted, interface)  # keep_io_types: the Triton config still fits
    stamp_precision(converted, "fp16")
    return converted


def to_int8(
    fp32_path: str | Path,
    destination: str | Path,
    calibration: np.ndarray,
    interface: ModelInterface = DEFAULT_INTERFACE,
    options: Int8Options | None = None,
    show: Callable[[str], None] = LOGGER.info,
) -> Path:
    """Write the int8 variant (Q/DQ, the layers int8 breaks kept in fp16): see :mod:`.int8`."""
    return build_int8(fp32_path, destination, calibration, interface, options or Int8Options(), show).path


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
            paths[precision] = to_int8(
                paths["fp32"], variant_path(output_dir, precision), calibration, interface, int8, show
            )
    return paths


def run_onnx(
    path: str | Path, tensors: np.ndarray, input_name: str, batch_size: int = EVAL_BATCH
) -> np.ndarray:
    """Logits of ``tensors`` from the model at ``path`` on onnxruntime's CPU provider."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # fp16 graphs: constant-folding notes on every Mul, not errors
    # onnxruntime's CPU Q/DQ fusions give wrong logits on the int8 variant's fp16 graph (0 % top-1
    # agreement on EfficientNet-Lite0, 93 % without them); the file is for TensorRT, which fuses on
    # its own, so it is judged as written. No effect on models without Q/DQ.
    options.add_session_config_entry("session.disable_quant_qdq", "1")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    outputs = [
        session.run(None, {input_name: tensors[i : i + batch_size]})[0]
        for i in range(0, len(tensors), batch_size)
    ]
    return np.concatenate(outputs)


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
