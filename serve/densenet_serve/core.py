"""What every way of running tritonserver here shares: its hardened flags, the admin-token rule and
the watchdog. The embedded launcher (``densenet-serve``) and the container entry point
(``docker/entrypoint.py``) both call this; they differ only in what a failed watchdog leads to
(the launcher restarts the server, the container exits so its orchestrator replaces it).
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from .errors import ServerSetupError
from .health import Health, check

# Endpoints that change or reveal server state; they need the admin token (header ADMIN_HEADER).
RESTRICTED_APIS = ("model-repository", "shared-memory", "statistics", "trace", "logging")
ADMIN_HEADER = "admin-token"
GRPC_ADMIN_HEADER = f"triton-grpc-protocol-{ADMIN_HEADER}"  # Triton prefixes gRPC restriction keys
# At least 16 characters, none of ',', ':', '=' or spaces: they delimit Triton's restricted-API flag.
ADMIN_TOKEN = re.compile(r"[A-Za-z0-9._~+/-]{16,}")
EXIT_TIMEOUT_S = 30
WATCHDOG_INTERVAL_S = 10.0
WATCHDOG_FAILURES = 3
# Busy answers in a row (queues full: the server works, so no restart) after which it is restarted
# all the same: a stub that hangs keeps its queue full forever. 30 checks: 5 minutes at the default.
WATCHDOG_BUSY_CHECKS = 30


def check_secret(value: str, what: str = "the admin token") -> str:
    """``value`` if it is a usable token or API key (``what`` names it in the error)."""
    if not ADMIN_TOKEN.fullmatch(value):
        raise ServerSetupError(
            f"{what} must be at least 16 characters of A-Z a-z 0-9 . _ ~ + / - (e.g. `openssl rand -hex 32`)"
        )
    return value


def check_admin_token(token: str) -> str:
    return check_secret(token, "the admin token")


def tritonserver_flags(model_repository: str | Path, admin_token: str, exit_timeout_s: int) -> list[str]:
    """The flags every deployment of this repository runs tritonserver with."""
    restriction = f"{','.join(RESTRICTED_APIS)}:{ADMIN_HEADER}={check_admin_token(admin_token)}"
    return [
        f"--model-repository={model_repository}",
        # Models are fixed at start: nobody may load or unload them over the API.
        "--model-control-mode=none",
        "--strict-readiness=true",
        f"--exit-timeout-secs={exit_timeout_s}",
        f"--http-restricted-api={restriction}",
        f"--grpc-restricted-protocol={restriction}",
        "--allow-metrics=true",
        # p50/p90/p99 per model next to Triton's counters (the dashboard and alerts read them).
        "--metrics-config=summary_latencies=true",
        "--metrics-config=summary_quantiles=0.5:0.05,0.9:0.01,0.99:0.001",
    ]


class Watchdog:
    """Counts failed health inferences in a row; ``due()`` says when ``failures`` have been reached.

    Triton's readiness stays 200 when a python-backend stub has died; only an inference shows it.
    A busy server (its queues full, the probe refused with 503) is working: no restart, unless it
    stays busy for ``busy_checks`` checks in a row.
    """

    def __init__(
        self,
        url: str,
        failures: int = WATCHDOG_FAILURES,
        report: Callable[[str], None] = print,
        probe: Callable[[str], Health] = check,
        busy_checks: int = WATCHDOG_BUSY_CHECKS,
    ) -> None:
        self.url, self.failures, self._report, self._probe = url, failures, report, probe
        self.busy_checks = busy_checks
        self.failed = 0
        self.busy = 0

    def due(self) -> bool:
        """Run one health inference; True once ``failures`` have failed in a row (or it was busy
        ``busy_checks`` times in a row)."""
        health = self._probe(self.url)
        if health.busy:
            self.busy += 1
            if self.busy == 1 or self.busy >= self.busy_checks:
                self._report(f"server busy ({self.busy}/{self.busy_checks} checks in a row): {health.detail}")
            return self.busy >= self.busy_checks
        self.busy = 0
        self.failed = 0 if health.healthy else self.failed + 1
        if not health.healthy:
            self._report(f"health inference failed ({self.failed}/{self.failures}): {health.detail}")
        return self.failed >= self.failures

    def reset(self) -> None:
        self.failed = 0
        self.busy = 0


def first_exit(processes: dict[str, subprocess.Popen], timeout: float | None) -> tuple[str, int] | None:
    """(name, exit code) of the first of ``processes`` to exit, or None after ``timeout`` seconds."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        for name, process in processes.items():
            code = process.poll()
            if code is not None:
                return name, code
        if deadline is not None and time.monotonic() >= deadline:
            return None
        time.sleep(0.2)
