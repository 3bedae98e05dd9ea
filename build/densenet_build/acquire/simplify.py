"""Optional graph simplification with NVIDIA's ONNX GraphSurgeon: fold constants, drop dead nodes.

This is what TensorRT's documentation recommends before debugging parser errors. An exported
DenseNet has little to fold, so the step mostly guarantees a clean, topologically sorted graph.
"""

from __future__ import annotations

import logging

import onnx

from densenet_contract.onnx_metadata import copy_metadata

from ..errors import BuildError

LOGGER = logging.getLogger(__name__)


def simplify(model: onnx.ModelProto) -> onnx.ModelProto:
    """Fold constant subgraphs (evaluated with onnxruntime) and remove unused nodes and tensors."""
    import onnx_graphsurgeon as gs

    before = len(model.graph.node)
    graph = gs.import_onnx(model)
    graph.fold_constants().cleanup().toposort()
    simplified = gs.export_onnx(graph)
    # export_onnx writes the onnx package's newest IR version, which onnxruntime may not read,
    # and knows nothing of the file's metadata; both are kept from the input.
    simplified.ir_version = model.ir_version
    copy_metadata(model, simplified)
    try:
        simplified = onnx.shape_inference.infer_shapes(simplified, check_type=True, strict_mode=True)
    except onnx.shape_inference.InferenceError as error:
        raise BuildError(f"the simplified graph fails shape inference: {error}") from None
    LOGGER.info("simplified the graph: %d nodes -> %d", before, len(simplified.graph.node))
    return simplified
