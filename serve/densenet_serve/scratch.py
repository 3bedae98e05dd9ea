"""A throwaway copy of the model repository serving the seeded DenseNet (for tests and benchmarks).

The copy never touches the user's own model files; the seeded model is installed by the same
build step a user runs (``densenet_build.prepare``), so the server sees exactly what it would in use.
"""

from __future__ import annotations

import shutil
from pathlib import Path

SEEDED_ONNX_NAME = "densenet121-seeded.onnx"


def seeded_onnx(cache_dir: Path) -> Path:
    """The raw seeded DenseNet-121 (batch 1, like densenet-7), generated once into ``cache_dir``."""
    from densenet_build.seeded import write_seeded_densenet

    path = cache_dir / SEEDED_ONNX_NAME
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = write_seeded_densenet(path.with_suffix(".part"))
        partial.replace(path)  # atomic: a half-written file is never taken for the model
    return path


def scratch_repository(source: Path, destination: Path, onnx_path: Path) -> Path:
    """Copy the repository at ``source`` to ``destination`` and install ``onnx_path`` as the seeded model."""
    from densenet_build.acquire import sha256_of
    from densenet_build.constants import SOURCE_SHA256_KEY, WEIGHTS_KEY
    from densenet_build.pbtxt import update_parameters
    from densenet_build.prepare import prepare
    from densenet_build.seeded import SEEDED_WEIGHTS

    shutil.copytree(
        source, destination, ignore=shutil.ignore_patterns("*.onnx", "*.plan", "*.part", "__pycache__")
    )
    sha = sha256_of(onnx_path)
    prepare(onnx_path, destination / "densenet" / "1" / "model.onnx", SEEDED_WEIGHTS, sha)
    update_parameters(
        destination / "densenet" / "configs" / "cpu.pbtxt",
        {WEIGHTS_KEY: SEEDED_WEIGHTS, SOURCE_SHA256_KEY: sha},
    )
    return destination
