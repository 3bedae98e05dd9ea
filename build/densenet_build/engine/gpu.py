"""Which GPU and TensorRT are here: names, compute capabilities, versions (for plans and checks)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from ..errors import TensorRTUnavailableError

_CC = re.compile(r"^(\d+)\.(\d)$")
_SM = re.compile(r"^sm(\d+)(\d)$")
NVIDIA_SMI_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class GpuInfo:
    name: str
    compute_capability: str  # "8.6", as Triton's cc_model_filenames keys are written


def parse_compute_capability(value: str) -> tuple[int, int]:
    match = _CC.match(value.strip())
    if not match:
        raise ValueError(f"'{value}' is not a compute capability like 8.6")
    return int(match.group(1)), int(match.group(2))


def sm_tag(compute_capability: str) -> str:
    """``8.6`` → ``sm86``, ``10.0`` → ``sm100`` (the minor version is always one digit)."""
    major, minor = parse_compute_capability(compute_capability)
    return f"sm{major}{minor}"


def compute_capability_of_tag(tag: str) -> str | None:
    """``sm86`` → ``8.6``; None for anything else."""
    match = _SM.match(tag)
    return f"{int(match.group(1))}.{match.group(2)}" if match else None


def parse_nvidia_smi(output: str) -> list[GpuInfo]:
    """Lines of ``nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader``."""
    gpus = []
    for line in output.splitlines():
        if not line.strip():
            continue
        name, _, capability = line.rpartition(",")
        parse_compute_capability(capability)
        gpus.append(GpuInfo(name.strip(), capability.strip()))
    return gpus


def nvidia_smi_id(device: int, cuda_visible_devices: str | None) -> str:
    """The ``nvidia-smi --id`` of CUDA device ``device`` (an index or UUID from CUDA_VISIBLE_DEVICES)."""
    if cuda_visible_devices is None or not cuda_visible_devices.strip():
        return str(device)
    visible = [entry.strip() for entry in cuda_visible_devices.split(",") if entry.strip()]
    if device >= len(visible):
        raise TensorRTUnavailableError(
            f"CUDA device {device} is not among CUDA_VISIBLE_DEVICES={cuda_visible_devices}"
        )
    return visible[device]


def query_gpus(gpu_id: str | None = None, timeout: float = NVIDIA_SMI_TIMEOUT_S) -> list[GpuInfo]:
    """The GPUs nvidia-smi reports (or the one with ``gpu_id``); raises if there is none."""
    executable = shutil.which("nvidia-smi")
    if executable is None:
        raise TensorRTUnavailableError(
            "no NVIDIA GPU here (nvidia-smi not found); TensorRT plans are built and checked on the GPU "
            "they will run on (or pass --compute-capability/--gpu-name to check against given values)"
        )
    command = [executable, "--query-gpu=name,compute_cap", "--format=csv,noheader"]
    if gpu_id is not None:
        command.append(f"--id={gpu_id}")
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise TensorRTUnavailableError(f"nvidia-smi did not answer within {timeout:.0f}s") from None
    if result.returncode != 0:
        raise TensorRTUnavailableError(f"nvidia-smi failed: {(result.stderr or result.stdout).strip()}")
    try:
        gpus = parse_nvidia_smi(result.stdout)
    except ValueError as error:
        raise TensorRTUnavailableError(
            f"unexpected nvidia-smi output ({error}); is the driver too old?"
        ) from None
    if not gpus:
        raise TensorRTUnavailableError("nvidia-smi lists no GPU")
    return gpus


def cuda_device_gpu(device: int = 0) -> GpuInfo:
    """The GPU that CUDA (and so TensorRT) calls ``device`` in this process.

    Call it before TensorRT creates its builder: CUDA reads the device order once, at start-up.
    """
    # nvidia-smi numbers GPUs by PCI bus; make CUDA do the same.
    os.environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    return query_gpus(nvidia_smi_id(device, os.environ.get("CUDA_VISIBLE_DEVICES")))[0]


def import_tensorrt():  # -> the tensorrt module
    """``import tensorrt``, or a clear error saying where the engine steps run."""
    try:
        import tensorrt
    except ImportError as error:
        raise TensorRTUnavailableError(
            f"TensorRT is not installed here ({error}). Build and verify plans inside NVIDIA's "
            "nvcr.io/nvidia/tensorrt:<NGC_RELEASE>-py3 image on the target GPU (docs/gpu-build.md), "
            "or print the equivalent command with `densenet-build engine --trtexec`"
        ) from None
    return tensorrt


def import_polygraphy_trt():  # -> polygraphy.backend.trt
    """TensorRT (:func:`import_tensorrt`) and NVIDIA Polygraphy's TensorRT loaders, which the engine and
    verify steps run on, or a clear error naming what is missing."""
    import_tensorrt()
    try:
        from polygraphy.backend import trt as polygraphy_trt
    except ImportError:
        raise TensorRTUnavailableError(
            "the engine and verify steps run on NVIDIA Polygraphy: pip install polygraphy==0.53.6 "
            "(it is in requirements/engine.txt)"
        ) from None
    return polygraphy_trt


def installed_tensorrt_version() -> str | None:
    """The importable TensorRT's version, or None where it is not installed."""
    try:
        import tensorrt
    except ImportError:
        return None
    return str(tensorrt.__version__)
