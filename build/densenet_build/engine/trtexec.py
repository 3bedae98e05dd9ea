"""The ``trtexec`` equivalent of the engine step, for users who prefer NVIDIA's own tool.

Precision is in the ONNX (strongly typed), so the command never carries ``--fp16``, ``--int8``,
``--best`` (gone in TensorRT 11) or ``--explicitBatch`` (gone since TensorRT 10); ``--stronglyTyped``
is required on 10.x and a harmless no-op on 11.x.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from ..errors import EngineBuildError, TensorRTUnavailableError
from ..repository.configs import ModelInterface
from .options import EngineOptions
from .profile import BatchProfile

# What the engine step must never pass: each has been removed from trtexec.
FORBIDDEN_FLAGS = ("--fp16", "--int8", "--best", "--explicitBatch")
TRTEXEC_LEVELS = {  # HARDWARE_LEVELS as trtexec spells them
    "none": "none",
    "ampere_plus": "ampere+",
    "same_compute_capability": "sameComputeCapability",
}


def _shape(name: str, shape: tuple[int, ...]) -> str:
    return f"{name}:{'x'.join(map(str, shape))}"


def trtexec_command(
    onnx_path: str | Path,
    plan_path: str | Path,
    interface: ModelInterface,
    profile: BatchProfile,
    options: EngineOptions,
    *,
    device: int | None = None,
    trtexec: str = "trtexec",
) -> list[str]:
    """The argument list that builds the same plan as :func:`densenet_build.engine.build.build_engine`."""
    shapes = profile.shapes(interface.input.dims)
    command = [
        trtexec,
        f"--onnx={onnx_path}",
        f"--saveEngine={plan_path}",
        "--stronglyTyped",
        f"--minShapes={_shape(interface.input.name, shapes['min'])}",
        f"--optShapes={_shape(interface.input.name, shapes['opt'])}",
        f"--maxShapes={_shape(interface.input.name, shapes['max'])}",
        f"--memPoolSize=workspace:{options.workspace_mib}",  # MiB: understood by every 10.x and 11.x trtexec
        "--skipInference",
    ]
    if options.timing_cache is not None:
        command.append(f"--timingCacheFile={options.timing_cache}")
    if options.version_compatible:
        command.append("--versionCompatible")
    if options.hardware_compatibility != "none":
        command.append(f"--hardwareCompatibilityLevel={TRTEXEC_LEVELS[options.hardware_compatibility]}")
    if device is not None:
        command.append(f"--device={device}")
    return command


def format_command(command: list[str]) -> str:
    """A copy-pasteable shell line, one option per line."""
    return " \\\n    ".join(shlex.quote(part) for part in command)


_VERSION_TAG = re.compile(r"\[TensorRT v(\d{5,7})\]")


def tensorrt_version_from_output(output: str) -> str | None:
    """The TensorRT version from trtexec's banner (``&&&& RUNNING TensorRT.trtexec [TensorRT v101303]``).

    The tag is ``major * 10000 + minor * 100 + patch`` since TensorRT 10.
    """
    match = _VERSION_TAG.search(output)
    if not match:
        return None
    number = int(match.group(1))
    return f"{number // 10000}.{number // 100 % 100}.{number % 100}"


# Where NVIDIA's TensorRT images keep trtexec when it is not on PATH.
NGC_TRTEXEC = Path("/usr/src/tensorrt/bin/trtexec")


def find_trtexec(name: str = "trtexec") -> str:
    found = shutil.which(name)
    if found:
        return found
    if name == "trtexec" and NGC_TRTEXEC.exists():
        return str(NGC_TRTEXEC)
    raise TensorRTUnavailableError(
        f"{name} not found: run this inside NVIDIA's nvcr.io/nvidia/tensorrt image, or pass --trtexec-path"
    )


def run_trtexec(command: list[str], timeout_s: float) -> str:
    """Run trtexec, echoing its output as it comes, and return that output; raise if it fails."""
    output: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        watchdog = threading.Timer(timeout_s, process.kill)
        watchdog.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                output.append(line)
                sys.stderr.write(line)
            code = process.wait()
        finally:
            watchdog.cancel()
    text = "".join(output)
    if code != 0:
        reason = f"was stopped after {timeout_s:.0f}s" if code == -9 else f"failed (exit status {code})"
        raise EngineBuildError(f"trtexec {reason}; its output above says why")
    return text
