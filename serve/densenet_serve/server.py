"""Running the real ``tritonserver`` as a child process: command line, readiness, clean shutdown."""

from __future__ import annotations

import contextlib
import ctypes
import glob
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from densenet_contract.names import ENSEMBLE, MODELS, SHM_PREFIX_VARIABLE

from .core import EXIT_TIMEOUT_S, check_admin_token, tritonserver_flags
from .distribution import TritonDistribution, find_distribution, stage_backends
from .errors import ServerExitedError, ServerSetupError, ServerTimeoutError
from .ports import ports_in_use

_PR_SET_PDEATHSIG = 1
SHM_DIR = Path("/dev/shm")
SHM_PREFIX = "densenet-serve-"  # + a random part per start: no two servers share a region name


@dataclass(frozen=True)
class ServerOptions:
    """What the launcher passes to ``tritonserver``; defaults are the safe local ones."""

    model_repository: Path
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    host: str = "127.0.0.1"  # localhost only unless asked otherwise
    model_config_name: str | None = "cpu"
    log_verbose: int = 0
    exit_timeout_s: int = EXIT_TIMEOUT_S
    # Without a token of the user's, a random one nobody knows: the restricted APIs stay closed.
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    extra_args: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        check_admin_token(self.admin_token)

    def command(
        self, dist: TritonDistribution, backend_dir: Path, shm_prefix: str | None = None
    ) -> list[str]:
        """``shm_prefix``: this server's own name prefix for the python backend's /dev/shm regions."""
        args = [
            str(dist.binary),
            *tritonserver_flags(self.model_repository, self.admin_token, self.exit_timeout_s),
            f"--backend-directory={backend_dir}",
            f"--cache-directory={dist.caches}",
            f"--http-address={self.host}",
            f"--http-port={self.http_port}",
            f"--grpc-address={self.host}",
            f"--grpc-port={self.grpc_port}",
            f"--metrics-address={self.host}",
            f"--metrics-port={self.metrics_port}",
            "--allow-gpu-metrics=false",
            f"--log-verbose={self.log_verbose}",
        ]
        if shm_prefix:
            args.append(f"--backend-config=python,shm-region-prefix-name={shm_prefix}")
        if self.model_config_name:
            args.append(f"--model-config-name={self.model_config_name}")
        return [*args, *self.extra_args]


