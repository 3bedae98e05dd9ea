"""The launcher's settings: its flags and environment variables, read in one place.

Each group of ``densenet-serve`` flags is a frozen dataclass with the arguments it adds
(``add_arguments``) and the one constructor that reads them, falling back to the environment
(``from_args(args, environ)``): a flag wins, then its variable, then the default.

========================  ========================  =====================================================
flag                      variable                  default
========================  ========================  =====================================================
``--http-port``           ``HTTP_PORT``             8000
``--grpc-port``           ``GRPC_PORT``             8001
``--metrics-port``        ``METRICS_PORT``          8002
``--host``                ``TRITON_HOST``           127.0.0.1
``--admin-token``         ``TRITON_ADMIN_TOKEN``    none: the restricted APIs stay closed
``--api-key-file``        ``DENSENET_API_KEY_FILE`` none: no keys
``--tls-dir``             ``XDG_CACHE_HOME``        ``$XDG_CACHE_HOME/densenet-serve/tls`` (``~/.cache``)
``--nginx``               ``NGINX``                 nginx on PATH (read by :func:`~.proxy.find_nginx`)
========================  ========================  =====================================================
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .core import WATCHDOG_FAILURES, WATCHDOG_INTERVAL_S
from .edge.config import CONNECTION_LIMIT, RATE_LIMIT_BURST, RATE_LIMIT_PER_S, is_loopback
from .edge.keys import read_api_keys
from .errors import ServerSetupError
from .ports import free_port
from .server import ServerOptions

PORTS = {
    "http_port": ("HTTP_PORT", 8000),
    "grpc_port": ("GRPC_PORT", 8001),
    "metrics_port": ("METRICS_PORT", 8002),
}
LOOPBACK = "127.0.0.1"
_LIMIT_FLAGS = {
    "rate_limit_per_s": "--rate-limit",
    "rate_limit_burst": "--rate-burst",
    "connection_limit": "--connection-limit",
}


def environment_port(environ: Mapping[str, str], name: str, default: int) -> int:
    """The port in ``environ[name]`` (unset or empty: ``default``); a bad one stops the launcher."""
    value = environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise ServerSetupError(f"{name}={value!r} is not a port number") from None


def default_tls_dir(environ: Mapping[str, str]) -> Path:
    """Where a self-signed certificate is kept: ``$XDG_CACHE_HOME/densenet-serve/tls`` (else ``~/.cache``)."""
    return Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "densenet-serve" / "tls"


@dataclass(frozen=True)
class WatchdogOptions:
    """How often the launcher runs a health inference, and after how many failures it restarts."""

    interval_s: float = WATCHDOG_INTERVAL_S  # 0: off
    failures: int = WATCHDOG_FAILURES

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("watchdog")
        group.add_argument(
            "--watchdog-interval",
            type=float,
            default=WATCHDOG_INTERVAL_S,
            help="seconds between health inferences (default %(default)g; 0 disables the watchdog)",
        )
        group.add_argument(
            "--watchdog-failures",
            type=int,
            default=WATCHDOG_FAILURES,
            help="failed checks in a row before a restart (default %(default)d)",
        )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> WatchdogOptions:
        return cls(interval_s=args.watchdog_interval, failures=args.watchdog_failures)


@dataclass(frozen=True)
class Limits:
    """The edge's per-client limits (a client: its address and API key); 0 turns one off."""

    rate_limit_per_s: int = RATE_LIMIT_PER_S
    rate_limit_burst: int = RATE_LIMIT_BURST
    connection_limit: int = CONNECTION_LIMIT

    def check(self) -> None:
        for name, value in vars(self).items():
            if value < 0:
                raise ServerSetupError(f"{_LIMIT_FLAGS[name]} must be >= 0")


@dataclass(frozen=True)
class NetworkOptions:
    """Network mode (a ``--host`` beyond loopback): nginx, its certificate, API keys and limits."""

    tls_dir: Path
    nginx: str | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    access_log: str = "/dev/stdout"
    internal_http_port: int = 0  # 0: a free one
    internal_grpc_port: int = 0
    api_key_file: Path | None = None
    limits: Limits = Limits()

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group("network mode (a --host beyond loopback)")
        group.add_argument("--nginx", default=None, help="the nginx executable (default: $NGINX, else PATH)")
        group.add_argument(
            "--tls-cert", type=Path, default=None, help="certificate (PEM) of the HTTPS/gRPC ports"
        )
        group.add_argument("--tls-key", type=Path, default=None, help="its private key (PEM)")
        group.add_argument(
            "--tls-dir",
            type=Path,
            help="where a self-signed certificate is made once and kept "
            "(default $XDG_CACHE_HOME/densenet-serve/tls, else ~/.cache/densenet-serve/tls)",
        )
        group.add_argument(
            "--access-log", default="/dev/stdout", help="nginx's access log file (default: standard output)"
        )
        for protocol in ("HTTP", "gRPC"):
            group.add_argument(
                f"--internal-{protocol.lower()}-port",
                type=int,
                default=0,
                help=f"tritonserver's {protocol} port on 127.0.0.1 (default: a free one)",
            )
        group.add_argument(
            "--api-key-file",
            type=Path,
            help="inference needs header 'Authorization: Bearer KEY' with a key of this file (one a line, "
            "'#' comments; SIGHUP rereads it); default $DENSENET_API_KEY_FILE, unset: no keys",
        )
        group.add_argument(
            "--rate-limit",
            type=int,
            default=RATE_LIMIT_PER_S,
            help="requests per second per client (address and key) before 429; 0: off (default %(default)s)",
        )
        group.add_argument(
            "--rate-burst",
            type=int,
            default=RATE_LIMIT_BURST,
            help="requests a client may send at once above the rate (default %(default)s)",
        )
        group.add_argument(
            "--connection-limit",
            type=int,
            default=CONNECTION_LIMIT,
            help="requests in progress at a time per client before 429; 0: off (default %(default)s)",
        )

    @classmethod
    def from_args(cls, args: argparse.Namespace, environ: Mapping[str, str]) -> NetworkOptions:
        key_file = args.api_key_file or environ.get("DENSENET_API_KEY_FILE") or None
        return cls(
            tls_dir=args.tls_dir or default_tls_dir(environ),
            nginx=args.nginx,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            access_log=args.access_log,
            internal_http_port=args.internal_http_port,
            internal_grpc_port=args.internal_grpc_port,
            api_key_file=Path(key_file) if key_file is not None else None,
            limits=Limits(args.rate_limit, args.rate_burst, args.connection_limit),
        )


