"""Fixtures for tests/e2e/production: the repository the deployment's script fills, the container's
environment, and the server docker/entrypoint.py starts (see tests/support/production.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from densenet_build.repository.pbtxt import update_parameters
from densenet_serve.distribution import find_distribution, stage_backends
from densenet_serve.server import server_environment
from tests.support.deployfiles import REPO_ROOT, REPOSITORY_SCRIPT
from tests.support.production import PRODUCTION_TOKEN, ProductionServer, start_production_server


@pytest.fixture(scope="session")
def production_repository(tmp_path_factory: pytest.TempPathFactory, seeded_onnx: Path) -> Path:
    """A repository filled by docker/model-repository.sh onnx, from the cached seeded model."""
    target = tmp_path_factory.mktemp("production") / "models"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "MODEL_REPOSITORY": str(target),
        "BUILD_CACHE": str(seeded_onnx.parent),
        "MODEL_SOURCE": "seeded",
        "REPOSITORY_TEMPLATE": str(REPO_ROOT / "model_repository"),
    }
    subprocess.run(
        ["sh", str(REPOSITORY_SCRIPT), "onnx"], env=env, check=True, capture_output=True, timeout=300
    )
    # A drift reference (as `densenet-client baseline` writes) and a short window, so the drift
    # series the dashboard and alerts read exist and hold numbers after the monitoring test's traffic.
    reference = {
        "format": "densenet-drift-reference/1",
        "class_ids": [0, 1, 2, 3],
        "top1_probabilities": [0.9] * 4,
    }
    (target / "postprocess" / "drift_reference.json").write_text(json.dumps(reference))
    update_parameters(
        target / "postprocess" / "config.pbtxt",
        {"drift_reference": "drift_reference.json", "drift_window": "4"},
    )
    return target


@pytest.fixture(scope="session")
def production_environment(tmp_path_factory: pytest.TempPathFactory, production_repository: Path) -> dict:
    """The container's environment: repository, token file, and the tritonserver to run."""
    workspace = tmp_path_factory.mktemp("production-triton")
    dist = find_distribution()
    backends = stage_backends(dist, workspace)
    wrapper = workspace / "tritonserver"
    wrapper.write_text(
        f'#!/bin/sh\nexec "{dist.binary}" --backend-directory="{backends}" '
        f'--cache-directory="{dist.caches}" "$@"\n'
    )
    wrapper.chmod(0o755)
    token = workspace / "triton_admin_token"
    token.write_text(PRODUCTION_TOKEN + "\n")
    return {
        **server_environment(dist),
        "TRITONSERVER": str(wrapper),
        "MODEL_REPOSITORY": str(production_repository),
        "TRITON_ADMIN_TOKEN_FILE": str(token),
    }


@pytest.fixture(scope="session")
def production_server(
    production_environment: dict, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProductionServer]:
    server = start_production_server(
        production_environment, tmp_path_factory.mktemp("logs") / "entrypoint.log"
    )
    yield server
    server.stop()
