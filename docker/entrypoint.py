#!/usr/bin/env python3
"""Container entry point: tritonserver with the production flags, and a watchdog.

``densenet-triton [TRITONSERVER FLAGS...]`` starts ``tritonserver`` (``$TRITONSERVER``, default
/opt/tritonserver/bin/tritonserver) on the repository ``$MODEL_REPOSITORY`` (default /models) with
the flags every deployment shares (``densenet_serve.core``, the embedded launcher's too); the
arguments are appended (e.g. ``--model-config-name=cpu``).

- Models are fixed at start: ``--model-control-mode=none`` refuses load/unload over the API.
- The model-repository, shared-memory, statistics, trace and logging APIs need the header
  ``admin-token: <token>`` (gRPC: ``triton-grpc-protocol-admin-token``). The token is read from the
  file ``$TRITON_ADMIN_TOKEN_FILE`` (default /run/secrets/triton_admin_token, a compose or
  Kubernetes secret). Without a token of at least 16 characters the server does not start.
- Latency summaries (p50/p90/p99) are exported next to Triton's default counters.
- Watchdog: every ``$WATCHDOG_INTERVAL`` seconds (default 10; 0 disables) a real inference runs
  through densenet_ensemble; after ``$WATCHDOG_FAILURES`` (default 3) failures in a row the server
  is stopped and this process exits 1, so the restart policy replaces the container (the embedded
  launcher restarts the server instead: the only difference between the two). A bad setting (the
  token) exits 2 before anything starts: the command lines' exit codes (``densenet_contract.cli``).
- SIGTERM/SIGINT are passed on: in-flight requests finish (``--exit-timeout-secs``), then it exits
  with tritonserver's code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from densenet_contract.cli import EXIT_FAILED, EXIT_UNUSABLE
from densenet_serve.core import (
    EXIT_TIMEOUT_S,
    WATCHDOG_FAILURES,
    WATCHDOG_INTERVAL_S,
    Watchdog,
    check_admin_token,
    first_exit,
    tritonserver_flags,
)
from densenet_serve.errors import ServerSetupError

# After failed health inferences a stub is dead and its model never finishes unloading: tritonserver
# would wait all of EXIT_TIMEOUT_S for it. In-flight requests drain within seconds; then it is killed.
WATCHDOG_STOP_TIMEOUT_S = 10


def fail(message: str) -> None:
    print(f"densenet-triton: error: {message}", file=sys.stderr, flush=True)
    sys.exit(EXIT_UNUSABLE)


def admin_token() -> str:
    path = Path(os.environ.get("TRITON_ADMIN_TOKEN_FILE", "/run/secrets/triton_admin_token"))
    try:
        token = path.read_text().strip()
    except OSError as error:
        fail(f"cannot read the admin token from {path} ({error.strerror}); set TRITON_ADMIN_TOKEN")
    try:
        return check_admin_token(token)
    except ServerSetupError as error:
        fail(f"{path}: {error}")
        raise  # unreachable: fail() exits


def command(token: str, extra: list[str]) -> list[str]:
    return [
        os.environ.get("TRITONSERVER", "/opt/tritonserver/bin/tritonserver"),
        *tritonserver_flags(os.environ.get("MODEL_REPOSITORY", "/models"), token, EXIT_TIMEOUT_S),
        *extra,
    ]


def http_address(extra: list[str]) -> str:
    """Where the watchdog reaches the HTTP endpoint (the last --http-port given wins, as in Triton)."""
    port = "8000"
    for arg in extra:
        if arg.startswith("--http-port="):
            port = arg.split("=", 1)[1]
    return f"127.0.0.1:{port}"


def ready(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}/v2/health/ready", timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def watch(process: subprocess.Popen[bytes], address: str, interval: float, allowed: int) -> int | None:
    """Return tritonserver's exit code, or None after ``allowed`` failed health inferences in a row."""
    while not ready(address):  # loading: the orchestrator's start period covers this phase
        if process.poll() is not None:
            return process.returncode
        time.sleep(1)
    watchdog = Watchdog(address, allowed, lambda line: print(f"densenet-triton: {line}", flush=True))
    while True:
        exited = first_exit({"tritonserver": process}, interval)
        if exited is not None:
            return exited[1]
        if watchdog.due():
            return None


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # log lines reach `docker logs` as they happen
    extra = sys.argv[1:]
    interval = float(os.environ.get("WATCHDOG_INTERVAL", str(WATCHDOG_INTERVAL_S)))
    allowed = int(os.environ.get("WATCHDOG_FAILURES", str(WATCHDOG_FAILURES)))
    process = subprocess.Popen(command(admin_token(), extra))

    def forward(signum: int, _frame: object) -> None:
        if process.poll() is None:
            process.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = process.wait() if interval <= 0 else watch(process, http_address(extra), interval, allowed)
    if code is not None:
        return code if code >= 0 else 128 - code  # killed by a signal: the shell's convention
    print("densenet-triton: stopping tritonserver so the container is restarted", flush=True)
    process.terminate()
    try:
        process.wait(WATCHDOG_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
