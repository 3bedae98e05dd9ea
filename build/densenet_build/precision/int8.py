"""The int8 variant: explicit Q/DQ where int8 holds, fp16 where it does not (strongly typed).

TensorRT 11 builds only strongly typed networks, so every tensor's type is in the ONNX file:
- the graph is converted to fp16 by onnxconverter-common (inputs and outputs stay fp32), then
- onnxruntime's static quantizer puts QuantizeLinear/DequantizeLinear (symmetric int8 activations
  and weights, per-channel weights on axis 0, zero points 0, fp16 scales) at the inputs of the
  weighted layers, except the layers the sensitivity search keeps in fp16 (``nodes_to_exclude``).
  Biases stay float (TensorRT does not dequantize int32 biases); layer outputs and the logits are
  not quantized (TensorRT's Q/DQ placement guidance: it fuses the rest around them).
fp16 scales need opset 19 (DequantizeLinear's float16 outputs), so the model is upgraded first.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import helper

from densenet_contract.onnx_metadata import copy_metadata, read_metadata, update_metadata

from ..acquire.onnx_versions import default_opset
from ..acquire.prepare import check_interface, save_atomically
from ..errors import PrecisionError
from ..repository.configs import DEFAULT_INTERFACE, ModelInterface
from .agreement import compare
from .calibration import INT8_OP_TYPES, cached_ranges, check_images, check_method, retype_ranges
from .fp16 import to_fp16
from .metadata import stamp_precision
from .onnx_runtime import run_onnx
from .sensitivity import SearchResult, format_search, search

LOGGER = logging.getLogger(__name__)
QDQ_OPSET = 19  # DequantizeLinear with float16 scales (and float16 outputs)
FLOAT_LAYERS_KEY = "int8_fp16_layers"  # ONNX metadata: the layers kept in fp16, comma-separated
DEFAULT_TARGET = 0.97
DEFAULT_HELD_OUT = 0.5  # 100 images: 50 held out, so 97 % tolerates one disagreement


@dataclass(frozen=True)
class Int8Options:
    method: str = "minmax"
    target_agreement: float = DEFAULT_TARGET  # top-1 agreement with fp32 on the held-out images
    held_out: float = DEFAULT_HELD_OUT  # fraction of the calibration images kept out of calibration
    cache_dir: Path | None = None  # calibration ranges and search results; None: not cached


@dataclass
class Int8Result:
    path: Path
    search: SearchResult
    calibration_images: int
    held_out_images: int
    notes: list[str] = field(default_factory=list)


def _min_ir_version(model: onnx.ModelProto) -> int:
    return helper.find_min_ir_version_for([helper.make_opsetid("", default_opset(model))])


def _drop_unused_domains(model: onnx.ModelProto) -> None:
    """Forget the operator domains no node uses (onnxruntime's optimizer lists all of its own)."""
    used = {node.domain for node in model.graph.node} | {""}
    kept = [o for o in model.opset_import if o.domain in used or o.domain == "ai.onnx"]
    del model.opset_import[:]
    model.opset_import.extend(kept)


def prepare_for_quantization(fp32_path: str | Path, destination: str | Path) -> Path:
    """onnxruntime's pre-processing (shapes, Conv+BatchNormalization fusion), opset 19, node names."""
    from onnx import version_converter
    from onnxruntime.quantization import quant_pre_process

    destination = Path(destination)
    quant_pre_process(str(fp32_path), str(destination), skip_symbolic_shape=True)
    model = onnx.load(str(destination))
    if default_opset(model) < QDQ_OPSET:
        converted = version_converter.convert_version(model, QDQ_OPSET)
        copy_metadata(model, converted)  # keep the pre-processing mark: no quantizer warning
        model = converted
    model.ir_version = max(model.ir_version, _min_ir_version(model))
    seen: set[str] = set()
    for index, node in enumerate(model.graph.node):
        # nodes_to_exclude needs names; exporters often leave them empty.
        if not node.name or node.name in seen:
            node.name = f"{node.op_type}_{index}_{node.output[0]}"
        seen.add(node.name)
    onnx.save(model, str(destination))
    return destination


def weighted_layers(model: onnx.ModelProto) -> list[str]:
    """The layers int8 applies to: Conv/Gemm/MatMul with a constant weight, in graph order."""
    constants = {t.name for t in model.graph.initializer}
    return [n.name for n in model.graph.node if n.op_type in INT8_OP_TYPES and n.input[1] in constants]


def layer_macs(model: onnx.ModelProto) -> dict[str, int]:
    """Multiply-accumulates per image of each weighted layer (from its weight and output shapes)."""
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in (*inferred.graph.value_info, *inferred.graph.output)
    }
    weights = {t.name: list(t.dims) for t in model.graph.initializer}
    macs = {}
    for node in model.graph.node:
        if node.op_type not in INT8_OP_TYPES or node.input[1] not in weights:
            continue
        weight, output = weights[node.input[1]], shapes.get(node.output[0], [])
        per_output = int(np.prod(weight[1:])) if node.op_type.startswith("Conv") else weight[0]
        if node.op_type == "Gemm" and any(a.name == "transB" and a.i for a in node.attribute):
            per_output = weight[1]
        elif node.op_type == "MatMul":
            per_output = weight[-2]
        macs[node.name] = int(np.prod([d or 1 for d in output[1:]])) * per_output
    return macs


