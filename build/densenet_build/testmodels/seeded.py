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

from densenet_contract.names import WEIGHTS_KEY

from ..acquire.densenet_graph import DENSENET121, build_densenet

SEED = 121
SEEDED_WEIGHTS = f"seeded-random (seed {SEED}): NOT trained, labels are meaningless"
# Scales the classifier so logits spread like a trained model's (std of a few units) instead of
# saturating the softmax; fixed here so the file is byte-identical on every machine.
CLASSIFIER_GAIN = 0.15


class _SeededWeights:
    """Draws each layer's weights from one generator in graph order (the file's bytes depend on it)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def conv(self, name: str, shape: tuple[int, int, int, int]) -> np.ndarray:
        fan_in = shape[1] * shape[2] * shape[3]
        return self.rng.standard_normal(shape, dtype=np.float32) * np.sqrt(2.0 / fan_in)

    def batch_norm(self, name: str, channels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        # Running statistics near identity keep activations in a sane range through 121 layers.
        normal = self.rng.standard_normal
        scale = 1.0 + 0.1 * normal(channels, dtype=np.float32)
        bias = 0.1 * normal(channels, dtype=np.float32)
        mean = 0.1 * normal(channels, dtype=np.float32)
        var = 1.0 + 0.1 * self.rng.random(channels, dtype=np.float32)
        return scale, bias, mean, var

    def linear(self, name: str, classes: int, features: int) -> tuple[np.ndarray, np.ndarray]:
        weight = self.rng.standard_normal((classes, features), dtype=np.float32) * CLASSIFIER_GAIN
        return weight, np.zeros(classes, np.float32)


def build_seeded_densenet(seed: int = SEED) -> onnx.ModelProto:
    """Build the model in memory (about 32 MB of float32 weights)."""
    metadata = {WEIGHTS_KEY: SEEDED_WEIGHTS, "seed": str(seed)}
    return build_densenet(
        _SeededWeights(np.random.default_rng(seed)),
        DENSENET121,
        name="densenet121_seeded",
        producer="densenet_build.seeded",
        metadata=metadata,
    )


def write_seeded_densenet(path: str | Path, seed: int = SEED) -> Path:
    """Write the seeded model to ``path`` (batch 1, as densenet-7 ships) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(build_seeded_densenet(seed), path)
    return path
