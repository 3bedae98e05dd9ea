"""What the model repository's configs say: the ``densenet`` interface and the preprocessing contract.

The build reads these from the configs, so a change to ``model_repository/densenet/config.pbtxt``
(say, a larger ``max_batch_size``) reaches the checks, the TensorRT profile and the sidecars without
touching code. :data:`DEFAULT_INTERFACE` is the one exception, for callers given no config file: the
contract's tensors with the shipped config's batch sizes, kept equal to that config by a test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from onnx import TensorProto
from tritonclient.grpc import model_config_pb2

from densenet_contract.names import INPUT_DIMS, INPUT_NAME, OUTPUT_DIMS, OUTPUT_NAME

from ..errors import BuildError, ConfigError
from .pbtxt import parse_model_config, string_parameters

# Relative to the working directory: the commands run from the repository root.
DEFAULT_REPOSITORY = Path("model_repository")
DENSENET_CONFIG = DEFAULT_REPOSITORY / "densenet" / "config.pbtxt"
PREPROCESS_CONFIG = DEFAULT_REPOSITORY / "preprocess" / "config.pbtxt"

# Triton data types the densenet interface may use, as ONNX element types.
_ONNX_TYPES = {
    model_config_pb2.TYPE_FP32: TensorProto.FLOAT,
    model_config_pb2.TYPE_FP16: TensorProto.FLOAT16,
    model_config_pb2.TYPE_INT8: TensorProto.INT8,
    model_config_pb2.TYPE_UINT8: TensorProto.UINT8,
    model_config_pb2.TYPE_INT32: TensorProto.INT32,
    model_config_pb2.TYPE_INT64: TensorProto.INT64,
}


@dataclass(frozen=True)
class TensorSpec:
    """One model input or output: its name, ONNX element type and dims after the batch dimension."""

    name: str
    elem_type: int
    dims: tuple[int, ...]

    @property
    def type_name(self) -> str:
        return TensorProto.DataType.Name(self.elem_type)


@dataclass(frozen=True)
class ModelInterface:
    """The tensors and batching a model config promises to Triton."""

    input: TensorSpec
    output: TensorSpec
    max_batch_size: int
    preferred_batch_sizes: tuple[int, ...] = ()
    source: str = "docs/design.md"  # where it was read from, for messages


# The contract in docs/design.md; used when no config file is given.
DEFAULT_INTERFACE = ModelInterface(
    TensorSpec(INPUT_NAME, TensorProto.FLOAT, INPUT_DIMS),
    TensorSpec(OUTPUT_NAME, TensorProto.FLOAT, OUTPUT_DIMS),
    max_batch_size=32,
    preferred_batch_sizes=(8, 16),
)


def interface_from_config(config: model_config_pb2.ModelConfig, source: str) -> ModelInterface:
    """The single-input, single-output interface of a parsed ``ModelConfig``."""
    if len(config.input) != 1 or len(config.output) != 1:
        raise ConfigError(
            f"{source}: expected exactly one input and one output, found "
            f"{[i.name for i in config.input]} and {[o.name for o in config.output]}"
        )
    if config.max_batch_size <= 0:
        raise ConfigError(
            f"{source}: max_batch_size must be > 0 so Triton can batch (it is {config.max_batch_size})"
        )
    preferred = tuple(config.dynamic_batching.preferred_batch_size)
    too_large = [size for size in preferred if not 0 < size <= config.max_batch_size]
    if too_large:
        raise ConfigError(
            f"{source}: preferred_batch_size {too_large} outside 1..max_batch_size ({config.max_batch_size})"
        )
    return ModelInterface(
        _spec(config.input[0], source),
        _spec(config.output[0], source),
        config.max_batch_size,
        preferred,
        source,
    )


def _spec(tensor: model_config_pb2.ModelInput | model_config_pb2.ModelOutput, source: str) -> TensorSpec:
    if tensor.data_type not in _ONNX_TYPES:
        kind = model_config_pb2.DataType.Name(tensor.data_type)
        raise ConfigError(f"{source}: '{tensor.name}' has data type {kind}, which the build does not handle")
    return TensorSpec(tensor.name, _ONNX_TYPES[tensor.data_type], tuple(tensor.dims))


def read_config(path: str | Path) -> model_config_pb2.ModelConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read model config {path}: {error.strerror}") from None
    try:
        return parse_model_config(text)
    except BuildError as error:
        raise ConfigError(f"{path}: {error}") from None


def load_interface(path: str | Path = DENSENET_CONFIG) -> ModelInterface:
    """The interface declared by a ``config.pbtxt`` (by default the GPU ``densenet`` config)."""
    return interface_from_config(read_config(path), str(path))


def load_preprocess_config(path: str | Path = PREPROCESS_CONFIG):  # -> preprocess.PreprocessConfig
    """The preprocessing the server applies, parsed from the preprocess model's ``parameters``."""
    from preprocess import PreprocessConfig, PreprocessConfigError

    try:
        return PreprocessConfig.from_parameters(string_parameters(read_config(path)))
    except PreprocessConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