def quantize(
    model_path: Path,
    ranges_path: Path,
    destination: Path,
    method: str,
    exclude: Sequence[str] = (),
    only: Sequence[str] | None = None,
) -> Path:
    """onnxruntime's static Q/DQ quantization with cached ranges, minus ``exclude`` (or only ``only``)."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    quantize_static(
        str(model_path),
        str(destination),
        None,
        calibration_cache_path=str(ranges_path),
        quant_format=QuantFormat.QDQ,
        op_types_to_quantize=list(INT8_OP_TYPES),
        nodes_to_exclude=list(exclude),
        nodes_to_quantize=list(only) if only else None,
        per_channel=True,
        reduce_range=False,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=check_method(method),
        extra_options={
            "ActivationSymmetric": True,
            "WeightSymmetric": True,
            "QuantizeBias": False,
            # Biases stay float, so there is no int32 bias to make room for: without this,
            # onnxruntime still widens weight scales for one (x265 seen on EfficientNet-Lite0),
            # wasting their int8 precision.
            "QDQDisableWeightAdjustForInt32Bias": True,
            "OpTypesToExcludeOutputQuantization": list(INT8_OP_TYPES),
        },
    )
    return destination


def _split(tensors: np.ndarray, held_out: float) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(calibration, held-out) tensors: a seeded random slice, not the last names (often one class).

    ``held_out`` 0, or too few images to spare one: both are all the images (agreement optimistic).
    """
    count = len(tensors)
    if held_out <= 0:
        return tensors, tensors, []
    held = min(count - 1, max(1, round(count * held_out)))
    if held < 1:
        note = (
            f"{count} calibration image(s): none can be held out, so the search measures agreement "
            "on the calibration images themselves (optimistic)"
        )
        return tensors, tensors, [note]
    order = np.random.default_rng(0).permutation(count)
    return tensors[np.sort(order[held:])], tensors[np.sort(order[:held])], []


