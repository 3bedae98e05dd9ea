"""Network mode's edge: nginx in front of tritonserver, which then listens on loopback only.

The pinned tritonserver 2.51 cannot be upgraded (nvidia-pytriton 0.7.0 is the newest wheel that
ships a server) and one request crashes it (CVE-2025-23310/23311: a body of millions of tiny
chunks; a JSON body nested ~50,000 arrays deep). So whatever listens beyond loopback is nginx,
configured by :func:`nginx_config` from ``nginx.conf.template``: it de-chunks and caps bodies,
refuses compressed ones, caps the JSON Triton would parse, times out slow clients, terminates TLS
for HTTP and gRPC, passes only an allow-list of APIs (the admin APIs only with the admin token,
checked by nginx; the shared-memory APIs never), optionally requires client API keys, limits
each client's request rate and concurrency, answers "server busy" with 503 and Retry-After, and
logs every request.
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
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from densenet_contract.files import write_atomically

from .core import ADMIN_HEADER, GRPC_ADMIN_HEADER, check_admin_token, check_secret
from .errors import ServerExitedError, ServerSetupError, ServerTimeoutError
from .server import MODELS, die_with_parent, stop_group
from .tls import fingerprint, self_signed

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
# Per-client limits (a client: its address and API key). Defaults far above what one ordinary
# client sends (the SDK keeps 4 requests in flight by default, and a CPU host answers far fewer
# than 500 a second), so only floods are refused: beyond them, 429 with Retry-After.
RATE_LIMIT_PER_S = 500
RATE_LIMIT_BURST = 1000
CONNECTION_LIMIT = 64
RETRY_AFTER_S = 1


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
    served_models: tuple[str, ...] = MODELS
    # The files the maps of the admin token and of the API keys include (see admin_token_map and
    # api_keys_map); default: in the prefix, written by NginxProxy.start.
    admin_token_map: Path | None = None
    api_keys_map: Path | None = None
    rate_limit_per_s: int = RATE_LIMIT_PER_S  # 0: off
    rate_limit_burst: int = RATE_LIMIT_BURST
    connection_limit: int = CONNECTION_LIMIT  # requests in progress per client; 0: off
    retry_after_s: int = RETRY_AFTER_S

    @property
    def admin_token_map_path(self) -> Path:
        return self.admin_token_map or Path(self.prefix) / "admin-token.map"

    @property
    def api_keys_map_path(self) -> Path:
        return self.api_keys_map or Path(self.prefix) / "api-keys.map"

    def limits(self) -> str:
        """The per-client limits in words (the banner's line)."""
        rate = (
            f"{self.rate_limit_per_s} requests/s (bursts of {self.rate_limit_burst} more)"
            if self.rate_limit_per_s
            else "no request-rate limit"
        )
        connections = (
            f"{self.connection_limit} requests in progress"
            if self.connection_limit
            else "no concurrency limit"
        )
        return f"{rate}, {connections} per client"

    @property
    def probe_host(self) -> str:
        """Where this machine reaches the proxy."""
        return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)


def nginx_config(config: ProxyConfig, template: str | None = None) -> str:
    """The nginx configuration for ``config`` (pure: the template's fields filled in)."""
    if config.max_json_bytes >= config.max_body_bytes:
        raise ValueError("the JSON limit must be below the body limit")
    for name in ("rate_limit_per_s", "rate_limit_burst", "connection_limit", "retry_after_s"):
        if getattr(config, name) < 0:
            raise ValueError(f"{name} must be >= 0")
    for model in config.served_models:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", model):
            raise ValueError(f"model name {model!r}: only letters, digits, '_' and '-'")
    fields = {key: str(value) for key, value in asdict(config).items()}
    fields |= {
        "user": f"user {config.worker_user};" if config.worker_user else "",
        "listen_http": listen_address(config.host, config.https_port),
        "listen_grpc": listen_address(config.host, config.grpc_port),
        "json_header_length_pattern": at_most_pattern(config.max_json_bytes),
        "served_models": "|".join(config.served_models),
        "admin_header": ADMIN_HEADER,
        "admin_header_variable": ADMIN_HEADER.replace("-", "_"),
        "grpc_admin_header_variable": GRPC_ADMIN_HEADER.replace("-", "_"),
        "admin_token_map": str(config.admin_token_map_path),
        "api_keys_map": str(config.api_keys_map_path),
        # An empty key is not counted by nginx: that is how a limit is off.
        "rate_limit_key": '"$binary_remote_addr$api_client"' if config.rate_limit_per_s else '""',
        "rate_limit_per_s": str(config.rate_limit_per_s or 1),
        "connection_limit_key": '"$binary_remote_addr$api_client"' if config.connection_limit else '""',
        "connection_limit": str(config.connection_limit or 1),
    }
    for key, value in fields.items():
        if re.search(r"[\s;{}'\"]", value) and key not in (
            "json_header_length_pattern",
            "user",
            "worker_user",
            "rate_limit_key",
            "connection_limit_key",
        ):
            raise ValueError(f"{key} {value!r}: spaces, quotes, braces and ';' cannot go into nginx.conf")
    text = TEMPLATE.read_text() if template is None else template

    def fill(match: re.Match[str]) -> str:
        if match[1] not in fields:
            raise KeyError(f"nginx.conf.template: unknown field {match[0]}")
        return fields[match[1]]

    return _FIELD.sub(fill, text)


