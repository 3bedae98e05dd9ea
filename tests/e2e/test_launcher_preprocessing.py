"""`densenet-serve` refuses to serve weights with a preprocessing they were not trained with."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from densenet_build.repository.pbtxt import update_parameters
from densenet_serve.ports import free_port
from tests.support import processes
from tests.support.scratch import scratch_repository
from tests.support.servers import REPO_ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def mismatched_repository(seeded_onnx, tmp_path_factory):
    """The seeded DenseNet (densenet-7's preprocessing) with the preprocess model set to `inception`."""
    destination = tmp_path_factory.mktemp("mismatch") / "model_repository"
    repository = scratch_repository(REPO_ROOT / "model_repository", destination, seeded_onnx)
    update_parameters(repository / "preprocess" / "config.pbtxt", {"preset": "inception"})
    return repository


def _launch(repository, *flags: str) -> subprocess.Popen:
    ports = [str(free_port()) for _ in range(3)]
    env = {**os.environ, "HTTP_PORT": ports[0], "GRPC_PORT": ports[1], "METRICS_PORT": ports[2]}
    return subprocess.Popen(
        [sys.executable, "-m", "densenet_serve", "--model-repository", str(repository), *flags],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_mismatch_refuses_to_serve_and_says_why(mismatched_repository):
    process = _launch(mismatched_repository)
    try:
        output, _ = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, output
    assert "does not feed the densenet weights what they were trained with" in output
    assert "channel_order is RGB, densenet_caffe needs BGR" in output
    assert "--allow-preprocessing-mismatch" in output
    assert "Press Ctrl-C to stop" not in output
    assert "Traceback" not in output


def test_mismatch_can_be_allowed_explicitly(mismatched_repository):
    process = _launch(mismatched_repository, "--allow-preprocessing-mismatch", "--watchdog-interval", "0")
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if "Press Ctrl-C to stop" in line:
                break
        assert any("warning: preprocessing mismatch allowed: channel_order" in line for line in lines), lines
        children = processes.descendants(process.pid)
        process.terminate()
        assert process.wait(timeout=60) == 0
        assert processes.alive(children) == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(60)
