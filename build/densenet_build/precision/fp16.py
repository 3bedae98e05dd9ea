"""The fp16 variant: weights and activations converted by onnxconverter-common, inputs and outputs kept
FP32 (``keep_io_types``) so the Triton config and every client stay unchanged."""

from __future__ import annotations

import logging
import warnings

import onnx

from ..acquire.prepare import check_interface
from ..repository.configs import DEFAULT_INTERFACE, ModelInterface
from .metadata import stamp_precision

LOGGER = logging.getLogger(__name__)


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
