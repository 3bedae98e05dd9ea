"""The one small ONNX graph builder the stand-in models and the torchvision converter are written with.

Nodes and float32 initializers are collected in the order they are added, then wrapped in a model
with densenet-7's interface: ``data_0`` [N, 3, 224, 224] → ``fc6_1`` [N, 1000, 1, 1], N a fixed batch
of 1 like the downloaded file (the stand-ins) or symbolic (the converter), IR 8, checked by ONNX.
The same calls give the same bytes on every machine (the seeded model's sha256 is recorded in the
configs).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from densenet_contract.names import INPUT_DIMS, INPUT_NAME, OUTPUT_DIMS, OUTPUT_NAME
from densenet_contract.onnx_metadata import update_metadata

IR_VERSION = 8


class GraphBuilder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def unique(self, prefix: str) -> str:
        """``prefix_N``, N counting every name made so far."""
        self._count += 1
        return f"{prefix}_{self._count}"

    def constant(self, name: str, array: np.ndarray) -> str:
        """Add ``array`` as a float32 initializer called ``name``; return the name."""
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array, np.float32), name))
        return name

    def node(self, op_type: str, inputs: list[str], output: str, **attributes: object) -> str:
        """Add one node writing ``output`` (``name=`` names the node itself); return ``output``."""
        self.nodes.append(helper.make_node(op_type, inputs, [output], **attributes))
        return output

    def model(
        self, name: str, producer: str, opset: int, metadata: Mapping[str, str], batch: int | str = 1
    ) -> onnx.ModelProto:
        """The checked model of everything added, with densenet-7's interface and ``metadata``.

        ``batch`` is the first dimension: 1 as densenet-7 ships, or a name for a symbolic one.
        """
        graph = helper.make_graph(
            self.nodes,
            name,
            [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [batch, *INPUT_DIMS])],
            [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [batch, *OUTPUT_DIMS])],
            self.initializers,
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", opset)], producer_name=producer
        )
        model.ir_version = IR_VERSION
        update_metadata(model, metadata)
        onnx.checker.check_model(model)
        return model
