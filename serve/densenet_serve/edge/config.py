"""nginx.conf for the edge, rendered from ``nginx.conf.template`` (pure: no process, no file written)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from ..core import ADMIN_HEADER, GRPC_ADMIN_HEADER
from ..server import MODELS

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
MiB = 1 << 20
# The preprocess model refuses images above its max_bytes (16 MiB); one such image plus its request's
# JSON header must pass, anything larger is refused by nginx before Triton reads a byte. A literal, not
# preprocess's value: the edge also runs in the proxy image, which has no numpy or Pillow
# (test_queues ties the two).
MAX_IMAGE_BYTES = 16 * MiB
MAX_BODY_BYTES = MAX_IMAGE_BYTES + MiB
# The JSON Triton parses: a binary request's header is a few hundred bytes. 16 KiB holds at most
# ~8,000 nested arrays; 30,000 were measured harmless and 50,000 crash tritonserver 2.51.
MAX_JSON_BYTES = 16 * 1024
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
