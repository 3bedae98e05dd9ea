"""Fixtures shared by every test: the seeded DenseNet, built once and cached between runs.

Long runs (soak, fuzzing) are sized by ``--long`` (or ``LONG_TESTS=1``): `make test-long`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import scratch

REPO_ROOT = Path(__file__).resolve().parents[1]

# Every skip listed at the end, and a failure under CI=true (tests/support/skipguard.py).
pytest_plugins = ["tests.support.skipguard"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--long", action="store_true", help="run soak and fuzz tests at full length")


@pytest.fixture(scope="session")
def long_run(request: pytest.FixtureRequest) -> bool:
    """True for the full-length soak/fuzz runs (`make test-long`)."""
    return bool(request.config.getoption("--long") or os.environ.get("LONG_TESTS"))


CACHE = REPO_ROOT / ".cache" / "test-models"


@pytest.fixture(scope="session")
def seeded_onnx() -> Path:
    """The raw seeded model (batch 1, like densenet-7), generated once per checkout."""
    return scratch.seeded_onnx(CACHE)


@pytest.fixture(scope="session")
def trained_model():
    """A TRAINED ImageNet classifier in densenet-7's interface (EfficientNet-Lite0 from PyPI, converted
    without PyTorch), with the preprocessing it needs recorded: for tests that check real answers."""
    from densenet_build.acquire.sources import trained_test_model

    return trained_test_model(CACHE)
