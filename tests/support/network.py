"""`densenet-serve` in network mode for end-to-end tests: nginx on every address, Triton on loopback.

All test traffic goes to 127.0.0.1 (nginx listens on 0.0.0.0, so it answers there too).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from densenet_serve.edge.nginx import find_nginx
from densenet_serve.errors import ServerSetupError
from densenet_serve.ports import free_port
from tests.support import processes

ADMIN_TOKEN = "network-test-admin-token"


def require_nginx_and_openssl() -> None:
    """Skip, saying why, where network mode cannot run (`make test` installs nginx)."""
    try:
        find_nginx()
    except ServerSetupError as error:
        pytest.skip(str(error))
    if shutil.which("openssl") is None:
        pytest.skip("no openssl CLI to make the self-signed certificate")


@dataclass
class NetworkLauncher:
    process: subprocess.Popen
    https_port: int
    grpc_port: int
    metrics_port: int
    certificate: Path
    log: Path
    access_log: Path

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def access_log_line(self, marker: str, timeout_s: float = 30) -> str:
        """The access log's one line with ``marker`` (e.g. in the query string)."""
        lines = self.access_log_lines(marker, 1, timeout_s)
        assert len(lines) == 1, f"{len(lines)} access log lines with {marker!r}"
        return lines[0]

    def access_log_lines(self, marker: str, at_least: int, timeout_s: float = 30) -> list[str]:
        """The access log's lines with ``marker``, once there are ``at_least`` of them. nginx writes a
        line once the response is sent, so it may land just after the client has read the answer:
        polled."""
        deadline = time.monotonic() + timeout_s
        while True:
            lines = [line for line in self.access_log.read_text().splitlines() if marker in line]
            if len(lines) >= at_least or time.monotonic() > deadline:
                return lines
            time.sleep(0.02)

    def children(self) -> dict[int, str]:
        return processes.descendants(self.process.pid)

    def tritonserver_pid(self) -> int:
        (pid,) = [pid for pid, cmd in self.children().items() if "bin/tritonserver " in cmd]
        return pid

    def shm_prefix(self) -> str:
        command = processes.descendants(self.process.pid)[self.tritonserver_pid()]
        (flag,) = [arg for arg in command.split() if "shm-region-prefix-name=" in arg]
        return flag.split("shm-region-prefix-name=", 1)[1]

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.certificate))

    def tls_socket(self, timeout_s: float = 120) -> ssl.SSLSocket:
        sock = socket.create_connection(("127.0.0.1", self.https_port), timeout=timeout_s)
        return self.ssl_context().wrap_socket(sock, server_hostname="127.0.0.1")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(60)


def start_network_launcher(model_repository: Path, workdir: Path, *extra: str) -> NetworkLauncher:
    """The launcher with --host 0.0.0.0 on free ports; returns once it printed its READY banner."""
    require_nginx_and_openssl()
    workdir.mkdir(parents=True, exist_ok=True)
    https_port, grpc_port, metrics_port = free_port(), free_port(), free_port()
    log, access_log = workdir / "serve.log", workdir / "access.log"
    command = [
        sys.executable, "-m", "densenet_serve", "--model-repository", str(model_repository),
        "--host", "0.0.0.0", "--http-port", str(https_port), "--grpc-port", str(grpc_port),
        "--metrics-port", str(metrics_port), "--tls-dir", str(workdir / "tls"),
        "--access-log", str(access_log), *extra,
    ]  # fmt: skip
    env = {**os.environ, "TRITON_ADMIN_TOKEN": ADMIN_TOKEN}
    with open(log, "wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    launcher = NetworkLauncher(
        process, https_port, grpc_port, metrics_port, workdir / "tls" / "densenet-serve.crt", log, access_log
    )
    try:
        processes.wait_for(
            lambda: process.poll() is not None or b"Press Ctrl-C to stop" in log.read_bytes(), 300, "READY"
        )
        assert process.poll() is None, launcher.output()[-3000:]
    except BaseException:
        launcher.stop()
        raise
    return launcher
