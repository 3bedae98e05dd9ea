"""Step 2, prepare: dynamic batch dimension, interface check, shape inference, weights metadata.

densenet-7 ships with a fixed batch of 1; Triton batches along dimension 0, so that dimension
must become symbolic on the input, the output and every intermediate shape.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto

from .constants import INPUT_DIMS, INPUT_NAME, OUTPUT_DIMS, OUTPUT_NAME, SOURCE_SHA256_KEY, WEIGHTS_KEY
from .errors import ModelMismatchError

BATCH_DIM = "batch"


def make_batch_dynamic(model: onnx.ModelProto, dim_name: str = BATCH_DIM) -> onnx.ModelProto:
    """Make dimension 0 of every graph input and output symbolic and re-infer inner shapes."""
    for value in [*model.graph.input, *model.graph.output]:
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


def check_interface(model: onnx.ModelProto) -> None:
    """Refuse a model whose input/output names, types or dims differ from the ``densenet`` config."""
    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    _expect_single("input", [i.name for i in inputs], INPUT_NAME)
    _expect_single("output", [o.name for o in graph.output], OUTPUT_NAME)
    for value, expected in ((inputs[0], INPUT_DIMS), (graph.output[0], OUTPUT_DIMS)):
        tensor_type = value.type.tensor_type
        if tensor_type.elem_type != TensorProto.FLOAT:
            kind = TensorProto.DataType.Name(tensor_type.elem_type)
            raise ModelMismatchError(f"'{value.name}' is {kind}, the densenet config expects FLOAT")
        dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in tensor_type.shape.dim[1:])
        if dims != expected:
            raise ModelMismatchError(
                f"'{value.name}' has dims {list(dims)} after the batch, the config expects {list(expected)}"
            )


def _expect_single(kind: str, names: list[str], expected: str) -> None:
    if names != [expected]:
        raise ModelMismatchError(
            f"model {kind}s are {names}, the densenet config expects exactly ['{expected}']"
        )


def stamp_weights(model: onnx.ModelProto, weights: str, source_sha256: str) -> None:
    """Record which weights the file carries; the serving model reports them in its config."""
    props = {p.key: p.value for p in model.metadata_props}
    props[WEIGHTS_KEY] = weights
    props[SOURCE_SHA256_KEY] = source_sha256
    onnx.helper.set_model_props(model, props)


def prepare(source: str | Path, destination: str | Path, weights: str, source_sha256: str) -> Path:
    """Prepare ``source`` for Triton and write it to ``destination`` (written atomically)."""
    model = onnx.load(str(source))
    check_interface(model)
    model = make_batch_dynamic(model)
    check_interface(model)
    stamp_weights(model, weights, source_sha256)
    onnx.checker.check_model(model, full_check=True)
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    onnx.save(model, str(partial))
    partial.replace(destination)
    return destination
