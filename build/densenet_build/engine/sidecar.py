"""The JSON sidecar beside each plan: what it was built from, with what, for which GPU.

A plan file says none of this in a form Triton reports before failing, so the build writes it down
and ``densenet-build check`` reads it back.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from densenet_contract.files import write_atomically

from ..errors import PlanMismatchError

SCHEMA = 1


@dataclass(frozen=True)
class PlanInfo:
    plan_file: str  # file name, relative to the sidecar
    plan_sha256: str
    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    precision: str
    profile: dict[str, object]  # {"input": name, "min": [..], "opt": [..], "max": [..]}
    onnx_file: str
    onnx_sha256: str
    weights: str
    build_flags: list[str]
    version_compatible: bool
    hardware_compatibility: str  # none | ampere_plus | same_compute_capability
    builder: str  # tensorrt-python | trtexec
    built_at: str  # ISO 8601, UTC
    build_seconds: float
    schema: int = field(default=SCHEMA)

    @property
    def max_batch(self) -> int:
        return int(self.profile["max"][0])  # type: ignore[index]

    @property
    def min_batch(self) -> int:
        return int(self.profile["min"][0])  # type: ignore[index]

    @property
    def opt_batch(self) -> int:
        return int(self.profile["opt"][0])  # type: ignore[index]


def sidecar_path(plan: str | Path) -> Path:
    return Path(plan).with_suffix(".json")


def write_sidecar(info: PlanInfo, path: str | Path) -> Path:
    return write_atomically(path, json.dumps(asdict(info), indent=2) + "\n")


def read_sidecar(path: str | Path) -> PlanInfo:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanMismatchError(
            f"{path.name} is missing: the plan was not built by `densenet-build engine`, so nothing says "
            "which TensorRT and GPU it needs; rebuild it with make engine"
        ) from None
    except (OSError, json.JSONDecodeError) as error:
        raise PlanMismatchError(f"cannot read the plan sidecar {path}: {error}") from None
    names = {f.name for f in fields(PlanInfo)}
    missing = sorted(names - set(data) - {"schema"})
    if not isinstance(data, dict) or missing:
        raise PlanMismatchError(f"the plan sidecar {path} lacks {missing}; rebuild the plan with make engine")
    return PlanInfo(**{k: v for k, v in data.items() if k in names})
