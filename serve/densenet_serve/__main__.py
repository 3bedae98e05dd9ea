"""``densenet-serve``: run the DenseNet ensemble on the real Triton server, CPU config by default.

Ports come from --http-port/--grpc-port/--metrics-port, else HTTP_PORT/GRPC_PORT/METRICS_PORT,
else 8000/8001/8002. The server listens on 127.0.0.1 unless --host (or TRITON_HOST) says otherwise.
Ctrl-C or SIGTERM stops it cleanly: in-flight requests finish, no process is left behind.

A watchdog runs a real inference through densenet_ensemble every --watchdog-interval seconds and
restarts tritonserver after --watchdog-failures failed checks in a row (e.g. a crashed python
stub, which Triton itself still reports as READY), or when the server exits on its own.
The model-repository, shared-memory, statistics, trace and logging APIs need the header
`admin-token: $TRITON_ADMIN_TOKEN`; without that variable (or --admin-token) they stay closed.

Network mode (a --host beyond loopback, e.g. 0.0.0.0): tritonserver stays on 127.0.0.1 (internal
ports) and nginx listens on --host: HTTPS on the HTTP port, gRPC over TLS on the gRPC port, with
body and header limits, slow-client timeouts and no compressed or large-JSON bodies
(docs/operating.md, "Exposing the server"). Metrics stay on 127.0.0.1. The certificate is
--tls-cert/--tls-key, else a self-signed one kept in --tls-dir. If nginx or tritonserver dies,
the launcher restarts it. Only inference, health, metadata and config pass the edge; the admin
APIs only with the admin token. --api-key-file (or $DENSENET_API_KEY_FILE) makes inference
require "Authorization: Bearer KEY" with one of the file's keys (one a line); SIGHUP rereads the
file. Each client (address and key) is held to --rate-limit requests/s and --connection-limit
requests in progress (429 beyond).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from .core import WATCHDOG_FAILURES, WATCHDOG_INTERVAL_S, Watchdog, first_exit
from .errors import ServeError, ServerSetupError
from .ports import free_port
from .proxy import (
    CONNECTION_LIMIT,
    RATE_LIMIT_BURST,
    RATE_LIMIT_PER_S,
    NginxProxy,
    ProxyConfig,
    find_nginx,
    is_loopback,
    private_prefix,
    read_api_keys,
    unprivileged_workers,
)
from .server import ServerOptions, TritonServer
from .tls import fingerprint, self_signed
from .weights_check import preprocessing_problems

_MAX_RESTARTS = 5
_RESTART_WINDOW_S = 600


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise SystemExit(f"error: {name}={value!r} is not a port number") from None


def _default_tls_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "densenet-serve" / "tls"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="densenet-serve", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-repository", type=Path, default=Path("model_repository"))
    parser.add_argument("--http-port", type=int, default=_env_int("HTTP_PORT", 8000))
    parser.add_argument("--grpc-port", type=int, default=_env_int("GRPC_PORT", 8001))
    parser.add_argument("--metrics-port", type=int, default=_env_int("METRICS_PORT", 8002))
    parser.add_argument(
        "--host",
        default=os.environ.get("TRITON_HOST", "127.0.0.1"),
        help="address to listen on (default 127.0.0.1; 0.0.0.0 exposes the server to the network)",
    )
    parser.add_argument(
        "--model-config-name",
        default="cpu",
        help="config variant under configs/ (default cpu; '' for the TensorRT config.pbtxt)",
    )
    parser.add_argument("--ready-timeout", type=float, default=300.0, help="seconds to wait for READY")
    parser.add_argument(
        "--admin-token",
        default=os.environ.get("TRITON_ADMIN_TOKEN") or None,
        help="token for the restricted APIs (default: $TRITON_ADMIN_TOKEN; unset keeps them closed)",
    )
    parser.add_argument(
        "--watchdog-interval",
        type=float,
        default=WATCHDOG_INTERVAL_S,
        help="seconds between health inferences (default %(default)g; 0 disables the watchdog)",
    )
    parser.add_argument(
        "--watchdog-failures",
        type=int,
        default=WATCHDOG_FAILURES,
        help="failed checks in a row before a restart (default %(default)d)",
    )
    parser.add_argument(
        "--allow-preprocessing-mismatch",
        action="store_true",
        help="serve even when the preprocess config is not what the densenet weights were trained with",
    )
    network = parser.add_argument_group("network mode (a --host beyond loopback)")
    network.add_argument("--nginx", default=None, help="the nginx executable (default: $NGINX, else PATH)")
    network.add_argument(
        "--tls-cert", type=Path, default=None, help="certificate (PEM) of the HTTPS/gRPC ports"
    )
    network.add_argument("--tls-key", type=Path, default=None, help="its private key (PEM)")
    network.add_argument(
        "--tls-dir",
        type=Path,
        default=_default_tls_dir(),
        help="where a self-signed certificate is made once and kept (default %(default)s)",
    )
    network.add_argument(
        "--access-log", default="/dev/stdout", help="nginx's access log file (default: standard output)"
    )
    network.add_argument(
        "--internal-http-port",
        type=int,
        default=0,
        help="tritonserver's HTTP port on 127.0.0.1 (default: a free one)",
    )
    network.add_argument(
        "--internal-grpc-port",
        type=int,
        default=0,
        help="tritonserver's gRPC port on 127.0.0.1 (default: a free one)",
    )
    network.add_argument(
        "--api-key-file",
        type=Path,
        default=os.environ.get("DENSENET_API_KEY_FILE") or None,
        help="inference needs header 'Authorization: Bearer KEY' with a key of this file (one a line, "
        "'#' comments; SIGHUP rereads it); default $DENSENET_API_KEY_FILE, unset: no keys",
    )
    network.add_argument(
        "--rate-limit",
        type=int,
        default=RATE_LIMIT_PER_S,
        help="requests per second per client (address and key) before 429; 0: off (default %(default)s)",
    )
    network.add_argument(
        "--rate-burst",
        type=int,
        default=RATE_LIMIT_BURST,
        help="requests a client may send at once above the rate (default %(default)s)",
    )
    network.add_argument(
        "--connection-limit",
        type=int,
        default=CONNECTION_LIMIT,
        help="requests in progress at a time per client before 429; 0: off (default %(default)s)",
    )
    parser.add_argument("--log-verbose", type=int, default=0)
    parser.add_argument("extra", nargs="*", help="further tritonserver flags, after --")
    return parser


def _usage(server: TritonServer, weights: str, proxy: NginxProxy | None = None) -> str:
    url = server.http_url
    metrics = f"{url.rsplit(':', 1)[0]}:{server.options.metrics_port}/metrics"
    grpc = f"{server.options.host}:{server.options.grpc_port}"
    if proxy is None:
        endpoints = f"HTTP    {url}    gRPC {grpc}    metrics {metrics}"
        curl = "curl"
    else:
        config = proxy.config
        url = f"https://{config.probe_host}:{config.https_port}"
        endpoints = "\n  ".join(
            [
                f"HTTPS   https://{config.host}:{config.https_port}    "
                f"gRPC (TLS) {config.host}:{config.grpc_port}    through nginx",
                f"tritonserver on loopback only: HTTP {server.http_url}    gRPC {grpc}    metrics {metrics}",
                f"TLS certificate {config.certificate}",
                f"    SHA-256 fingerprint {fingerprint(config.certificate)}",
                f"API keys: {_keys(proxy)}",
                f"limits: {config.limits()}",
            ]
        )
        curl = f"curl --cacert {config.certificate}"
    if proxy is not None and proxy.api_key_file is not None:
        curl += ' -H "Authorization: Bearer $KEY"'
    call = f'{curl} --data-binary @cat.jpg -H "Inference-Header-Content-Length: 0" {url}'
    admin = "Statistics, repository, shared-memory, trace, logging APIs"
    if proxy is not None:
        admin = "Statistics, repository, trace, logging APIs (shared memory: never over the network)"
    return f"""
