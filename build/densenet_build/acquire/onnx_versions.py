"""IR version and opset checks: can ONNX Runtime, TensorRT and Q/DQ quantization read this model?

- ONNX Runtime: its limits are measured, not assumed: a tiny model per IR version and opset is
  offered to the installed onnxruntime (the ``onnx`` package often writes newer IR versions than
  onnxruntime reads; onnx 1.23 writes IR 14, onnxruntime 1.31 reads up to IR 13).
- TensorRT's ONNX parser reads opset 9 and later (TensorRT 10 and 11 support matrices); the newest
  opset it reads depends on the release (11.x: 25), so opsets past ``TENSORRT_SAFE_MAX_OPSET`` get
  a warning, not a refusal.
- Explicit int8 (per-channel Q/DQ with an ``axis``) needs opset 13, so older models are upgraded
  with ONNX's version converter to ``TARGET_MIN_OPSET``.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import onnx
from onnx import TensorProto, helper

from ..errors import UnsupportedModelError

LOGGER = logging.getLogger(__name__)

TENSORRT_MIN_OPSET = 9
TENSORRT_SAFE_MAX_OPSET = 20  # read by every TensorRT 10.x and 11.x parser
TARGET_MIN_OPSET = 13  # QuantizeLinear/DequantizeLinear with a per-channel axis


@dataclass(frozen=True)
class RuntimeLimits:
    onnxruntime_version: str
    max_ir_version: int
    max_opset: int


def _probe_model(ir_version: int, opset: int) -> bytes:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir_version
    return model.SerializeToString()


def _loads(ir_version: int, opset: int) -> bool:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4  # the refusals are expected; keep them off the console
    try:
        ort.InferenceSession(_probe_model(ir_version, opset), options, providers=["CPUExecutionProvider"])
    except Exception:  # onnxruntime raises its own Fail/InvalidGraph types
        return False
    return True


@functools.cache
def onnxruntime_limits() -> RuntimeLimits | None:
    """The newest IR version and default-domain opset the installed onnxruntime loads (None: none is)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None

    # Probe downwards from a little past what the onnx package knows; the first that loads is the limit.
    max_ir = next(v for v in range(onnx.IR_VERSION + 2, 2, -1) if _loads(v, 7))
    max_opset = next(v for v in range(onnx.defs.onnx_opset_version() + 2, 6, -1) if _loads(7, v))
    return RuntimeLimits(ort.__version__, max_ir, max_opset)


def default_opset(model: onnx.ModelProto) -> int:
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return entry.version
    raise UnsupportedModelError("the model imports no default-domain (ai.onnx) opset")


def check_versions(model: onnx.ModelProto, limits: RuntimeLimits | None = None) -> list[str]:
    """Refuse what cannot load; return warnings (as sentences) for what TensorRT may not read."""
    limits = limits or onnxruntime_limits()
    opset = default_opset(model)
    warnings = []
    if limits is None:
        warnings.append("onnxruntime is not installed: the IR version and opset were not checked against it")
    elif model.ir_version > limits.max_ir_version:
        raise UnsupportedModelError(
            f"the model has ONNX IR version {model.ir_version}; the installed onnxruntime "
            f"{limits.onnxruntime_version} reads IR versions up to {limits.max_ir_version}. Re-save it with "
            f"model.ir_version = {limits.max_ir_version} (if its opset allows) or upgrade onnxruntime"
        )
    if limits is not None and opset > limits.max_opset:
        raise UnsupportedModelError(
            f"the model uses opset {opset}; the installed onnxruntime {limits.onnxruntime_version} reads "
            f"opsets up to {limits.max_opset}. Export it with an older opset"
        )
    if opset < TENSORRT_MIN_OPSET:
        raise UnsupportedModelError(
            f"the model uses opset {opset}; TensorRT's ONNX parser reads opset {TENSORRT_MIN_OPSET} and "
            f"later. `densenet-build prepare` upgrades it to {TARGET_MIN_OPSET}"
        )
    if opset > TENSORRT_SAFE_MAX_OPSET:
        warnings.append(
            f"opset {opset} is newer than {TENSORRT_SAFE_MAX_OPSET}, the newest every TensorRT 10 parser "
            "reads; if the engine step reports unsupported nodes, export with an older opset"
        )
    foreign = sorted({e.domain for e in model.opset_import if e.domain not in ("", "ai.onnx")})
    if foreign:
        warnings.append(f"the model uses custom operator domains {foreign}; TensorRT needs plugins for them")
    return warnings


def upgrade_opset(model: onnx.ModelProto, target: int = TARGET_MIN_OPSET) -> onnx.ModelProto:
    """Convert a model below opset ``target`` up to it (a no-op otherwise), keeping a loadable IR version."""
    opset = default_opset(model)
    if opset >= target:
        return model
    LOGGER.info("upgrading the model from opset %d to %d (needed for per-channel Q/DQ)", opset, target)
    try:
        converted = onnx.version_converter.convert_version(model, target)
    except Exception as error:  # the converter raises plain RuntimeError/ValueError with its reason
        raise UnsupportedModelError(
            f"cannot upgrade the model from opset {opset} to {target}: {error}"
        ) from None
    needed = helper.find_min_ir_version_for(list(converted.opset_import), ignore_unknown=True)
    limits = onnxruntime_limits()
    converted.ir_version = max(model.ir_version, needed)
    if limits is not None:
        converted.ir_version = min(converted.ir_version, limits.max_ir_version)
    return converted
