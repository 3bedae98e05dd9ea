"""Network mode's edge: nginx in front of tritonserver, which then listens on loopback only.

The pinned tritonserver 2.51 cannot be upgraded (nvidia-pytriton 0.7.0 is the newest wheel that
ships a server) and one request crashes it (CVE-2025-23310/23311: a body of millions of tiny
chunks; a JSON body nested ~50,000 arrays deep). So whatever listens beyond loopback is nginx,
configured by :func:`nginx_config` from ``nginx.conf.template``: it de-chunks and caps bodies,
refuses compressed ones, caps the JSON Triton would parse, times out slow clients, terminates TLS
for HTTP and gRPC, keeps the shared-memory APIs closed and logs every request.
"""

from __future__ import annotations

import contextlib
import grp
import ipaddress
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import ServerExitedError, ServerSetupError, ServerTimeoutError
from .server import die_with_parent, stop_group

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
MiB = 1 << 20
# The preprocess model refuses images above 16 MiB (max_bytes); one such image plus its request's
# JSON header must pass, anything larger is refused by nginx before Triton reads a byte.
MAX_IMAGE_BYTES = 16 * MiB
MAX_BODY_BYTES = MAX_IMAGE_BYTES + MiB
# The JSON Triton parses: a binary request's header is a few hundred bytes. 16 KiB holds at most
# ~8,000 nested arrays; 30,000 were measured harmless and 50,000 crash tritonserver 2.51.
MAX_JSON_BYTES = 16 * 1024
NGINX_SEARCH_PATH = ("/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin")
_FIELD = re.compile(r"\{\{(\w+)\}\}")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (network mode starts beyond it)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def at_most_pattern(limit: int) -> str:
    """A regular expression (PCRE and Python) matching the decimal integers 0..``limit``."""
    if limit < 0:
        raise ValueError(f"no integer is at most {limit}")
    digits = str(limit)
    options = ["0"]
    if len(digits) > 1:  # every number with fewer digits
        options.append(f"[1-9][0-9]{{0,{len(digits) - 2}}}")
    for i, digit in enumerate(digits):  # same length: equal up to position i, then smaller
        low = 1 if i == 0 else 0
        if int(digit) > low:
            smaller = f"[{low}-{int(digit) - 1}]" if int(digit) - 1 > low else str(low)
            rest = len(digits) - i - 1
            options.append(
                digits[:i] + smaller + ("" if not rest else "[0-9]" + (f"{{{rest}}}" if rest > 1 else ""))
            )
    options.append(digits)
    return "0*(?:" + "|".join(dict.fromkeys(options)) + ")"


def listen_address(host: str, port: int) -> str:
    """nginx's ``listen`` form of an address (IPv6 in brackets)."""
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


@dataclass(frozen=True)
class ProxyConfig:
    """What nginx listens on, where it forwards, and the limits it applies."""

    host: str  # the public address (0.0.0.0: every IPv4 address)
    https_port: int
    grpc_port: int
    triton_http_port: int  # tritonserver, on 127.0.0.1
    triton_grpc_port: int
    certificate: Path
    private_key: Path
    prefix: Path  # nginx's private directory: pid file, temporary files
    access_log: str = "/dev/stdout"
    workers: int | str = 1  # or "auto": one per CPU
    worker_connections: int = 1024
    max_body_bytes: int = MAX_BODY_BYTES
    max_json_bytes: int = MAX_JSON_BYTES
    client_timeout_s: int = 10
    keepalive_timeout_s: int = 30
    upstream_timeout_s: int = 300
    triton_host: str = "127.0.0.1"
    # Started as root, nginx runs its workers as this "user group" (only root may name one).
    worker_user: str = ""

    @property
    def probe_host(self) -> str:
        """Where this machine reaches the proxy."""
        return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)


def nginx_config(config: ProxyConfig, template: str | None = None) -> str:
    """The nginx configuration for ``config`` (pure: the template's fields filled in)."""
    if config.max_json_bytes >= config.max_body_bytes:
        raise ValueError("the JSON limit must be below the body limit")
    fields = {key: str(value) for key, value in asdict(config).items()}
    fields |= {
        "user": f"user {config.worker_user};" if config.worker_user else "",
        "listen_http": listen_address(config.host, config.https_port),
        "listen_grpc": listen_address(config.host, config.grpc_port),
        "json_header_length_pattern": at_most_pattern(config.max_json_bytes),
    }
    for key, value in fields.items():
        if re.search(r"[\s;{}'\"]", value) and key not in (
            "json_header_length_pattern",
            "user",
            "worker_user",
        ):
            raise ValueError(f"{key} {value!r}: spaces, quotes, braces and ';' cannot go into nginx.conf")
    text = TEMPLATE.read_text() if template is None else template

    def fill(match: re.Match[str]) -> str:
        if match[1] not in fields:
            raise KeyError(f"nginx.conf.template: unknown field {match[0]}")
        return fields[match[1]]

    return _FIELD.sub(fill, text)


def unprivileged_workers() -> str:
    """The ``user`` nginx's workers take when the launcher runs as root ("" otherwise)."""
    if os.geteuid() != 0:
        return ""
    nobody = pwd.getpwnam("nobody")
    return f"{nobody.pw_name} {grp.getgrgid(nobody.pw_gid).gr_name}"


