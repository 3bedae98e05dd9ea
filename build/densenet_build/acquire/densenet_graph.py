"""DenseNet as ONNX in densenet-7's interface: torchvision's topology, the weights from any source.

One graph serves the seeded stand-in (random weights drawn in graph order) and torchvision's
checkpoints (weights looked up by their state_dict names), so the two cannot drift apart.

torchvision's ``DenseNet.forward`` in eval mode: conv0 7x7/2 pad 3 → norm0 → ReLU → max pool 3x3/2
pad 1 → dense blocks (each layer: norm1, ReLU, conv1 1x1 to ``bn_size * growth``, norm2, ReLU,
conv2 3x3 pad 1 to ``growth``, concatenated to its input) with a transition between blocks (norm,
ReLU, conv 1x1 to half the channels, average pool 2x2/2) → norm5 → ReLU → global average pool →
classifier. Batch norms use eps 1e-5; the classifier becomes a 1x1 convolution so the output is
``fc6_1`` [N, classes, 1, 1] like densenet-7's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import onnx

from densenet_contract.names import INPUT_NAME, NUM_CLASSES, OUTPUT_NAME

from ..testmodels.onnx_graph import GraphBuilder

OPSET = 13
BN_EPSILON = 1e-5
# The batch norm initializers' name prefixes: bn_scale_N, bn_bias_N, bn_mean_N, bn_var_N.
_BN_PARTS = ("scale", "bias", "mean", "var")


@dataclass(frozen=True)
class Architecture:
    """torchvision's ``DenseNet(growth_rate, block_config, num_init_features, bn_size, num_classes)``."""

    growth: int = 32
    blocks: tuple[int, ...] = (6, 12, 24, 16)
    bn_size: int = 4
    init_features: int = 64
    classes: int = NUM_CLASSES

    def describe(self) -> str:
        blocks = "/".join(str(n) for n in self.blocks)
        return (
            f"DenseNet growth {self.growth}, blocks {blocks}, bn_size {self.bn_size}, "
            f"init features {self.init_features}, {self.classes} classes"
        )


DENSENET121 = Architecture()


class WeightSource(Protocol):
    """Hands out each layer's float32 weights, asked in graph order with torchvision's module names."""

    def conv(self, name: str, shape: tuple[int, int, int, int]) -> np.ndarray:
        """The weight [out, in, k, k] of the bias-free convolution ``name``."""

    def batch_norm(self, name: str, channels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(weight, bias, running_mean, running_var) of the batch norm ``name``, each [channels]."""

    def linear(self, name: str, classes: int, features: int) -> tuple[np.ndarray, np.ndarray]:
        """(weight [classes, features], bias [classes]) of the fully connected layer ``name``."""


class _DenseNetGraph(GraphBuilder):
    def __init__(self, weights: WeightSource) -> None:
        super().__init__()
        self.weights = weights

    def _const(self, prefix: str, array: np.ndarray) -> str:
        return self.constant(self.unique(prefix), array)

    def conv(self, x: str, name: str, cin: int, cout: int, kernel: int, stride: int = 1) -> str:
        inputs = [x, self._const("conv_w", self.weights.conv(name, (cout, cin, kernel, kernel)))]
        pad = kernel // 2
        return self.node(
            "Conv",
            inputs,
            self.unique("conv"),
            kernel_shape=[kernel] * 2,
            strides=[stride] * 2,
            pads=[pad] * 4,
        )

    def bn_relu(self, x: str, name: str, channels: int) -> str:
        parts = self.weights.batch_norm(name, channels)
        inputs = [x, *(self._const(f"bn_{kind}", a) for kind, a in zip(_BN_PARTS, parts, strict=True))]
        normed, out = self.unique("bn"), self.unique("relu")
        self.node("BatchNormalization", inputs, normed, epsilon=BN_EPSILON)
        return self.node("Relu", [normed], out)

    def op(self, op_type: str, inputs: list[str], **attributes: object) -> str:
        return self.node(op_type, inputs, self.unique(op_type.lower()), **attributes)


def build_densenet(
    weights: WeightSource,
    architecture: Architecture,
    *,
    name: str,
    producer: str,
    metadata: dict[str, str],
    batch: int | str = 1,
) -> onnx.ModelProto:
    """The checked ONNX model of ``architecture`` with ``weights`` (``batch``: see GraphBuilder.model)."""
    arch, g = architecture, _DenseNetGraph(weights)
    x = g.conv(INPUT_NAME, "features.conv0", 3, arch.init_features, 7, stride=2)
    x = g.bn_relu(x, "features.norm0", arch.init_features)
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    channels, bottleneck = arch.init_features, arch.bn_size * arch.growth
    for block, layers in enumerate(arch.blocks, start=1):
        for layer in range(1, layers + 1):
            prefix = f"features.denseblock{block}.denselayer{layer}"
            y = g.conv(g.bn_relu(x, f"{prefix}.norm1", channels), f"{prefix}.conv1", channels, bottleneck, 1)
            y = g.conv(
                g.bn_relu(y, f"{prefix}.norm2", bottleneck), f"{prefix}.conv2", bottleneck, arch.growth, 3
            )
            x = g.op("Concat", [x, y], axis=1)
            channels += arch.growth
        if block != len(arch.blocks):
            prefix = f"features.transition{block}"
            x = g.conv(g.bn_relu(x, f"{prefix}.norm", channels), f"{prefix}.conv", channels, channels // 2, 1)
            x = g.op("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
            channels //= 2
    x = g.op("GlobalAveragePool", [g.bn_relu(x, "features.norm5", channels)])
    weight, bias = weights.linear("classifier", arch.classes, channels)
    classifier = [g._const("fc6_w", weight.reshape(arch.classes, channels, 1, 1)), g._const("fc6_b", bias)]
    g.node("Conv", [x, *classifier], OUTPUT_NAME, kernel_shape=[1, 1])
    return g.model(name, producer, OPSET, metadata, batch=batch)