def _exact(value: str) -> str:
    """A case-sensitive nginx map regex matching exactly ``value`` (map strings ignore case)."""
    return '"~^' + re.sub(r"([.+])", r"\\\1", value) + '$"'


def admin_token_map(token: str) -> str:
    """The map entries (nginx syntax) that let the admin APIs pass with exactly ``token``."""
    return f"{_exact(check_admin_token(token))} 1;\n"


def check_api_key(key: str) -> str:
    """The same rules as the admin token: nothing that could end a quoted nginx string."""
    return check_secret(key, "an API key")


def api_keys_map(keys: list[str] | None) -> str:
    """The map entries (nginx syntax) naming the client of each "Bearer KEY"; None: keys are off.

    A client is named by its key's position in the file (never the key: it goes into no log).
    """
    if keys is None:
        return 'default "-";\n'
    lines = ['default "";']
    lines += [
        f'{_exact("Bearer " + check_api_key(key))} "key{number}";' for number, key in enumerate(keys, 1)
    ]
    return "\n".join(lines) + "\n"


def read_api_keys(path: Path) -> list[str]:
    """The keys in ``path``: one a line; blank lines and lines starting with '#' are skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ServerSetupError(f"cannot read the API key file {path}: {error.__class__.__name__}") from None
    keys = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            keys.append(check_api_key(line))
        except ServerSetupError as error:
            raise ServerSetupError(f"{path}, line {number}: {error}") from None
    if not keys:
        raise ServerSetupError(f"{path} holds no API key (one a line; '#' starts a comment)")
    return keys


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

    def __init__(
        self,
        config: ProxyConfig,
        nginx: str,
        admin_token: str,
        api_key_file: Path | None = None,
    ) -> None:
        """``api_key_file``: inference needs one of its keys (re-read by ``reload``); None: no keys."""
        self.config = config
        self.nginx = nginx
        self.process: subprocess.Popen[bytes] | None = None
        self._admin_token = admin_token
        self.api_key_file = api_key_file
        self.api_keys = 0  # how many keys the running nginx knows

    def write_maps(self) -> None:
        """The admin token's and the API keys' map files (private: the prefix is 0700/0711)."""
        keys = read_api_keys(self.api_key_file) if self.api_key_file is not None else None
        write_atomically(self.config.admin_token_map_path, admin_token_map(self._admin_token), mode=0o600)
        write_atomically(self.config.api_keys_map_path, api_keys_map(keys), mode=0o600)
        self.api_keys = len(keys or [])

    def reload(self) -> None:
        """Re-read the API key file and have nginx take the new keys (SIGHUP: a graceful reload)."""
        self.write_maps()
        if self.process is not None and self.process.poll() is None:  # else start() reads them
            self.process.send_signal(signal.SIGHUP)

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
        try:
            self.write_maps()
        except ServerSetupError as error:
            maps = (self.config.admin_token_map_path, self.config.api_keys_map_path)
            if not all(path.exists() for path in maps):
                raise
            # A restart after the key file broke: the keys in force stay in force.
            print(f"warning: keeping the API keys in force: {error}", file=sys.stderr, flush=True)
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


# The same edge in production (docker/), on 8443 (HTTPS) and 8444 (gRPC over TLS).
# `python -m densenet_serve.proxy compose|kubernetes` writes these files; tests/deploy checks that the
# committed ones are exactly that. Kubernetes mounts the maps as secrets (written by `... maps`);
# compose's one-shot `edge` service writes them at each `up` (`... edge`, see prepare_edge).
MAP_FILES = ("admin-token.map", "api-keys.map")
COMPOSE_EDGE = Path("/etc/nginx/edge")  # the edge volume, written by compose's one-shot `edge`
DEPLOYMENTS = {
    # A container of its own on the compose network (docker/Dockerfile target proxy: Debian's
    # nginx); the root master names Debian's `www-data` for its workers.
    "compose": ProxyConfig(
        host="0.0.0.0", https_port=8443, grpc_port=8444, triton_host="triton",
        triton_http_port=8000, triton_grpc_port=8001,
        certificate=COMPOSE_EDGE / "tls.crt", private_key=COMPOSE_EDGE / "tls.key",
        prefix=Path("/tmp"), workers="auto", worker_user="www-data www-data",
        admin_token_map=COMPOSE_EDGE / MAP_FILES[0], api_keys_map=COMPOSE_EDGE / MAP_FILES[1],
    ),
    # A sidecar in the Triton pod (Triton on the pod's loopback), running as the pod's user.
    "kubernetes": ProxyConfig(
        host="0.0.0.0", https_port=8443, grpc_port=8444,
        triton_http_port=8000, triton_grpc_port=8001,
        certificate=Path("/etc/nginx/tls/tls.crt"), private_key=Path("/etc/nginx/tls/tls.key"),
        prefix=Path("/tmp"), workers="auto",
        admin_token_map=Path("/etc/nginx/edge/admin-token.map"),
        api_keys_map=Path("/etc/nginx/edge/api-keys.map"),
    ),
}  # fmt: skip


def write_map_files(directory: Path, admin_token: str, api_key_file: Path | None) -> list[Path]:
    """The two map files of a deployment's edge (its secrets), from the token and the key file."""
    keys = read_api_keys(api_key_file) if api_key_file is not None else None
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = []
    for name, text in zip(MAP_FILES, (admin_token_map(admin_token), api_keys_map(keys)), strict=True):
        write_atomically(directory / name, text, mode=0o600)
        written.append(directory / name)
    return written


