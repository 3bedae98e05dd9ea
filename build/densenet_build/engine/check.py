"""``densenet-build check``: will Triton load these plans? Answered before Triton tries.

A plan loads only with the TensorRT release that built it (unless built version-compatible, then
with the same or a later release of that major version) and only on the GPU architecture it was
built for (unless built hardware-compatible). Its optimization profile must also cover the config's
``max_batch_size``. Each rule that fails becomes a sentence saying what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..acquire.download import sha256_of
from ..errors import PlanMismatchError
from ..repository.configs import ModelInterface
from ..repository.install import plans_present
from .gpu import GpuInfo, parse_compute_capability
from .sidecar import PlanInfo, read_sidecar, sidecar_path

AMPERE = (8, 0)


@dataclass(frozen=True)
class Finding:
    severity: str  # error | warning | ok
    subject: str  # the plan file, or the config
    message: str

    def __str__(self) -> str:
        return f"{self.severity.upper():<7} {self.subject}: {self.message}"


def _release(version: str) -> tuple[int, ...]:
    """``10.13.3.9`` → (10, 13, 3): plans are tied to major.minor.patch."""
    parts = []
    for part in version.split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _short(version: str) -> str:
    return ".".join(map(str, _release(version)))


def check_tensorrt(info: PlanInfo, running: str | None) -> list[Finding]:
    subject = info.plan_file
    if running is None:
        return [
            Finding(
                "warning",
                subject,
                f"built with TensorRT {_short(info.tensorrt_version)}; the running TensorRT is unknown here "
                "(pass --tensorrt-version, the version in your tritonserver image)",
            )
        ]
    built, now = _release(info.tensorrt_version), _release(running)
    if built == now:
        return [Finding("ok", subject, f"TensorRT {_short(running)} matches the build")]
    if info.version_compatible and built[0] == now[0] and now > built:
        return [
            Finding(
                "ok",
                subject,
                f"version-compatible plan from TensorRT {_short(info.tensorrt_version)} "
                f"runs on {_short(running)}",
            )
        ]
    hint = (
        f" (a version-compatible plan runs only on TensorRT {built[0]}.x releases from "
        f"{_short(info.tensorrt_version)} on)"
        if info.version_compatible
        else ""
    )
    return [
        Finding(
            "error",
            subject,
            f"plan built with TensorRT {_short(info.tensorrt_version)}, running {_short(running)}: "
            f"rebuild with make engine{hint}",
        )
    ]


def check_gpu(info: PlanInfo, gpu: GpuInfo) -> list[Finding]:
    subject = info.plan_file
    built = parse_compute_capability(info.compute_capability)
    here = parse_compute_capability(gpu.compute_capability)
    if info.hardware_compatibility == "ampere_plus":
        if here >= AMPERE:
            return [Finding("ok", subject, f"hardware-compatible (Ampere+) plan runs on {gpu.name}")]
        return [
            Finding(
                "error",
                subject,
                f"built for Ampere and newer GPUs (compute >= 8.0), this GPU ({gpu.name}) is "
                f"{gpu.compute_capability}: rebuild on this GPU with make engine",
            )
        ]
    if built != here:
        return [
            Finding(
                "error",
                subject,
                f"built for compute {info.compute_capability}, this GPU ({gpu.name}) is "
                f"{gpu.compute_capability}: rebuild on this GPU with make engine",
            )
        ]
    if info.hardware_compatibility == "none" and info.gpu_name != gpu.name:
        return [
            Finding(
                "warning",
                subject,
                f"built on {info.gpu_name}, running on {gpu.name} (both compute {gpu.compute_capability}): "
                "it loads, but its kernels were tuned for the other GPU; rebuild here for full speed",
            )
        ]
    return [Finding("ok", subject, f"built for this GPU ({gpu.name}, compute {gpu.compute_capability})")]


def check_against_config(info: PlanInfo, interface: ModelInterface) -> list[Finding]:
    subject = info.plan_file
    findings = []
    if info.profile.get("input") != interface.input.name:
        findings.append(
            Finding(
                "error",
                subject,
                f"the plan's input is '{info.profile.get('input')}', {interface.source} names "
                f"'{interface.input.name}'",
            )
        )
    dims = tuple(info.profile["max"][1:])  # type: ignore[index]
    if dims != interface.input.dims:
        findings.append(
            Finding(
                "error",
                subject,
                f"the plan's input dims are {list(dims)}, the config's {list(interface.input.dims)}",
            )
        )
    if info.max_batch < interface.max_batch_size:
        findings.append(
            Finding(
                "error",
                subject,
                f"the plan's profile stops at batch {info.max_batch}, but max_batch_size is "
                f"{interface.max_batch_size} in {interface.source}: Triton would refuse it; "
                "rebuild with make engine",
            )
        )
    if info.min_batch > 1:
        findings.append(
            Finding(
                "error", subject, f"the plan's profile starts at batch {info.min_batch}; Triton also sends 1"
            )
        )
    return findings or [
        Finding("ok", subject, f"profile {info.min_batch}..{info.max_batch} fits {interface.source}")
    ]


def check_plan(
    plan: str | Path, interface: ModelInterface, tensorrt_version: str | None, gpu: GpuInfo | None
) -> list[Finding]:
    """Every check of one plan file against its sidecar, the config and (if known) this GPU."""
    plan = Path(plan)
    try:
        info = read_sidecar(sidecar_path(plan))
    except PlanMismatchError as error:
        return [Finding("error", plan.name, str(error))]
    if not plan.exists():
        return [Finding("error", plan.name, "the plan file is missing; rebuild with make engine")]
    findings = []
    if sha256_of(plan) != info.plan_sha256:
        findings.append(
            Finding(
                "error",
                plan.name,
                "the plan differs from the one its sidecar describes; rebuild with make engine",
            )
        )
    findings += check_against_config(info, interface)
    findings += check_tensorrt(info, tensorrt_version)
    if gpu is not None:
        findings += check_gpu(info, gpu)
    return findings


def check_plan_list(model_dir: str | Path, cc_model_filenames: dict[str, str]) -> list[Finding]:
    """Whether the config's ``cc_model_filenames`` and the plans in ``model_dir/1`` name the same files."""
    version_dir = Path(model_dir) / "1"
    present = plans_present(version_dir)
    errors = [
        f"cc_model_filenames names {name} for compute {capability}, which is missing"
        for capability, name in sorted(cc_model_filenames.items())
        if not (version_dir / name).exists()
    ]
    errors += [
        f"{name} (compute {capability}) is not in cc_model_filenames: run `densenet-build install` again"
        for capability, name in sorted(present.items())
        if cc_model_filenames.get(capability) != name
    ]
    if not present:
        errors.append(f"no TensorRT plan in {version_dir}: build one with make engine")
    return [Finding("error", _config_name(model_dir), error) for error in errors]


