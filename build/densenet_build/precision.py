"""Step 3, precision variants as ONNX: TensorRT 11 builds only strongly typed networks, so the
precision lives in the model file, not in builder flags.

- ``fp32``: the prepared model as is.
- ``fp16``: weights and activations converted by onnxconverter-common, inputs and outputs kept
  FP32 (``keep_io_types``) so the Triton config and every client stay unchanged.
- ``int8``: explicit QuantizeLinear/DequantizeLinear from static calibration with onnxruntime's
  quantizer: symmetric int8 activations and weights, per-channel weights, no zero points, biases
  left in float: the Q/DQ form TensorRT executes. Only the inputs of weighted layers are quantized
  (TensorRT's Q/DQ placement guidance); TensorRT fuses the rest around them.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader

from .agreement import Agreement, compare
from .errors import PrecisionError
from .prepare import check_interface, save_atomically
from .repository import DEFAULT_INTERFACE, ModelInterface

LOGGER = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "int8")
PRECISION_KEY = "precision"  # ONNX metadata_props key; the engine step copies it into the sidecar
# onnxruntime's "entropy" method gives exactly the minmax ranges once activations are symmetric
# (checked on the seeded DenseNet), so it is not offered.
CALIBRATION_METHODS = ("minmax", "percentile")
INT8_OP_TYPES = ("Conv", "ConvTranspose", "Gemm", "MatMul")
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


class _ArrayReader(CalibrationDataReader):
    """Feeds calibration tensors to onnxruntime's quantizer in batches."""

    def __init__(self, input_name: str, tensors: np.ndarray, batch_size: int) -> None:
        self._batches = iter(
            [{input_name: tensors[i : i + batch_size]} for i in range(0, len(tensors), batch_size)]
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)


def to_int8(
    fp32_path: str | Path,
    destination: str | Path,
    calibration: np.ndarray,
    interface: ModelInterface = DEFAULT_INTERFACE,
    method: str = "minmax",
    batch_size: int = EVAL_BATCH,
) -> Path:
    """Write the explicit-quantization (Q/DQ) int8 variant, calibrated on ``calibration`` tensors."""
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    if method not in CALIBRATION_METHODS:
        raise PrecisionError(
            f"calibration method must be one of {', '.join(CALIBRATION_METHODS)}, not {method!r}"
        )
    if len(calibration) < 1:
        raise PrecisionError("int8 needs at least one calibration image")
    methods = {
        "minmax": CalibrationMethod.MinMax,
        "percentile": CalibrationMethod.Percentile,
    }
    reader = _ArrayReader(interface.input.name, calibration, batch_size)
    destination = Path(destination)
    with tempfile.TemporaryDirectory(dir=destination.parent if destination.parent.exists() else None) as tmp:
        # Shape inference and onnxruntime's basic graph fusions (a Conv followed by BatchNormalization
        # becomes one Conv) before calibration, as onnxruntime recommends; symbolic shape inference
        # (sympy) is not needed for fixed image sizes.
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
        quantized = Path(tmp) / "int8.onnx"
        quantize_static(
            str(pre),
            str(quantized),
            reader,
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=list(INT8_OP_TYPES),
            per_channel=True,
            reduce_range=False,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=methods[method],
            extra_options={
                "ActivationSymmetric": True,
                "WeightSymmetric": True,
                # TensorRT dequantizes int8 (not int32) tensors: biases stay float.
                "QuantizeBias": False,
                # Q/DQ at the inputs of weighted layers only, not after them: the placement
                # TensorRT recommends, and the logits (fc6_1) keep their full precision.
                "OpTypesToExcludeOutputQuantization": list(INT8_OP_TYPES),
            },
        )
        model = onnx.load(str(quantized))
    source_ir = onnx.load(str(fp32_path), load_external_data=False).ir_version
    model.ir_version = min(model.ir_version, source_ir)
    check_interface(model, interface)
    stamp_precision(model, "int8")
    return save_atomically(model, destination)


def make_variants(
    prepared: str | Path,
    output_dir: str | Path,
    precisions: Iterable[str],
    calibration: np.ndarray | None = None,
    interface: ModelInterface = DEFAULT_INTERFACE,
    method: str = "minmax",
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
                paths["fp32"], variant_path(output_dir, precision), calibration, interface, method
            )
    return paths


def run_onnx(
    path: str | Path, tensors: np.ndarray, input_name: str, batch_size: int = EVAL_BATCH
) -> np.ndarray:
    """Logits of ``tensors`` from the model at ``path`` on onnxruntime's CPU provider."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
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
