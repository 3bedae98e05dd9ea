"""docker/entrypoint.py without a server: the admin token it demands, the flags it passes.

It runs the real tritonserver in tests/e2e/production; here it either refuses to start or, for the
exit-code plumbing only, starts a one-line shell script in tritonserver's place.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from densenet_contract.cli import EXIT_UNUSABLE
from densenet_serve.core import ADMIN_HEADER, RESTRICTED_APIS
from tests.support.deployfiles import ENTRYPOINT, compose


@pytest.fixture(scope="module")
def entrypoint():
    spec = importlib.util.spec_from_file_location("densenet_entrypoint", ENTRYPOINT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(tmp_path, token: str | None, tritonserver: str = "exit 0", *args: str):
    token_file = tmp_path / "token"
    if token is not None:
        token_file.write_text(token + "\n")
    started = tmp_path / "started"
    fake = tmp_path / "tritonserver"
    fake.write_text(f'#!/bin/sh\necho "$@" > {started}\n{tritonserver}\n')
    fake.chmod(0o755)
    env = {
        **os.environ,
        "TRITON_ADMIN_TOKEN_FILE": str(token_file),
        "TRITONSERVER": str(fake),
        "WATCHDOG_INTERVAL": "0",
    }
    result = subprocess.run(
        [sys.executable, str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=30
    )
    return result, started


def test_refuses_to_start_without_a_token(tmp_path):
    result, started = run(tmp_path, None)
    assert result.returncode == EXIT_UNUSABLE
    assert "TRITON_ADMIN_TOKEN" in result.stderr
    assert not started.exists(), "tritonserver must not start without a token"


@pytest.mark.parametrize("token", ["", "short", "has:colon-and-enough-chars", "has,comma-and-enough-chars"])
def test_refuses_a_weak_or_malformed_token(tmp_path, token):
    result, started = run(tmp_path, token)
    assert result.returncode == EXIT_UNUSABLE
    assert "at least 16 characters" in result.stderr
    assert not started.exists()


def test_passes_the_flags_and_tritonservers_exit_code(tmp_path):
    result, started = run(tmp_path, "a" * 32, "exit 3", "--model-config-name=cpu")
    assert result.returncode == 3
    argv = started.read_text().split()
    assert argv[-1] == "--model-config-name=cpu"
    assert f"--http-restricted-api={','.join(RESTRICTED_APIS)}:{ADMIN_HEADER}={'a' * 32}" in argv


def test_flags(entrypoint, monkeypatch):
    monkeypatch.setenv("MODEL_REPOSITORY", "/srv/models")
    command = entrypoint.command("T" * 20, ["--log-verbose=1"])
    assert "--model-repository=/srv/models" in command
    assert "--model-control-mode=none" in command
    assert "--strict-readiness=true" in command
    assert "--metrics-config=summary_latencies=true" in command
    assert any(arg.startswith("--metrics-config=summary_quantiles=") and "0.99:" in arg for arg in command)
    restricted = f"{','.join(RESTRICTED_APIS)}:{ADMIN_HEADER}={'T' * 20}"
    assert f"--http-restricted-api={restricted}" in command
    assert f"--grpc-restricted-protocol={restricted}" in command
    assert command[-1] == "--log-verbose=1"


def test_watchdog_address_follows_the_http_port(entrypoint):
    assert entrypoint.http_address([]) == "127.0.0.1:8000"
    assert entrypoint.http_address(["--http-port=9000", "--http-port=9100"]) == "127.0.0.1:9100"
    # compose's services do not move the port, so the healthcheck's 127.0.0.1:8000 is right.
    for name in ("triton", "triton-cpu"):
        assert not any("--http-port" in arg for arg in compose()["services"][name]["command"])