def _config_name(model_dir: str | Path) -> str:
    return f"{Path(model_dir).name}/config.pbtxt"


def check_repository(
    model_dir: str | Path,
    interface: ModelInterface,
    cc_model_filenames: dict[str, str],
    tensorrt_version: str | None,
    gpus: Sequence[GpuInfo],
) -> list[Finding]:
    """The plans Triton would load from ``model_dir`` on each of ``gpus``, and the config's plan list."""
    version_dir = Path(model_dir) / "1"
    config = _config_name(model_dir)
    findings = check_plan_list(model_dir, cc_model_filenames)
    if not gpus:
        findings.append(
            Finding("warning", config, "no GPU known here: pass --compute-capability to check a target GPU")
        )
    checked = set()
    for gpu in gpus:
        name = cc_model_filenames.get(gpu.compute_capability)
        if name is None:
            have = ", ".join(sorted(cc_model_filenames)) or "none"
            message = (
                f"no plan for this GPU ({gpu.name}, compute {gpu.compute_capability}; "
                f"plans for: {have}): build one on it with make engine"
            )
            findings.append(Finding("error", config, message))
            continue
        findings += check_plan(version_dir / name, interface, tensorrt_version, gpu)
        checked.add(name)
    for name in sorted(set(plans_present(version_dir).values()) - checked):
        findings += check_plan(version_dir / name, interface, tensorrt_version, None)
    return findings


def has_errors(findings: Sequence[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)