densenet_ensemble is READY ({weights})
  {endpoints}

  {call}/v2/models/densenet_ensemble/infer

  {admin}: header admin-token: $TRITON_ADMIN_TOKEN

Press Ctrl-C to stop.
"""


def _keys(proxy: NginxProxy) -> str:
    if proxy.api_key_file is None:
        return "off (anyone who reaches the port may classify; --api-key-file turns them on)"
    return (
        f"ON, {proxy.api_keys} from {proxy.api_key_file} (header Authorization: Bearer KEY; "
        "kill -HUP this launcher after editing the file)"
    )


def supervise(
    server: TritonServer,
    interval: float,
    failures: int,
    ready_timeout: float,
    proxy: NginxProxy | None = None,
) -> int:
    """Watch the running server (and its proxy); restart whichever dies, and the server after
    ``failures`` failed health checks in a row.

    Returns only if the watchdog is off and the server exits (its exit code).
    """
    watchdog = Watchdog(server.http_url, failures, lambda line: print(f"watchdog: {line}", file=sys.stderr))
    restarts: list[float] = []
    while True:
        assert server.process is not None
        processes = {"tritonserver": server.process}
        if proxy is not None:
            assert proxy.process is not None
            processes["nginx"] = proxy.process
        exited = first_exit(processes, interval if interval > 0 else None)
        if exited is None:
            if not watchdog.due():
                continue
            reason, restart = "health checks failed", "tritonserver"
        else:
            restart, code = exited
            if interval <= 0 and restart == "tritonserver":
                return code
            reason = f"{restart} exited with code {code}"
        now = time.monotonic()
        restarts = [t for t in restarts if now - t < _RESTART_WINDOW_S] + [now]
        if len(restarts) > _MAX_RESTARTS:
            raise ServeError(
                f"{reason}; {_MAX_RESTARTS} restarts in {_RESTART_WINDOW_S // 60} minutes, giving up"
            )
        print(f"watchdog: {reason}; restarting {restart}", file=sys.stderr, flush=True)
        if restart == "nginx":
            assert proxy is not None
            proxy.stop()
            proxy.start()
            proxy.wait_listening()
            print("watchdog: nginx listening again", file=sys.stderr, flush=True)
            continue
        server.stop()
        server.start()
        server.wait_ready(ready_timeout)
        print("watchdog: all models READY again", file=sys.stderr, flush=True)
        watchdog.reset()


def _certificate(args: argparse.Namespace) -> tuple[Path, Path]:
    if (args.tls_cert is None) != (args.tls_key is None):
        raise ServerSetupError("--tls-cert and --tls-key go together")
    if args.tls_cert is not None:
        for path in (args.tls_cert, args.tls_key):
            if not path.is_file():
                raise ServerSetupError(f"{path} does not exist")
        return args.tls_cert.resolve(), args.tls_key.resolve()
    return self_signed(args.tls_dir, args.host)


def _proxy_config(args: argparse.Namespace, options: ServerOptions, prefix: Path) -> ProxyConfig:
    from densenet_contract.cpus import usable_cpus

    certificate, key = _certificate(args)
    return ProxyConfig(
        host=args.host,
        https_port=args.http_port,
        grpc_port=args.grpc_port,
        triton_http_port=options.http_port,
        triton_grpc_port=options.grpc_port,
        certificate=certificate,
        private_key=key,
        prefix=prefix,
        access_log=args.access_log,
        workers=min(usable_cpus(), 4),
        worker_user=unprivileged_workers(),
        rate_limit_per_s=args.rate_limit,
        rate_limit_burst=args.rate_burst,
        connection_limit=args.connection_limit,
    )


def _check_network_arguments(args: argparse.Namespace, network: bool) -> None:
    for name in ("rate_limit", "rate_burst", "connection_limit"):
        if getattr(args, name) < 0:
            raise ServerSetupError(f"--{name.replace('_', '-')} must be >= 0")
    if args.api_key_file is not None:
        if not network:
            raise ServerSetupError(
                "API keys are checked by the edge (nginx), which runs in network mode only: "
                "pass --host 0.0.0.0 (or another address beyond loopback)"
            )
        read_api_keys(args.api_key_file)  # a bad file stops the start, saying which line


def _reload_on_sighup(proxy: NginxProxy) -> None:
    """SIGHUP: reread the API key file and reload nginx (a key file that fails to read keeps the old keys)."""

    def reload(_signum: int, _frame: object) -> None:
        try:
            proxy.reload()
        except ServeError as error:
            print(f"error: keys not reloaded: {error}", file=sys.stderr, flush=True)
            return
        print(f"API keys reloaded: {proxy.api_keys}", file=sys.stderr, flush=True)

    signal.signal(signal.SIGHUP, reload)


def _check_preprocessing(server: TritonServer, allow_mismatch: bool) -> dict:
    """densenet's live config, once its weights are known to get the preprocessing they were trained with."""
    densenet = server.model_config("densenet")
    problems = preprocessing_problems(densenet, server.model_config("preprocess"))
    if problems and not allow_mismatch:
        raise ServeError(
            "the preprocess model does not feed the densenet weights what they were trained with:\n  "
            + "\n  ".join(problems)
            + "\nrun `densenet-build model` (it sets the matching preset), edit "
            "model_repository/preprocess/config.pbtxt, or pass --allow-preprocessing-mismatch"
        )
    for problem in problems:
        print(f"warning: preprocessing mismatch allowed: {problem}", file=sys.stderr, flush=True)
    return densenet


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    token = {"admin_token": args.admin_token} if args.admin_token else {}
    network = not is_loopback(args.host)
    try:
        _check_network_arguments(args, network)
        nginx = find_nginx(args.nginx) if network else None
        options = ServerOptions(
            model_repository=args.model_repository.resolve(),
            http_port=(args.internal_http_port or free_port()) if network else args.http_port,
            grpc_port=(args.internal_grpc_port or free_port()) if network else args.grpc_port,
            metrics_port=args.metrics_port,
            host="127.0.0.1" if network else args.host,
            model_config_name=args.model_config_name or None,
            log_verbose=args.log_verbose,
            extra_args=tuple(args.extra),
            **token,
        )
    except ServeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    # SIGTERM behaves like Ctrl-C: both unwind to the clean stop below, whatever the phase.
    # SIGINT is set explicitly too: a shell starts background jobs with it ignored.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    server = TritonServer(options)
    proxy: NginxProxy | None = None
    started = time.monotonic()
    with contextlib.ExitStack() as cleanup:
        try:
            if nginx is not None:
                proxy = NginxProxy(
                    _proxy_config(args, options, cleanup.enter_context(private_prefix())),
                    nginx,
                    options.admin_token,
                    args.api_key_file,
                )
                cleanup.callback(proxy.stop)
            server.start()
            server.wait_ready(args.ready_timeout)
            if proxy is not None:  # the public ports open only once every model is READY
                proxy.start()
                proxy.wait_listening()
                _reload_on_sighup(proxy)
            densenet = _check_preprocessing(server, args.allow_preprocessing_mismatch)
            weights = densenet.get("parameters", {}).get("weights", {})
            print(f"all models READY in {time.monotonic() - started:.1f}s", flush=True)
            print(_usage(server, weights.get("string_value", "TensorRT plan"), proxy), flush=True)
            code = supervise(
                server, args.watchdog_interval, args.watchdog_failures, args.ready_timeout, proxy
            )
            print(f"error: tritonserver exited with code {code}", file=sys.stderr)
            return code or 1
        except KeyboardInterrupt:
            print("\nstopping tritonserver (in-flight requests finish first)...", file=sys.stderr, flush=True)
            if proxy is not None:
                proxy.stop()  # stops listening, lets its requests in flight finish
            code = server.stop()
            print(f"stopped (exit code {code})", file=sys.stderr, flush=True)
            return 0
        except ServeError as error:
            print(f"error: {error}", file=sys.stderr, flush=True)
            return 1
        finally:
            if proxy is not None:
                proxy.stop()
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