def server_environment(dist: TritonDistribution) -> dict[str, str]:
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(dist.libs), env.get("LD_LIBRARY_PATH")]))
    # The python stubs run this interpreter's environment (its bin first for any subprocesses).
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def die_with_parent() -> None:
    """In the child: receive SIGTERM if the launcher dies, so no server outlives it."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class TritonServer:
    """A running ``tritonserver`` in its own process group (it and its python stubs stop together).

    Use as a context manager; ``wait_ready`` blocks until every model is READY.
    """

    def __init__(self, options: ServerOptions, log_path: Path | None = None) -> None:
        """``log_path``: where the server's output goes (default: this process's stdout)."""
        self.options = options
        self.log_path = log_path
        self._workspace: tempfile.TemporaryDirectory[str] | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.shm_prefix: str | None = None

    @property
    def http_url(self) -> str:
        host = "127.0.0.1" if self.options.host in ("0.0.0.0", "") else self.options.host
        return f"http://{host}:{self.options.http_port}"

    def start(self) -> TritonServer:
        if not (self.options.model_repository / ENSEMBLE).is_dir():
            raise ServerSetupError(f"{self.options.model_repository} is not this project's model repository")
        # Else tritonserver fails to bind while the READY polls reach whichever server holds the port.
        ports = {
            "HTTP": self.options.http_port,
            "gRPC": self.options.grpc_port,
            "metrics": self.options.metrics_port,
        }
        taken = ports_in_use(self.options.host, ports)
        if taken:
            raise ServerSetupError(
                f"port {', '.join(taken)} is already in use on {self.options.host}: another server listens "
                "there; choose free ones with HTTP_PORT/GRPC_PORT/METRICS_PORT or --http-port/--grpc-port/"
                "--metrics-port"
            )
        dist = find_distribution()
        self._workspace = tempfile.TemporaryDirectory(prefix="densenet-serve-")
        backend_dir = stage_backends(dist, Path(self._workspace.name))
        self.shm_prefix = f"{SHM_PREFIX}{secrets.token_hex(6)}-"
        log = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115 - the child holds it
        try:
            self.process = subprocess.Popen(
                self.options.command(dist, backend_dir, self.shm_prefix),
                # The models name their own /dev/shm files with the prefix too: removed alike.
                env={**server_environment(dist), SHM_PREFIX_VARIABLE: self.shm_prefix},
                stdout=log,
                stderr=subprocess.STDOUT if log else None,
                start_new_session=True,
                preexec_fn=die_with_parent,  # only a prctl call: safe between fork and exec
            )
        finally:
            if log:
                log.close()
        return self

    def wait_ready(self, timeout_s: float = 180.0, models: Sequence[str] = MODELS) -> dict[str, float]:
        """Poll until all ``models`` are READY; returns the seconds each took. Raises on exit/timeout."""
        assert self.process is not None, "start() first"
        started, ready = time.monotonic(), {}
        while len(ready) < len(models):
            if self.process.poll() is not None:
                code = self.process.returncode
                raise ServerExitedError(
                    f"tritonserver exited with code {code} before READY{self._log_errors()}"
                )
            elapsed = time.monotonic() - started
            if elapsed > timeout_s:
                missing = ", ".join(m for m in models if m not in ready)
                raise ServerTimeoutError(f"not READY after {timeout_s:.0f}s: {missing}")
            for model in models:
                if model not in ready and self._model_ready(model):
                    ready[model] = round(elapsed, 2)
            time.sleep(0.2)
        return ready

    def _log_errors(self) -> str:
        """The server's error lines (e.g. why a model failed to load), when its log is a file."""
        if not self.log_path or not self.log_path.exists():
            return ""
        lines = self.log_path.read_text(errors="replace").splitlines()
        errors = [line for line in lines if line.startswith("E") and "CudaDriverHelper" not in line]
        return "".join(f"\n  {line}" for line in errors[-20:])

    def _model_ready(self, model: str) -> bool:
        try:
            with urllib.request.urlopen(f"{self.http_url}/v2/models/{model}/ready", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def model_config(self, model: str) -> dict:
        with urllib.request.urlopen(f"{self.http_url}/v2/models/{model}/config", timeout=5) as response:
            return json.load(response)

    def stop(self, timeout_s: float | None = None) -> int | None:
        """SIGTERM, wait for in-flight requests and unloading, then SIGKILL whatever is left of the group."""
        process, self.process = self.process, None
        code = None
        if process is not None:
            timeout_s = self.options.exit_timeout_s + 10 if timeout_s is None else timeout_s
            code = stop_group(process, signal.SIGTERM, timeout_s)  # and the stubs that outlived it
        if self.shm_prefix is not None:
            # A crashed server or a killed stub leaves its regions behind (1 MiB or more each).
            remove_shm_regions(self.shm_prefix)
            self.shm_prefix = None
        if self._workspace is not None:
            self._workspace.cleanup()
            self._workspace = None
        return code

    def __enter__(self) -> TritonServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def shm_regions(prefix: str) -> list[Path]:
    """The python-backend shared-memory regions in /dev/shm whose names start with ``prefix``."""
    return sorted(SHM_DIR.glob(f"{glob.escape(prefix)}*")) if prefix else []


def remove_shm_regions(prefix: str) -> None:
    for region in shm_regions(prefix):
        with contextlib.suppress(FileNotFoundError):
            region.unlink()


def stop_group(process: subprocess.Popen, signum: int, timeout_s: float) -> int:
    """Ask the leader of a process group to stop (``signum``), wait, then SIGKILL what is left of it."""
    if process.poll() is None:
        process.send_signal(signum)
    try:
        code = process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        code = None
    kill_group(process.pid)
    return process.wait() if code is None else code


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
