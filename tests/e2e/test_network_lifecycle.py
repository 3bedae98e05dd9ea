"""Network mode's supervision: a dead nginx, a killed stub or a killed tritonserver is restarted,
never leaving a half-up server or the dead server's shared memory; SIGTERM stops everything.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from densenet_serve.health import check
from densenet_serve.server import shm_regions
from tests.support import processes
from tests.support.network import NetworkLauncher, start_network_launcher

pytestmark = pytest.mark.e2e


def restarted(edge: NetworkLauncher, message: str, count: int) -> bool:
    return edge.output().count(message) >= count


def nginx_pids(edge: NetworkLauncher) -> dict[int, str]:
    return {pid: cmd for pid, cmd in edge.children().items() if cmd.startswith("nginx:")}


def https_ready(edge: NetworkLauncher) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(
            f"{edge.https_url}/v2/health/ready", timeout=10, context=edge.ssl_context()
        ) as response:
            return response.status == 200
    except OSError:
        return False


def edge_answer(edge: NetworkLauncher) -> tuple[int, str | None, str]:
    """Status, Retry-After and body of a readiness request through the edge."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(
            f"{edge.https_url}/v2/health/ready", timeout=30, context=edge.ssl_context()
        ) as response:
            return response.status, response.headers.get("Retry-After"), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Retry-After"), error.read().decode()


def internal_http(edge: NetworkLauncher) -> str:
    command = edge.children()[edge.tritonserver_pid()]
    (port,) = [arg.split("=")[1] for arg in command.split() if arg.startswith("--http-port=")]
    return f"127.0.0.1:{port}"


def test_dead_processes_are_restarted_and_leave_no_shared_memory(model_repository, tmp_path):
    edge = start_network_launcher(
        model_repository, tmp_path, "--watchdog-interval", "1", "--watchdog-failures", "2"
    )
    try:
        assert https_ready(edge)

        # nginx's master killed: its workers go with it, a new nginx serves.
        old_nginx = nginx_pids(edge)
        master = next(pid for pid, cmd in old_nginx.items() if "master" in cmd)
        os.kill(master, signal.SIGKILL)
        processes.wait_for(lambda: restarted(edge, "nginx listening again", 1), 120, "nginx's restart")
        assert processes.alive(old_nginx) == []
        assert https_ready(edge)

        # A python stub killed: the watchdog restarts tritonserver; the dead one's regions are gone.
        prefix = edge.shm_prefix()
        assert shm_regions(prefix), "the server's regions carry its own prefix"
        (stub,) = [pid for pid, cmd in edge.children().items() if "preprocess/1/model.py" in cmd]
        os.kill(stub, signal.SIGKILL)
        processes.wait_for(lambda: restarted(edge, "all models READY again", 1), 300, "the restart")
        assert shm_regions(prefix) == []
        assert edge.shm_prefix() != prefix
        assert https_ready(edge)

        # tritonserver itself killed: the same. Meanwhile (its models load for seconds) the edge
        # answers 503 with Retry-After, which clients retry, instead of a bare 502.
        prefix = edge.shm_prefix()
        os.kill(edge.tritonserver_pid(), signal.SIGKILL)
        seen: list[tuple[int, str | None, str]] = []
        processes.wait_for(
            lambda: seen.append(edge_answer(edge)) or seen[-1][0] != 200, 60, "an answer while restarting"
        )
        status, retry_after, body = seen[-1]
        assert (status, retry_after) == (503, "1"), seen[-1]
        assert "server unavailable (starting or restarting), retry after 1 s" in body
        processes.wait_for(lambda: restarted(edge, "all models READY again", 2), 300, "the second restart")
        assert shm_regions(prefix) == []
        assert check(internal_http(edge)).healthy
        assert https_ready(edge)

        # SIGTERM: nginx, tritonserver and the stubs all stop; no region is left.
        prefix, children = edge.shm_prefix(), edge.children()
        assert edge.stop() == 0
        assert processes.alive(children) == []
        assert shm_regions(prefix) == []
    finally:
        edge.stop()


def test_network_mode_without_nginx_is_a_clear_error(model_repository, tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "densenet_serve", "--model-repository", str(model_repository),
         "--host", "0.0.0.0", "--nginx", str(tmp_path / "no-nginx")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "nginx not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_server_names_its_shared_memory_with_its_own_prefix(server):
    assert server.shm_prefix
    assert (
        f"shm-region-prefix-name={server.shm_prefix}"
        in Path(f"/proc/{server.process.pid}/cmdline").read_text()
    )
    assert shm_regions(server.shm_prefix)