class _Trials:
    """The files a sensitivity search quantizes again and again, and the agreement of each trial."""

    def __init__(
        self, tmp: Path, pre: Path, ranges: Path, held_out: np.ndarray, interface: ModelInterface, method: str
    ) -> None:
        self.tmp, self.pre, self.ranges, self.held_out, self.method = tmp, pre, ranges, held_out, method
        self.input_name = interface.input.name
        half = to_fp16(onnx.load(str(pre)), interface)
        self.half = tmp / "fp16.onnx"
        onnx.save(half, str(self.half))
        self.half_ranges = retype_ranges(ranges, half, tmp / "ranges-fp16.json")
        self._reference: np.ndarray | None = None  # fp32 logits, only if the search is not cached

    def quantize(self, exclude: Sequence[str], fp16: bool = True, only: Sequence[str] | None = None) -> Path:
        model, ranges = (self.half, self.half_ranges) if fp16 else (self.pre, self.ranges)
        return quantize(model, ranges, self.tmp / "trial.onnx", self.method, exclude, only)

    def agreement(self, exclude: Sequence[str], fp16: bool = True, only: Sequence[str] | None = None):
        if self._reference is None:
            self._reference = run_onnx(self.pre, self.held_out, self.input_name)
        logits = run_onnx(self.quantize(exclude, fp16, only), self.held_out, self.input_name)
        return compare("trial", self._reference, logits)

    def search(self, options: Int8Options) -> SearchResult:
        model = onnx.load(str(self.pre), load_external_data=False)
        return search(
            weighted_layers(model),
            layer_macs(model),
            options.target_agreement,
            partial=lambda kept: self.agreement(kept),
            alone=lambda layer: self.agreement((), fp16=False, only=[layer]),
            cache_key=(self.pre.read_bytes(), self.ranges.read_bytes(), self.held_out.tobytes(), self.method),
            cache_dir=options.cache_dir,
        )


def build_int8(
    fp32_path: str | Path,
    destination: str | Path,
    tensors: np.ndarray,
    interface: ModelInterface = DEFAULT_INTERFACE,
    options: Int8Options | None = None,
    show: Callable[[str], None] = LOGGER.info,
) -> Int8Result:
    """Calibrate, search for the fp16 layers, and write the int8 variant; see the module docstring."""
    options = options or Int8Options()
    check_method(options.method)
    check_images(tensors)
    destination = Path(destination)
    calibration, held_out, notes = _split(tensors, options.held_out)
    for note in notes:
        LOGGER.warning("%s", note)
    with tempfile.TemporaryDirectory(prefix="int8.") as tmp_dir:
        tmp = Path(tmp_dir)
        pre = prepare_for_quantization(fp32_path, tmp / "pre.onnx")
        show(
            f"int8: calibrating on {len(calibration)} images ({options.method}), "
            f"measuring agreement on {len(held_out)} held-out images"
        )
        cache_dir = Path(options.cache_dir) if options.cache_dir is not None else tmp
        ranges = cached_ranges(pre, calibration, interface.input.name, options.method, cache_dir)
        trials = _Trials(tmp, pre, ranges, held_out, interface, options.method)
        result = trials.search(options)
        details = search_report_path(destination)
        details.parent.mkdir(parents=True, exist_ok=True)
        details.write_text(json.dumps(result.to_json(), indent=1) + "\n", encoding="utf-8")
        show(format_search(result, details=details))
        if result.kept is None:
            destination.unlink(missing_ok=True)  # a stale int8 file must not reach the engine step
            raise_no_split(result)
        final = onnx.load(str(trials.quantize(result.kept)))
    source = onnx.load(str(fp32_path), load_external_data=False)
    # No newer IR than the source (what this onnxruntime reads), but what opset 19 needs.
    final.ir_version = max(min(final.ir_version, source.ir_version), _min_ir_version(final))
    _drop_unused_domains(final)
    check_interface(final, interface)
    stamp_precision(final, "int8")
    update_metadata(final, {FLOAT_LAYERS_KEY: ",".join(result.kept)})
    return Int8Result(save_atomically(final, destination), result, len(calibration), len(held_out), notes)


def search_report_path(model_path: Path) -> Path:
    """Where the full sensitivity table of an int8 variant goes: ``model_int8-search.json``."""
    return model_path.with_name(model_path.stem + "-search.json")


def raise_no_split(result: SearchResult) -> None:
    best = result.trials[-1] if result.trials else None
    raise PrecisionError(
        f"no int8/fp16 split reaches {result.target:.1%} top-1 agreement with fp32 on the held-out "
        "images" + (f" (every layer in fp16: {best.top1_agreement:.1%})" if best else "") + ": "
        "use fp16 (PRECISION=fp16), or a lower --target-agreement if that is good enough for you"
    )


def float_layers(path: str | Path) -> list[str]:
    """The layers an int8 variant keeps in fp16, as its metadata records them."""
    return [name for name in read_metadata(path).get(FLOAT_LAYERS_KEY, "").split(",") if name]
