"""The container's entry point on the real server: flags in force, healthcheck, watchdog, clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from densenet_serve.core import ADMIN_HEADER
from densenet_serve.health import check
from tests.support import processes
from tests.support.deployfiles import compose
from tests.support.production import PRODUCTION_TOKEN, start_production_server

pytestmark = pytest.mark.e2e


def call(url: str, headers: dict | None = None, body: bytes | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def status(url: str, headers: dict | None = None) -> int:
    return call(url, headers)[0]


@pytest.mark.parametrize("service", ["triton", "triton-cpu"])
def test_compose_healthcheck_command_passes_against_the_server(production_server, service):
    command = list(compose()["services"][service]["healthcheck"]["test"][1:])
    command[0] = sys.executable  # the image's python3, here this virtualenv's
    command[command.index("127.0.0.1:8000")] = production_server.http
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "healthy" in result.stdout


def test_the_healthcheck_fails_where_no_server_answers(production_server):
    command = list(compose()["services"]["triton"]["healthcheck"]["test"][1:])
    command[0] = sys.executable
    command[command.index("127.0.0.1:8000")] = f"127.0.0.1:{production_server.grpc_port}"  # not HTTP
    assert subprocess.run(command, capture_output=True, timeout=60, check=False).returncode == 1


def test_restricted_apis_need_the_token_from_the_secret_file(production_server):
    stats = f"http://{production_server.http}/v2/models/densenet_ensemble/stats"
    assert status(stats) == 403
    assert status(stats, {ADMIN_HEADER: "wrong-token-0123456789"}) == 403
    assert status(stats, {ADMIN_HEADER: PRODUCTION_TOKEN}) == 200


def test_models_cannot_be_loaded_or_unloaded_over_the_api(production_server):
    for action in ("unload", "load"):
        url = f"http://{production_server.http}/v2/repository/models/densenet/{action}"
        code, text = call(url, {ADMIN_HEADER: PRODUCTION_TOKEN}, b"{}")
        assert code >= 400, f"{action} was allowed"
        assert "explicit model load / unload is not allowed" in text
    assert check(production_server.http).healthy


def test_latency_summaries_are_exported(production_server):
    assert check(production_server.http).healthy
    with urllib.request.urlopen(f"http://{production_server.metrics}/metrics", timeout=10) as response:
        metrics = response.read().decode()
    assert 'nv_inference_request_summary_us{model="densenet_ensemble",version="1",quantile="0.99"}' in metrics
    assert 'nv_inference_queue_summary_us{model="densenet",version="1",quantile="0.5"}' in metrics


def test_serves_the_weights_the_repository_script_recorded(production_server):
    url = f"http://{production_server.http}/v2/models/densenet/config"
    with urllib.request.urlopen(url, timeout=10) as response:
        weights = json.load(response)["parameters"]["weights"]["string_value"]
    assert weights.startswith("seeded-random")


def test_watchdog_stops_a_server_whose_inferences_fail(production_environment, tmp_path):
    server = start_production_server(
        production_environment, tmp_path / "log", watchdog_interval=1, watchdog_failures=2
    )
    try:
        assert check(server.http).healthy
        stub = [
            pid
            for pid, cmd in processes.descendants(server.process.pid).items()
            if "preprocess/1/model.py" in cmd
        ]
        assert len(stub) == 1
        os.kill(stub[0], signal.SIGKILL)
        # The server still says READY; the watchdog's inferences fail and it stops the server.
        assert server.process.wait(timeout=120) == 1
        assert "health inference failed (2/2)" in server.output()
        assert "stopping tritonserver so the container is restarted" in server.output()
    finally:
        server.stop()


def test_sigterm_stops_cleanly_with_nothing_left(production_environment, tmp_path):
    server = start_production_server(production_environment, tmp_path / "log", watchdog_interval=5)
    children = processes.descendants(server.process.pid)
    assert any("tritonserver" in cmd for cmd in children.values())
    assert check(server.http).healthy
    server.process.send_signal(signal.SIGTERM)  # docker stop
    assert server.process.wait(timeout=60) == 0
    processes.wait_for(lambda: not processes.alive(children), 30, "tritonserver and its stubs to exit")
    server.stop()
