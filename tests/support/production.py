"""The deployment's serving path on the real Triton server, without Docker (tests/e2e/production).

docker/model-repository.sh fills a repository (the CPU profile's `model` service, seeded weights),
and docker/entrypoint.py starts tritonserver on it with the production flags and compose's
triton-cpu arguments, exactly as the container would. Two things differ from the container and
are test plumbing only: the binary is the pinned nvidia-pytriton wheel's tritonserver (2.51; the
NGC 25.10 image has 2.62), started through a wrapper that adds the backend directory the NGC image
has built in; and the server listens on loopback ports picked here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from densenet_serve.ports import free_port
from densenet_serve.server import MODELS
from tests.support.deployfiles import ENTRYPOINT, compose

PRODUCTION_TOKEN = "production-test-token-0123456789"


@dataclass
class ProductionServer:
    process: subprocess.Popen[bytes]
    http_port: int
    grpc_port: int
    metrics_port: int
    log: Path

    @property
    def http(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def metrics(self) -> str:
        return f"127.0.0.1:{self.metrics_port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout_s: float = 60) -> int:
        """SIGTERM to the entry point (as `docker stop` does), then whatever is left of the group."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout_s)
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _ready(address: str, model: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}/v2/models/{model}/ready", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_production_server(
    environment: dict, log: Path, watchdog_interval: float = 0, watchdog_failures: int = 3
) -> ProductionServer:
    """docker/entrypoint.py with compose's triton-cpu arguments, on free loopback ports; READY."""
    ports = free_port(), free_port(), free_port()
    arguments = [
        *compose()["services"]["triton-cpu"]["command"],
        "--http-address=127.0.0.1",
        f"--http-port={ports[0]}",
        "--grpc-address=127.0.0.1",
        f"--grpc-port={ports[1]}",
        "--metrics-address=127.0.0.1",
        f"--metrics-port={ports[2]}",
    ]
    env = {
        **environment,
        "WATCHDOG_INTERVAL": str(watchdog_interval),
        "WATCHDOG_FAILURES": str(watchdog_failures),
    }
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, str(ENTRYPOINT), *arguments],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ProductionServer(process, *ports, log)
    deadline = time.monotonic() + 300
    while not all(_ready(server.http, model) for model in MODELS):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"the entry point's tritonserver did not become READY:\n{server.output()[-3000:]}")
        time.sleep(0.2)
    return server
