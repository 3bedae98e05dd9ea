"""Fixtures shared by every test: the seeded DenseNet, built once and cached between runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from densenet_build.seeded import write_seeded_densenet

REPO_ROOT = Path(__file__).resolve().parents[1]
CACHE = REPO_ROOT / ".cache" / "test-models"


@pytest.fixture(scope="session")
def seeded_onnx() -> Path:
    """The raw seeded model (batch 1, like densenet-7), generated once per checkout."""
    path = CACHE / "densenet121-seeded.onnx"
    if not path.exists():
        partial = write_seeded_densenet(path.with_suffix(".part"))
        partial.replace(path)
    return path
