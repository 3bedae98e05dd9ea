"""The CPU densenet's ``parameters {}`` (configs/cpu.pbtxt), parsed once and strictly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from densenet_contract.errors import ParameterError
from densenet_contract.names import RECORDED_KEYS
from densenet_contract.parameters import Parameters


class CpuConfigError(ParameterError):
    """A CPU densenet parameter is unknown or invalid; fails the model's load."""

    model = "densenet"


@dataclass(frozen=True)
class CpuConfig:
    """Validated CPU densenet settings: the ONNX file, its threads and placement, and what it carries."""

    onnx_file: str = "model.onnx"
    intra_op_num_threads: int = 0  # 0: an equal share of the usable CPUs among the instances
    inter_op_num_threads: int = 1
    pin_instances: bool = False
    adaptive_threads: bool = False
    allow_spinning: bool = False
    # What the ONNX file must say it carries (written together with it by `densenet-build model`).
    recorded: tuple[tuple[str, str], ...] = tuple((key, "") for key in RECORDED_KEYS)

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, str]) -> CpuConfig:
        """Parse Triton ``parameters`` (already reduced to ``{key: string_value}``)."""
        p = Parameters(parameters, KNOWN_PARAMETERS, CpuConfigError)
        return cls(
            onnx_file=p.text("onnx_file", cls.onnx_file) or cls.onnx_file,
            intra_op_num_threads=p.integer("intra_op_num_threads", cls.intra_op_num_threads, minimum=0),
            inter_op_num_threads=p.integer("inter_op_num_threads", cls.inter_op_num_threads, minimum=1),
            pin_instances=p.boolean("pin_instances", cls.pin_instances),
            adaptive_threads=p.boolean("adaptive_threads", cls.adaptive_threads),
            allow_spinning=p.boolean("allow_spinning", cls.allow_spinning),
            recorded=tuple((key, p.text(key)) for key in RECORDED_KEYS),
        )


KNOWN_PARAMETERS = frozenset(
    {
        "onnx_file",
        "intra_op_num_threads",
        "inter_op_num_threads",
        "pin_instances",
        "adaptive_threads",
        "allow_spinning",
        *RECORDED_KEYS,
    }
)
