"""Locating and staging the ``tritonserver`` build that ships inside the pinned nvidia-pytriton wheel.

The wheel holds the server binary, the python backend, one python-backend stub per Python version
and the shared libraries. The stub matching *this* interpreter must sit in the backend directory
as ``triton_python_backend_stub``; it embeds this environment's Python, so model code sees the
packages installed here.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import ServerSetupError


@dataclass(frozen=True)
class TritonDistribution:
    root: Path  # .../site-packages/pytriton/tritonserver
    libs: Path  # .../site-packages/nvidia_pytriton.libs

    @property
    def binary(self) -> Path:
        return self.root / "bin" / "tritonserver"

    @property
    def python_backend(self) -> Path:
        return self.root / "backends" / "python"

    @property
    def caches(self) -> Path:
        return self.root / "caches"

    def stub(self, python_version: str | None = None) -> Path:
        version = python_version or f"{sys.version_info.major}.{sys.version_info.minor}"
        return self.root / "python_backend_stubs" / version / "triton_python_backend_stub"


def find_distribution() -> TritonDistribution:
    """Find the server inside the installed nvidia-pytriton wheel, checking every part is there."""
    spec = importlib.util.find_spec("pytriton")
    if spec is None or not spec.submodule_search_locations:
        raise ServerSetupError("nvidia-pytriton is not installed: run `make venv` (it ships tritonserver)")
    package = Path(next(iter(spec.submodule_search_locations)))
    dist = TritonDistribution(root=package / "tritonserver", libs=package.parent / "nvidia_pytriton.libs")
    for path, what in (
        (dist.binary, "tritonserver binary"),
        (dist.python_backend / "libtriton_python.so", "python backend"),
        (dist.stub(), f"python backend stub for Python {sys.version_info.major}.{sys.version_info.minor}"),
        (dist.libs, "server shared libraries"),
    ):
        if not path.exists():
            raise ServerSetupError(f"the {what} is missing from nvidia-pytriton ({path.name})")
    return dist


def stage_backends(dist: TritonDistribution, workspace: Path) -> Path:
    """Copy the python backend into ``workspace`` with this interpreter's stub; return the backend dir."""
    backends = workspace / "backends"
    python_dir = backends / "python"
    shutil.copytree(
        dist.python_backend, python_dir, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True
    )
    stub = python_dir / "triton_python_backend_stub"
    shutil.copy2(dist.stub(), stub)
    stub.chmod(0o755)
    return backends
