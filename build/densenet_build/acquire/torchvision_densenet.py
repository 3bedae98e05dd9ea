"""torchvision's DenseNet checkpoints (``densenet121-a639ec97.pth``) as ONNX in our interface, without torch.

The checkpoint is read by :mod:`.torch_checkpoint` (both ``torch.save`` formats, tensors only), its
key names normalised (the released files predate torchvision's ``norm1`` names and say
``denselayerN.norm.1.weight``; a ``module.`` prefix from ``DataParallel`` is dropped), the
architecture read off the tensor shapes, every tensor's shape checked against it, and the network
written by :mod:`.densenet_graph`: ``data_0`` [N, 3, 224, 224] → ``fc6_1`` [N, 1000, 1, 1] with a
symbolic batch. The weights expect torchvision's preprocessing; the metadata records the preset.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import onnx

from densenet_contract.files import replacing
from densenet_contract.names import NUM_CLASSES, PREPROCESSING_KEY, WEIGHTS_KEY

from .densenet_graph import Architecture, build_densenet
from .prepare import BATCH_DIM
from .torch_checkpoint import CheckpointError, load_state_dict

__all__ = ["ARCHITECTURE_KEY", "PREPROCESSING", "CheckpointError", "convert_checkpoint", "convert_state_dict"]

PREPROCESSING = "torchvision"  # a preset of preprocess.config.PRESETS
ARCHITECTURE_KEY = (
    "architecture"  # metadata: what the shapes said, e.g. "DenseNet growth 32, blocks 6/12/24/16, ..."
)
# torchvision's own rename of the released files' keys (torchvision/models/densenet.py, _load_state_dict).
_LEGACY_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)
_IGNORED_SUFFIX = ".num_batches_tracked"  # training bookkeeping, absent from the released files


def convert_checkpoint(checkpoint: str | Path, output: str | Path, *, weights: str | None = None) -> None:
    """Convert a torchvision DenseNet state_dict file to ONNX at ``output`` (written atomically).

    ``weights`` (e.g. "torchvision densenet121 IMAGENET1K_V1") goes into the metadata when given.
    Raises :class:`CheckpointError` for anything that is not such a checkpoint.
    """
    model = convert_state_dict(load_state_dict(checkpoint), weights=weights, source=str(checkpoint))
    with replacing(output) as partial:
        onnx.save(model, str(partial))


def convert_state_dict(
    state: Mapping[str, np.ndarray], *, weights: str | None = None, source: str = "checkpoint"
) -> onnx.ModelProto:
    """The ONNX model of a torchvision DenseNet ``state`` (``source`` names it in error messages)."""
    state = torchvision_names(state, source)
    architecture = infer_architecture(state, source)
    if architecture.classes != NUM_CLASSES:
        raise CheckpointError(
            f"{source}: the classifier has {architecture.classes} classes; "
            f"the served model must have the {NUM_CLASSES} ImageNet classes"
        )
    taken = _StateDictWeights(state, source, architecture)
    metadata = {PREPROCESSING_KEY: PREPROCESSING, ARCHITECTURE_KEY: architecture.describe()}
    if weights is not None:
        metadata[WEIGHTS_KEY] = weights
    model = build_densenet(
        taken,
        architecture,
        name="densenet_torchvision",
        producer="densenet_build.torchvision_densenet",
        metadata=metadata,
        batch=BATCH_DIM,
    )
    unused = sorted(set(state) - taken.used)
    if unused:
        raise CheckpointError(
            f"{source}: {len(unused)} tensor(s) that a {architecture.describe()} does not have, "
            f"e.g. {', '.join(unused[:3])}"
        )
    return model


def torchvision_names(state: Mapping[str, np.ndarray], source: str = "checkpoint") -> dict[str, np.ndarray]:
    """``state`` under the names torchvision's DenseNet uses today, without num_batches_tracked."""
    renamed: dict[str, np.ndarray] = {}
    for key, array in state.items():
        name = key.removeprefix("module.")
        legacy = _LEGACY_KEY.match(name)
        if legacy:
            name = legacy.group(1) + legacy.group(2)
        if name.endswith(_IGNORED_SUFFIX):
            continue
        if name in renamed:
            raise CheckpointError(
                f"{source}: the tensor {name} appears twice (as {key} and under another name)"
            )
        renamed[name] = array
    return renamed


def infer_architecture(state: Mapping[str, np.ndarray], source: str = "checkpoint") -> Architecture:
    """Growth, blocks, bn_size, initial features and classes, read off the tensors' shapes."""

    def shape(key: str, ndim: int) -> tuple[int, ...]:
        array = state.get(key)
        if array is None:
            raise CheckpointError(f"{source}: no tensor {key}: not a torchvision DenseNet checkpoint")
        if array.ndim != ndim:
            raise CheckpointError(f"{source}: {key} has shape {array.shape}, expected {ndim} dimensions")
        return array.shape

    init_features = shape("features.conv0.weight", 4)[0]
    blocks = []
    while f"features.denseblock{len(blocks) + 1}.denselayer1.conv1.weight" in state:
        block = len(blocks) + 1
        layers = 1
        while f"features.denseblock{block}.denselayer{layers + 1}.conv1.weight" in state:
            layers += 1
        blocks.append(layers)
    if not blocks:
        raise CheckpointError(
            f"{source}: no features.denseblock1.denselayer1: not a torchvision DenseNet checkpoint"
        )
    first = "features.denseblock1.denselayer1"
    growth = shape(f"{first}.conv2.weight", 4)[0]
    bottleneck = shape(f"{first}.conv1.weight", 4)[0]
    if growth < 1 or bottleneck % growth:
        raise CheckpointError(
            f"{source}: {first}'s bottleneck ({bottleneck} channels) is not a multiple of its growth {growth}"
        )
    classes = shape("classifier.weight", 2)[0]
    return Architecture(growth, tuple(blocks), bottleneck // growth, init_features, classes)


class _StateDictWeights:
    """Hands out a checkpoint's tensors as float32, checking each shape; remembers what was used."""

    def __init__(self, state: Mapping[str, np.ndarray], source: str, architecture: Architecture) -> None:
        self.state, self.source, self.architecture = state, source, architecture
        self.used: set[str] = set()

    def _take(self, key: str, shape: tuple[int, ...]) -> np.ndarray:
        array = self.state.get(key)
        if array is None:
            raise CheckpointError(
                f"{self.source}: no tensor {key}, which a {self.architecture.describe()} has"
            )
        if array.shape != shape:
            raise CheckpointError(
                f"{self.source}: {key} has shape {tuple(array.shape)}; "
                f"a {self.architecture.describe()} needs {shape}"
            )
        if array.dtype.kind != "f":
            raise CheckpointError(f"{self.source}: {key} holds {array.dtype}, not floating-point weights")
        if not np.isfinite(array).all():
            raise CheckpointError(f"{self.source}: {key} holds NaN or infinite values")
        self.used.add(key)
        return array.astype(np.float32)

    def conv(self, name: str, shape: tuple[int, int, int, int]) -> np.ndarray:
        return self._take(f"{name}.weight", shape)

    def batch_norm(self, name: str, channels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        weight, bias, mean, var = (
            self._take(f"{name}.{part}", (channels,))
            for part in ("weight", "bias", "running_mean", "running_var")
        )
        if not (var >= 0).all():
            raise CheckpointError(f"{self.source}: {name}.running_var has negative variances")
        return weight, bias, mean, var

    def linear(self, name: str, classes: int, features: int) -> tuple[np.ndarray, np.ndarray]:
        return self._take(f"{name}.weight", (classes, features)), self._take(f"{name}.bias", (classes,))
