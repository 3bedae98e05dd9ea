"""A stand-in for ``triton_python_backend_utils``, to run each ``model.py``'s initialize/execute/finalize
without a server: the same calls the python backend offers, backed by numpy.

Only the glue is tested this way (one response per request, errors per request, finalize closing what
initialize opened); the real server runs the same files in tests/e2e.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from google.protobuf import json_format

from densenet_build.repository.pbtxt import parse_model_config
from tests.support.metric_family import FakeFamily

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_REPOSITORY = REPO_ROOT / "model_repository"

_DTYPES = {
    "TYPE_BOOL": np.bool_,
    "TYPE_UINT8": np.uint8,
    "TYPE_INT32": np.int32,
    "TYPE_INT64": np.int64,
    "TYPE_FP16": np.float16,
    "TYPE_FP32": np.float32,
    "TYPE_STRING": np.object_,
}


class TritonError(Exception):
    INVALID_ARG = "INVALID_ARG"
    INTERNAL = "INTERNAL"

    def __init__(self, message: str, code: str = INTERNAL) -> None:
        super().__init__(message)
        self._message, self._code = message, code

    def message(self) -> str:
        return self._message

    def code(self) -> str:
        return self._code


class Tensor:
    def __init__(self, name: str, array: Any) -> None:
        self._name, self._array = name, np.asarray(array)

    @classmethod
    def from_dlpack(cls, name: str, array: Any) -> Tensor:
        return cls(name, np.from_dlpack(array))

    def name(self) -> str:
        return self._name

    def as_numpy(self) -> np.ndarray:
        return self._array


class InferenceResponse:
    def __init__(self, output_tensors: list[Tensor] | None = None, error: TritonError | None = None) -> None:
        self._outputs, self._error = list(output_tensors or []), error

    def output_tensors(self) -> list[Tensor]:
        return self._outputs

    def has_error(self) -> bool:
        return self._error is not None

    def error(self) -> TritonError | None:
        return self._error

    def output(self, name: str) -> np.ndarray:
        """The named output's array (a test helper; the backend has no such call)."""
        return next(t.as_numpy() for t in self._outputs if t.name() == name)


class InferenceRequest:
    """What ``execute`` receives: named input tensors and the request's parameters (JSON)."""

    def __init__(self, inputs: dict[str, np.ndarray], parameters: dict[str, Any] | None = None) -> None:
        self._inputs = {name: Tensor(name, array) for name, array in inputs.items()}
        self._parameters = json.dumps(parameters or {})

    def parameters(self) -> str:
        return self._parameters


class MetricFamily(FakeFamily):
    COUNTER, GAUGE, HISTOGRAM = "COUNTER", "GAUGE", "HISTOGRAM"
    made: ClassVar[list[MetricFamily]] = []

    def __init__(self, name: str, description: str, kind: str) -> None:
        super().__init__(name, description, kind)
        MetricFamily.made.append(self)


class Logger:
    lines: ClassVar[list[str]] = []

    @classmethod
    def log_info(cls, message: str) -> None:
        cls.lines.append(message)

    log_warn = log_error = log_verbose = log_info


def get_input_tensor_by_name(request: InferenceRequest, name: str) -> Tensor | None:
    return request._inputs.get(name)


def _by_name(entries: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((entry for entry in entries if entry["name"] == name), None)


def get_input_config_by_name(model_config: dict[str, Any], name: str) -> dict[str, Any] | None:
    return _by_name(model_config.get("input", []), name)


def get_output_config_by_name(model_config: dict[str, Any], name: str) -> dict[str, Any] | None:
    return _by_name(model_config.get("output", []), name)


def triton_string_to_numpy(data_type: str) -> type:
    return _DTYPES[data_type]


def module() -> types.ModuleType:
    """This file as the module ``model.py`` imports under Triton's name."""
    return sys.modules[__name__]


def model_config(
    model: str, config_name: str | None = None, repository: Path = MODEL_REPOSITORY
) -> dict[str, Any]:
    """A model's config as ``args["model_config"]`` carries it (JSON, dims as numbers)."""
    folder = repository / model
    path = folder / "configs" / f"{config_name}.pbtxt" if config_name else folder / "config.pbtxt"
    config = json_format.MessageToDict(parse_model_config(path.read_text()), preserving_proto_field_name=True)
    for tensor in [*config.get("input", []), *config.get("output", [])]:
        tensor["dims"] = [int(d) for d in tensor["dims"]]
    config.setdefault("max_batch_size", 0)
    return config


def load_model(model: str) -> types.ModuleType:
    """``model_repository/<model>/1/model.py``, imported with this module standing in for Triton's."""
    sys.modules["triton_python_backend_utils"] = module()
    path = MODEL_REPOSITORY / model / "1" / "model.py"
    spec = importlib.util.spec_from_file_location(f"model_{model}", path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def initialize_args(model: str, config: dict[str, Any], repository: Path | None = None) -> dict[str, str]:
    """The ``args`` Triton passes to ``initialize`` for instance 0 of ``model`` on the CPU."""
    return {
        "model_config": json.dumps(config),
        "model_instance_kind": "CPU",
        "model_instance_name": f"{model}_0_0",
        "model_instance_device_id": "0",
        "model_repository": str(repository or MODEL_REPOSITORY / model),
        "model_version": "1",
        "model_name": model,
    }