@dataclass(frozen=True)
class Options:
    """Everything ``densenet-serve`` was asked for; built once, by :meth:`from_args`."""

    model_repository: Path
    network: NetworkOptions
    http_port: int = 8000
    grpc_port: int = 8001
    metrics_port: int = 8002
    host: str = LOOPBACK
    model_config_name: str | None = "cpu"  # None: the TensorRT config.pbtxt
    ready_timeout_s: float = 300.0
    admin_token: str | None = None  # None: the restricted APIs stay closed
    allow_preprocessing_mismatch: bool = False
    watchdog: WatchdogOptions = WatchdogOptions()
    log_verbose: int = 0
    extra_args: tuple[str, ...] = ()

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        """Every flag of ``densenet-serve``, in groups."""
        group = parser.add_argument_group("server")
        group.add_argument("--model-repository", type=Path, default=Path("model_repository"))
        for field, (variable, default) in PORTS.items():
            group.add_argument(
                "--" + field.replace("_", "-"), type=int, help=f"(default ${variable}, else {default})"
            )
        group.add_argument(
            "--host",
            help="address to listen on (default $TRITON_HOST, else 127.0.0.1; 0.0.0.0 exposes the server "
            "to the network)",
        )
        group.add_argument(
            "--model-config-name",
            default="cpu",
            help="config variant under configs/ (default cpu; '' for the TensorRT config.pbtxt)",
        )
        group.add_argument("--ready-timeout", type=float, default=300.0, help="seconds to wait for READY")
        group.add_argument(
            "--admin-token",
            help="token for the restricted APIs (default: $TRITON_ADMIN_TOKEN; unset keeps them closed)",
        )
        group.add_argument(
            "--allow-preprocessing-mismatch",
            action="store_true",
            help="serve even when the preprocess config is not what the densenet weights were trained with",
        )
        group.add_argument("--log-verbose", type=int, default=0)
        WatchdogOptions.add_arguments(parser)
        NetworkOptions.add_arguments(parser)
        parser.add_argument("extra", nargs="*", help="further tritonserver flags, after --")

    @classmethod
    def from_args(cls, args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Options:
        """The options of parsed ``args``; what they leave unset comes from ``environ`` (default os.environ).

        Raises ``SystemExit`` naming the variable when a port variable is not a number.
        """
        environ = os.environ if environ is None else environ
        ports = {
            field: getattr(args, field)
            if getattr(args, field) is not None
            else environment_port(environ, *env)
            for field, env in PORTS.items()
        }
        return cls(
            model_repository=args.model_repository,
            network=NetworkOptions.from_args(args, environ),
            host=args.host if args.host is not None else environ.get("TRITON_HOST", LOOPBACK),
            model_config_name=args.model_config_name or None,
            ready_timeout_s=args.ready_timeout,
            admin_token=args.admin_token or environ.get("TRITON_ADMIN_TOKEN") or None,
            allow_preprocessing_mismatch=args.allow_preprocessing_mismatch,
            watchdog=WatchdogOptions.from_args(args),
            log_verbose=args.log_verbose,
            extra_args=tuple(args.extra),
            **ports,
        )

    @property
    def network_mode(self) -> bool:
        """Whether nginx fronts tritonserver: ``host`` reaches beyond this machine."""
        return not is_loopback(self.host)

    def check(self) -> None:
        """Refuse, before anything starts, limits below 0 and an API key file that is unusable here."""
        self.network.limits.check()
        key_file = self.network.api_key_file
        if key_file is not None:
            if not self.network_mode:
                raise ServerSetupError(
                    "API keys are checked by the edge (nginx), which runs in network mode only: "
                    "pass --host 0.0.0.0 (or another address beyond loopback)"
                )
            read_api_keys(key_file)  # a bad file stops the start, saying which line

    def server_options(self) -> ServerOptions:
        """What tritonserver gets: in network mode it stays on loopback, on internal ports."""
        network = self.network_mode
        token = {"admin_token": self.admin_token} if self.admin_token else {}
        return ServerOptions(
            model_repository=self.model_repository.resolve(),
            http_port=(self.network.internal_http_port or free_port()) if network else self.http_port,
            grpc_port=(self.network.internal_grpc_port or free_port()) if network else self.grpc_port,
            metrics_port=self.metrics_port,
            host=LOOPBACK if network else self.host,
            model_config_name=self.model_config_name,
            log_verbose=self.log_verbose,
            extra_args=self.extra_args,
            **token,
        )
