"""docker/compose.yaml really run: build, up, calls, down (tests/e2e/test_compose_stack.py).

The CPU profile (slim serving image, model tools, the edge, Prometheus) under a project name of its
own, every published port a free one on 127.0.0.1, offline model weights (MODEL_SOURCE=seeded).
Where Docker or Compose v2 cannot run here, ``docker_problem`` says why (the test skips; under
CI=true the suite's hook makes that a failure). Building the images fetches their contents (Debian
packages, wheels) unless the build cache has them; everything the tests send goes to 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from densenet_serve.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker" / "compose.yaml"
BASE_IMAGES = REPO_ROOT / "docker" / "base-images.sh"
SYSTEM_CA = Path("/etc/ssl/certs/ca-certificates.crt")

# Bounds (seconds). A cold build downloads ~0.5 GB of wheels; a warm one reuses every layer.
BASE_IMAGE_S = 600
BUILD_S = 1500
UP_S = 420  # one-shots (edge, model: seeded ONNX) + Triton loading + the first health check
CALL_S = 120
RECOVERY_S = 420  # watchdog (3 x 10 s) + restart + loading + health check interval


def docker_problem() -> str | None:
    """Why the stack cannot run here, or None."""
    if shutil.which("docker") is None:
        return "no docker CLI (tests/tools/install-docker.sh installs Docker and Compose v2)"
    checks = (
        (["docker", "info"], "no Docker daemon answers"),
        (["docker", "compose", "version"], "no Compose v2 (`docker compose`)"),
    )
    for command, what in checks:
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        except subprocess.TimeoutExpired:
            return f"{what} (timed out)"
        if result.returncode != 0:
            return f"{what}: {result.stderr.strip()[-300:]}"
    return None


@dataclass
class ComposeStack:
    project: str
    env: dict[str, str]
    https_port: int
    grpcs_port: int
    prometheus_port: int
    certificate: Path | None = None  # the proxy's, as clients get it
    log: list[str] = field(default_factory=list)

    def compose(
        self, *args: str, timeout_s: float = CALL_S, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = ["docker", "compose", "-p", self.project, "-f", str(COMPOSE_FILE), *args]
        result = subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=timeout_s, check=False
        )
        self.log.append(f"$ {' '.join(args)} -> {result.returncode}\n{result.stderr[-3000:]}")
        if check and result.returncode != 0:
            raise AssertionError(
                f"docker compose {' '.join(args)} failed:\n{result.stderr[-3000:]}\n{self.logs()}"
            )
        return result

    def logs(self) -> str:
        command = ["docker", "compose", "-p", self.project, "-f", str(COMPOSE_FILE), "logs", "--no-color"]
        result = subprocess.run(
            [*command, "--tail", "60"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=CALL_S,
            check=False,
        )
        return result.stdout[-8000:]

    def exec(self, service: str, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.compose("exec", "-T", service, *command, check=check)

    def container(self, service: str) -> dict:
        """`docker inspect` of the service's one container."""
        ids = self.compose("ps", "-a", "-q", service).stdout.split()
        assert len(ids) == 1, f"{service}: containers {ids}"
        result = subprocess.run(
            ["docker", "inspect", ids[0]], capture_output=True, text=True, timeout=CALL_S, check=True
        )
        return json.loads(result.stdout)[0]

    def project_containers(self) -> list[str]:
        result = subprocess.run(
            ["docker", "ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={self.project}"],
            capture_output=True, text=True, timeout=CALL_S, check=True,
        )  # fmt: skip
        return result.stdout.split()


def new_stack() -> ComposeStack:
    """A stack description with its own project name, admin token and free loopback ports."""
    ports = [free_port() for _ in range(4)]
    env = {key: value for key, value in os.environ.items() if not key.startswith("COMPOSE_")}
    env.update(
        COMPOSE_PROFILES="cpu",
        MODEL_SOURCE="seeded",  # offline weights: nothing at test time needs the internet
        TRITON_ADMIN_TOKEN=secrets.token_hex(24),
        PUBLISH_ADDRESS="127.0.0.1",
        HTTPS_PORT=str(ports[0]),
        GRPCS_PORT=str(ports[1]),
        METRICS_PORT=str(ports[2]),
        PROMETHEUS_PORT=str(ports[3]),
    )
    # pip in the builds trusts what this machine trusts (a TLS-intercepting proxy's CA, if any).
    if "BUILD_CA_BUNDLE" not in env and SYSTEM_CA.is_file():
        env["BUILD_CA_BUNDLE"] = str(SYSTEM_CA)
    for variable in ("TLS_CERTIFICATE", "TLS_KEY", "EDGE_API_KEY_FILE"):
        env.pop(variable, None)  # the stack makes its own: the two-command path
    return ComposeStack(f"densenet-test-{secrets.token_hex(3)}", env, *ports[:2], ports[3])


def bring_up(stack: ComposeStack) -> dict[str, float]:
    """base-images.sh, build, up --wait; the seconds each took."""
    took = {}
    started = time.monotonic()
    result = subprocess.run(["bash", str(BASE_IMAGES)], env=stack.env, capture_output=True, text=True,
                            timeout=BASE_IMAGE_S, check=False)  # fmt: skip
    assert result.returncode == 0, f"docker/base-images.sh failed:\n{result.stdout}\n{result.stderr}"
    took["base images"] = time.monotonic() - started
    started = time.monotonic()
    stack.compose("build", timeout_s=BUILD_S)
    took["build"] = time.monotonic() - started
    started = time.monotonic()
    stack.compose("up", "-d", "--wait", timeout_s=UP_S)
    took["up --wait"] = time.monotonic() - started
    return took


def image_sizes(stack: ComposeStack) -> dict[str, int]:
    """The uncompressed size of each image the stack runs (what docs/deployment.md's table quotes)."""
    sizes = {}
    for image in sorted(set(stack.compose("config", "--images").stdout.split())):
        result = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", image],
                                capture_output=True, text=True, timeout=CALL_S, check=False)  # fmt: skip
        if result.returncode == 0:
            sizes[image] = int(result.stdout)
    return sizes


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str, stack: ComposeStack) -> float:
    """Poll ``predicate`` every 2 s; the seconds it took. Fails with the stack's logs after ``timeout_s``."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"not within {timeout_s:.0f}s: {what}\n{stack.logs()}")
        time.sleep(2)
    return time.monotonic() - started


def kill_processes(stack: ComposeStack, service: str, needles: Sequence[str]) -> list[int]:
    """SIGKILL, inside ``service``, the processes whose command line contains every needle."""
    script = (
        "import os, signal, sys\n"
        "killed = []\n"
        "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
        "    try:\n"
        "        line = open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\\0', b' ').decode()\n"
        "    except OSError:\n"
        "        continue\n"
        "    if all(n in line for n in sys.argv[1:]) and 'import os' not in line:\n"
        "        os.kill(int(pid), signal.SIGKILL)\n"
        "        killed.append(int(pid))\n"
        "print(killed)\n"
    )
    return json.loads(stack.exec(service, "python3", "-c", script, *needles).stdout)
