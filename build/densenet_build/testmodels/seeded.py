"""A DenseNet-121 ONNX with seeded random weights and densenet-7's interface, for offline use and tests.

Same topology as DenseNet-121 (growth 32, blocks 6/12/24/16, bottleneck 4x, compression 0.5;
7,978,856 trainable parameters like torchvision's), the same tensor names as the ONNX model zoo's
densenet-7 (``data_0`` [1, 3, 224, 224] → ``fc6_1`` [1, 1000, 1, 1]) and, like densenet-7, a fixed
batch of 1, so it goes through exactly the same preparation as the downloaded file.
Its predictions are meaningless; its metadata says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

from densenet_contract.names import INPUT_NAME, NUM_CLASSES, OUTPUT_NAME, WEIGHTS_KEY

from .onnx_graph import GraphBuilder

SEED = 121
OPSET = 13
GROWTH = 32
BLOCKS = (6, 12, 24, 16)
BOTTLENECK = 4
INIT_FEATURES = 64
SEEDED_WEIGHTS = f"seeded-random (seed {SEED}): NOT trained, labels are meaningless"
# Scales the classifier so logits spread like a trained model's (std of a few units) instead of
# saturating the softmax; fixed here so the file is byte-identical on every machine.
CLASSIFIER_GAIN = 0.15


class _DenseNetBuilder(GraphBuilder):
    def __init__(self, rng: np.random.Generator) -> None:
        super().__init__()
        self.rng = rng

    def _const(self, prefix: str, array: np.ndarray) -> str:
        return self.constant(self.unique(prefix), array)

    def conv(self, x: str, cin: int, cout: int, kernel: int, stride: int = 1) -> str:
        fan_in = cin * kernel * kernel
        weight = self.rng.standard_normal((cout, cin, kernel, kernel), dtype=np.float32) * np.sqrt(
            2.0 / fan_in
        )
        inputs = [x, self._const("conv_w", weight)]
        pad = kernel // 2
        return self.node(
            "Conv",
            inputs,
            self.unique("conv"),
            kernel_shape=[kernel] * 2,
            strides=[stride] * 2,
            pads=[pad] * 4,
        )

    def bn_relu(self, x: str, channels: int) -> str:
        # Running statistics near identity keep activations in a sane range through 121 layers.
        scale = self._const("bn_scale", 1.0 + 0.1 * self.rng.standard_normal(channels, dtype=np.float32))
        bias = self._const("bn_bias", 0.1 * self.rng.standard_normal(channels, dtype=np.float32))
        mean = self._const("bn_mean", 0.1 * self.rng.standard_normal(channels, dtype=np.float32))
        var = self._const("bn_var", 1.0 + 0.1 * self.rng.random(channels, dtype=np.float32))
        normed, out = self.unique("bn"), self.unique("relu")
        self.node("BatchNormalization", [x, scale, bias, mean, var], normed, epsilon=1e-5)
        return self.node("Relu", [normed], out)

    def op(self, op_type: str, inputs: list[str], **attributes: object) -> str:
        return self.node(op_type, inputs, self.unique(op_type.lower()), **attributes)


def build_seeded_densenet(seed: int = SEED) -> onnx.ModelProto:
    """Build the model in memory (about 32 MB of float32 weights)."""
    g = _DenseNetBuilder(np.random.default_rng(seed))
    x = g.conv(INPUT_NAME, 3, INIT_FEATURES, 7, stride=2)
    x = g.bn_relu(x, INIT_FEATURES)
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    channels = INIT_FEATURES
    for block, layers in enumerate(BLOCKS):
        for _ in range(layers):
            y = g.conv(g.bn_relu(x, channels), channels, BOTTLENECK * GROWTH, 1)
            y = g.conv(g.bn_relu(y, BOTTLENECK * GROWTH), BOTTLENECK * GROWTH, GROWTH, 3)
            x = g.op("Concat", [x, y], axis=1)
            channels += GROWTH
        if block != len(BLOCKS) - 1:
            x = g.conv(g.bn_relu(x, channels), channels, channels // 2, 1)
            x = g.op("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
            channels //= 2
    x = g.op("GlobalAveragePool", [g.bn_relu(x, channels)])
    classifier = g.rng.standard_normal((NUM_CLASSES, channels, 1, 1), dtype=np.float32) * CLASSIFIER_GAIN
    weights = [g._const("fc6_w", classifier), g._const("fc6_b", np.zeros(NUM_CLASSES, np.float32))]
    g.node("Conv", [x, *weights], OUTPUT_NAME, kernel_shape=[1, 1])
    metadata = {WEIGHTS_KEY: SEEDED_WEIGHTS, "seed": str(seed)}
    return g.model("densenet121_seeded", "densenet_build.seeded", OPSET, metadata)


def write_seeded_densenet(path: str | Path, seed: int = SEED) -> Path:
    """Write the seeded model to ``path`` (batch 1, as densenet-7 ships) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(build_seeded_densenet(seed), path)
    return path
