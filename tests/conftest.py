"""Fixtures shared by every test: the seeded DenseNet, built once and cached between runs.

Long runs (soak, fuzzing) are sized by ``--long`` (or ``LONG_TESTS=1``): `make test-long`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import scratch

REPO_ROOT = Path(__file__).resolve().parents[1]


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


# Tests of what stands between tritonserver 2.51 and a network (nginx's edge): when they skip (no
# nginx, no openssl), the summary says so loudly, by file and reason, instead of one "s" among many.
SECURITY_TESTS = (
    "tests/e2e/test_network_",
    "tests/e2e/test_overload.py",
    "tests/unit/densenet_serve/test_edge.py::test_nginx_accepts",
    "tests/deploy/test_kubernetes.py::test_the_sidecars_config",
)


def security_skips(reports) -> dict[tuple[str, str], int]:
    """(file, reason) -> how many security tests skipped for it."""
    skipped: dict[tuple[str, str], int] = {}
    for report in reports:
        if report.nodeid.startswith(SECURITY_TESTS):
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            key = (report.nodeid.split("::", 1)[0], reason.removeprefix("Skipped: "))
            skipped[key] = skipped.get(key, 0) + 1
    return skipped


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    skipped = security_skips(terminalreporter.stats.get("skipped", []))
    if not skipped:
        return
    terminalreporter.section("SECURITY TESTS NOT RUN", sep="!", red=True, bold=True)
    for (path, reason), count in sorted(skipped.items()):
        terminalreporter.write_line(f"{count:4d} in {path}: {reason}", red=True, bold=True)
    terminalreporter.write_line(
        "network mode (nginx in front of tritonserver) is NOT verified on this machine: "
        "install nginx (tests/tools/install-nginx.sh, run by `make test` as root) and run again",
        red=True,
        bold=True,
    )