def prepare_edge(secrets: Path, edge: Path, token_file: Path) -> list[str]:
    """Compose's one-shot ``edge`` service: the certificate and maps nginx.conf names, in ``edge``.

    The user's certificate (secrets ``tls_certificate`` and ``tls_key``, non-empty) wins; else a
    self-signed one is made once in ``edge``/self-signed and reused. The admin token's map comes
    from secret ``triton_admin_token``, which is also copied to ``token_file`` for Triton (a
    read-only container cannot receive compose's environment secrets itself); the API keys' map
    from secret ``edge_api_keys`` (one key a line; empty: keys off). Returns what it did, in words.
    """
    try:
        token = check_admin_token((secrets / "triton_admin_token").read_text().strip())
    except OSError:
        raise ServerSetupError("no admin token (secret triton_admin_token): set TRITON_ADMIN_TOKEN") from None
    certificate, key = secrets / "tls_certificate", secrets / "tls_key"
    given = [path.is_file() and path.stat().st_size > 0 for path in (certificate, key)]
    if given == [True, True]:
        said = "the given TLS certificate (TLS_CERTIFICATE, TLS_KEY)"
    elif any(given):
        raise ServerSetupError(
            "give both the TLS certificate and its key (TLS_CERTIFICATE and TLS_KEY), or neither"
        )
    else:
        certificate, key = self_signed(edge / "self-signed", "")
        said = f"a self-signed certificate, SHA-256 {fingerprint(certificate)}"
    edge.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name, source in (("tls.crt", certificate), ("tls.key", key)):
        write_atomically(edge / name, source.read_text(), mode=0o600)
    keys = secrets / "edge_api_keys"
    with_keys = keys.is_file() and keys.stat().st_size > 0
    write_map_files(edge, token, keys if with_keys else None)
    write_atomically(token_file, token + "\n", mode=0o600)
    return [said, "client API keys: " + ("from EDGE_API_KEY_FILE" if with_keys else "off")]


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m densenet_serve.proxy",
        description="The production edge's files: its nginx.conf (compose|kubernetes, to standard "
        "output), or its secrets (maps DIR: admin-token.map from $TRITON_ADMIN_TOKEN, api-keys.map "
        "from --api-key-file, keys off without it), or compose's edge (edge DIR --token-file FILE).",
    )
    parser.add_argument("what", choices=[*DEPLOYMENTS, "maps", "edge"])
    parser.add_argument("directory", nargs="?", type=Path, help="maps: where to write them")
    parser.add_argument("--api-key-file", type=Path, help="maps: the client keys, one a line")
    parser.add_argument("--secrets", type=Path, default=Path("/run/secrets"), help="edge: the secrets")
    parser.add_argument("--token-file", type=Path, help="edge: where Triton's copy of the admin token goes")
    args = parser.parse_args(argv)
    if args.what == "edge":
        if args.directory is None or args.token_file is None:
            parser.error("edge needs the directory and --token-file")
        try:
            for line in prepare_edge(args.secrets, args.directory, args.token_file):
                print(f"densenet-edge: {line}", flush=True)
        except ServerSetupError as error:
            print(f"densenet-edge: error: {error}", file=sys.stderr)
            return 2
        return 0
    if args.what != "maps":
        sys.stdout.write(nginx_config(DEPLOYMENTS[args.what]))
        return 0
    if args.directory is None:
        parser.error("maps needs the directory to write them to")
    token = os.environ.get("TRITON_ADMIN_TOKEN", "")
    try:
        if not token:
            raise ServerSetupError("set TRITON_ADMIN_TOKEN (the same token tritonserver gets)")
        for path in write_map_files(args.directory, token, args.api_key_file):
            print(f"wrote {path}")
    except ServerSetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