def find_nginx(explicit: str | None = None) -> str:
    """The nginx executable: ``explicit``, else $NGINX, else nginx on PATH or in the sbin folders."""
    candidate = explicit or os.environ.get("NGINX")
    if candidate:
        found = shutil.which(candidate)
        if found is None:
            raise ServerSetupError(f"nginx not found at {candidate}")
        return found
    search = os.pathsep.join([os.environ.get("PATH", ""), *NGINX_SEARCH_PATH])
    found = shutil.which("nginx", path=search)
    if found is None:
        raise ServerSetupError(
            "network mode (a --host beyond loopback) puts nginx in front of tritonserver, and nginx "
            "is not installed: `sudo apt-get install nginx` (Debian/Ubuntu), or pass --nginx PATH"
        )
    return found


class NginxProxy:
    """nginx in the foreground in its own process group, with a private prefix directory.

    Use as a context manager, or ``start`` / ``wait_listening`` / ``stop``.
    """

    def __init__(self, config: ProxyConfig, nginx: str) -> None:
        self.config = config
        self.nginx = nginx
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        return self.config.prefix / "nginx.conf"

    def _argv(self, *extra: str) -> list[str]:
        # -e: nginx opens its compiled-in error log before reading the configuration.
        return [
            self.nginx,
            "-p",
            str(self.config.prefix),
            "-c",
            str(self.config_path),
            "-e",
            "stderr",
            *extra,
        ]

    def start(self) -> NginxProxy:
        prefix = self.config.prefix
        prefix.mkdir(mode=0o700, parents=True, exist_ok=True)
        worker = pwd.getpwnam(self.config.worker_user.split()[0]) if self.config.worker_user else None
        if worker is not None:
            prefix.chmod(0o711)  # the workers reach their directories, list nothing
        for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / temp).mkdir(mode=0o700, exist_ok=True)
            if worker is not None:
                os.chown(prefix / temp, worker.pw_uid, worker.pw_gid)
        self.config_path.write_text(nginx_config(self.config))
        test = subprocess.run(self._argv("-t", "-q"), capture_output=True, text=True, timeout=60, check=False)
        if test.returncode != 0:
            raise ServerSetupError(f"nginx refused its configuration:\n{test.stderr.strip()}")
        self.process = subprocess.Popen(
            self._argv(),
            start_new_session=True,  # its workers stop with it (killpg), even if the master is killed
            preexec_fn=die_with_parent,
        )
        return self

    def listening(self) -> bool:
        try:
            with socket.create_connection((self.config.probe_host, self.config.https_port), timeout=2):
                return True
        except OSError:
            return False

    def wait_listening(self, timeout_s: float = 30.0) -> None:
        assert self.process is not None, "start() first"
        deadline = time.monotonic() + timeout_s
        while not self.listening():
            if self.process.poll() is not None:
                raise ServerExitedError(f"nginx exited with code {self.process.returncode}")
            if time.monotonic() > deadline:
                raise ServerTimeoutError(f"nginx is not listening on port {self.config.https_port}")
            time.sleep(0.1)

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """Graceful: stop listening, finish the requests in flight (SIGQUIT), then kill what is left."""
        process, self.process = self.process, None
        if process is None:
            return None
        # The group: the workers of a master that was killed keep their listening sockets open.
        return stop_group(process, signal.SIGQUIT, timeout_s)

    def __enter__(self) -> NginxProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def private_prefix():
    """A private directory for nginx's pid and temporary files, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="densenet-nginx-") as directory:
        yield Path(directory)


# The same edge in production (docker/): nginx's official image in front of the NGC tritonserver,
# on 8443 (HTTPS) and 8444 (gRPC over TLS). `python -m densenet_serve.proxy compose|kubernetes`
# writes these files; tests/deploy checks that the committed ones are exactly that.
DEPLOYMENTS = {
    # A container of its own on the compose network; the root master names the image's `nginx` user.
    "compose": ProxyConfig(
        host="0.0.0.0", https_port=8443, grpc_port=8444, triton_host="triton",
        triton_http_port=8000, triton_grpc_port=8001,
        certificate=Path("/run/secrets/tls_certificate"), private_key=Path("/run/secrets/tls_key"),
        prefix=Path("/tmp"), workers="auto", worker_user="nginx nginx",
    ),
    # A sidecar in the Triton pod (Triton on the pod's loopback), running as the pod's user.
    "kubernetes": ProxyConfig(
        host="0.0.0.0", https_port=8443, grpc_port=8444,
        triton_http_port=8000, triton_grpc_port=8001,
        certificate=Path("/etc/nginx/tls/tls.crt"), private_key=Path("/etc/nginx/tls/tls.key"),
        prefix=Path("/tmp"), workers="auto",
    ),
}  # fmt: skip


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2 or sys.argv[1] not in DEPLOYMENTS:
        sys.exit(f"usage: python -m densenet_serve.proxy {{{'|'.join(DEPLOYMENTS)}}} > nginx.conf")
    sys.stdout.write(nginx_config(DEPLOYMENTS[sys.argv[1]]))
