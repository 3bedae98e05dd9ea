"""Step 2, prepare: opset/IR checks, dynamic batch dimension, interface check, optional simplification.

densenet-7 ships with a fixed batch of 1 and an old opset; Triton batches along dimension 0, so that
dimension must become symbolic on the input, the output and every intermediate shape, and explicit
int8 needs opset 13. The model must also match the repository's ``densenet`` config exactly, or
Triton refuses it at load time with a less helpful message.
"""

from __future__ import annotations

import logging
from pathlib import Path

import onnx

from densenet_contract.files import replacing
from densenet_contract.names import PREPROCESSING_KEY, SOURCE_KEY, SOURCE_SHA256_KEY, WEIGHTS_KEY
from densenet_contract.onnx_metadata import update_metadata

from ..errors import ModelMismatchError
from ..repository.configs import DEFAULT_INTERFACE, ModelInterface, TensorSpec
from .onnx_versions import check_versions, upgrade_opset

LOGGER = logging.getLogger(__name__)
BATCH_DIM = "batch"


def _initializer_names(model: onnx.ModelProto) -> set[str]:
    return {t.name for t in model.graph.initializer}


def drop_initializer_inputs(model: onnx.ModelProto) -> None:
    """Remove weights listed as graph inputs (IR < 4 exporters did that, densenet-7 among them).

    Left in place, every weight shows up as an overridable model input in onnxruntime and TensorRT.
    """
    if model.ir_version < 4:
        return  # IR 3 requires every initializer to be an input
    weights = _initializer_names(model)
    real = [i for i in model.graph.input if i.name not in weights]
    if len(real) != len(model.graph.input):
        del model.graph.input[:]
        model.graph.input.extend(real)


def make_batch_dynamic(model: onnx.ModelProto, dim_name: str = BATCH_DIM) -> onnx.ModelProto:
    """Make dimension 0 of every graph input and output symbolic and re-infer inner shapes."""
    weights = _initializer_names(model)
    for value in [*model.graph.input, *model.graph.output]:
        if value.name in weights:
            continue  # a weight, not a batched tensor
        dims = value.type.tensor_type.shape.dim
        if not dims:
            raise ModelMismatchError(f"tensor '{value.name}' has no shape; cannot make its batch dynamic")
        dims[0].Clear()
        dims[0].dim_param = dim_name
    # Inner shapes recorded for batch 1 would contradict the new symbolic batch.
    del model.graph.value_info[:]
    for node in model.graph.node:
        if node.op_type == "Reshape":
            _check_reshape(model, node)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    out_dim = inferred.graph.output[0].type.tensor_type.shape.dim[0]
    if out_dim.dim_param != dim_name:
        raise ModelMismatchError(
            f"output batch dimension is {out_dim} after inference, expected '{dim_name}'"
        )
    return inferred


def _check_reshape(model: onnx.ModelProto, node: onnx.NodeProto) -> None:
    shapes = {t.name: t for t in model.graph.initializer}
    target = shapes.get(node.input[1])
    if target is not None:
        values = onnx.numpy_helper.to_array(target)
        if values.size and values[0] == 1:
            raise ModelMismatchError(
                f"Reshape node '{node.name}' hard-codes batch 1 ({values.tolist()}); it would break batching"
            )


def check_interface(model: onnx.ModelProto, interface: ModelInterface = DEFAULT_INTERFACE) -> None:
    """Refuse a model whose input/output names, types or dims differ from the ``densenet`` config."""
    graph = model.graph
    weights = _initializer_names(model)
    inputs = [i for i in graph.input if i.name not in weights]
    where = interface.source
    _expect_single("input", [i.name for i in inputs], interface.input.name, where)
    _expect_single("output", [o.name for o in graph.output], interface.output.name, where)
    for value, expected in ((inputs[0], interface.input), (graph.output[0], interface.output)):
        _check_tensor(value, expected, where)


def _check_tensor(value: onnx.ValueInfoProto, expected: TensorSpec, where: str) -> None:
    tensor_type = value.type.tensor_type
    if tensor_type.elem_type != expected.elem_type:
        kind = onnx.TensorProto.DataType.Name(tensor_type.elem_type)
        raise ModelMismatchError(f"'{value.name}' is {kind}, {where} expects {expected.type_name}")
    dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in tensor_type.shape.dim[1:])
    if dims != expected.dims:
        raise ModelMismatchError(
            f"'{value.name}' has dims {list(dims)} after the batch, {where} expects {list(expected.dims)}"
        )


def _expect_single(kind: str, names: list[str], expected: str, where: str) -> None:
    if names != [expected]:
        raise ModelMismatchError(f"model {kind}s are {names}, {where} expects exactly ['{expected}']")


def stamp_weights(
    model: onnx.ModelProto,
    weights: str,
    source_sha256: str,
    preprocessing: str | None = None,
    source: str | None = None,
) -> None:
    """Record which weights the file carries, the preprocessing they expect and where they came from;
    the server reports them."""
    values = {WEIGHTS_KEY: weights, SOURCE_SHA256_KEY: source_sha256}
    for key, value in ((PREPROCESSING_KEY, preprocessing), (SOURCE_KEY, source)):
        if value is not None:
            values[key] = value
    update_metadata(model, values)


def prepare_model(
    model: onnx.ModelProto, interface: ModelInterface = DEFAULT_INTERFACE, *, simplify: bool = False
) -> onnx.ModelProto:
    """The in-memory part of :func:`prepare`: every check and transformation, no file I/O."""
    check_interface(model, interface)
    model = upgrade_opset(model)
    drop_initializer_inputs(model)
    model = make_batch_dynamic(model)
    for warning in check_versions(model):
        LOGGER.warning("%s", warning)
    if simplify:
        from .simplify import simplify as simplify_graph

        model = simplify_graph(model)
    check_interface(model, interface)
    return model


def prepare(
    source: str | Path,
    destination: str | Path,
    weights: str | None = None,
    source_sha256: str | None = None,
    *,
    interface: ModelInterface = DEFAULT_INTERFACE,
    simplify: bool = False,
    preprocessing: str | None = None,
    weights_source: str | None = None,
) -> Path:
    """Prepare ``source`` for Triton and write it to ``destination`` (written atomically).

    ``weights``/``source_sha256``/``preprocessing``/``weights_source`` stamp the file's metadata;
    without them the metadata it already carries (a model prepared before) is kept.
    """
    model = prepare_model(onnx.load(str(source)), interface, simplify=simplify)
    if weights is not None:
        stamp_weights(model, weights, source_sha256 or "", preprocessing, weights_source)
    onnx.checker.check_model(model, full_check=True)
    return save_atomically(model, destination)


def save_atomically(model: onnx.ModelProto, destination: str | Path) -> Path:
    """Write ``model`` so that a reader never sees a half-written file."""
    with replacing(destination) as partial:
        onnx.save(model, str(partial))
    return Path(destination)
