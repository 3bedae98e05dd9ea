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
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path

from densenet_contract.cli import EXIT_FAILED, EXIT_OK, EXIT_UNUSABLE
from densenet_contract.names import DENSENET, PREPROCESS
from densenet_contract.parameters import config_parameters

from .banner import ready_banner
from .edge.config import ProxyConfig
from .edge.nginx import NginxProxy, find_nginx, private_prefix, unprivileged_workers
from .errors import ServeError, ServerSetupError
from .options import Options
from .preprocessing_check import preprocessing_problems
from .server import ServerOptions, TritonServer
from .supervisor import supervise
from .tls import self_signed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="densenet-serve", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    Options.add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        options = Options.from_args(args)
        options.check()
        nginx = find_nginx(options.network.nginx) if options.network_mode else None
        server = TritonServer(options.server_options())
    except ServeError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    # SIGTERM behaves like Ctrl-C: both unwind to the clean stop in serve(), whatever the phase.
    # SIGINT is set explicitly too: a shell starts background jobs with it ignored.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return serve(options, server, nginx)


def serve(options: Options, server: TritonServer, nginx: str | None) -> int:
    """Start the server (and its edge when ``nginx`` is given), supervise it, stop it cleanly."""
    proxy: NginxProxy | None = None
    started = time.monotonic()
    with contextlib.ExitStack() as cleanup:
        try:
            if nginx is not None:
                config = _proxy_config(options, server.options, cleanup.enter_context(private_prefix()))
                proxy = NginxProxy(config, nginx, server.options.admin_token, options.network.api_key_file)
            record = _start(options, server, proxy)
            print(f"all models READY in {time.monotonic() - started:.1f}s", flush=True)
            print(ready_banner(server, record, proxy), flush=True)
            code = supervise(server, options.watchdog, options.ready_timeout_s, proxy)
            print(f"error: tritonserver exited with code {code}", file=sys.stderr)
            return code or EXIT_FAILED
        except KeyboardInterrupt:
            print("\nstopping tritonserver (in-flight requests finish first)...", file=sys.stderr, flush=True)
            if proxy is not None:
                proxy.stop()  # stops listening, lets its requests in flight finish
            code = server.stop()
            print(f"stopped (exit code {code})", file=sys.stderr, flush=True)
            return EXIT_OK
        except ServeError as error:
            print(f"error: {error}", file=sys.stderr, flush=True)
            return EXIT_FAILED
        finally:
            if proxy is not None:
                proxy.stop()
            server.stop()


def _start(options: Options, server: TritonServer, proxy: NginxProxy | None) -> dict[str, str]:
    """Every model READY, then the public ports open; densenet's config parameters (what it serves)."""
    server.start()
    server.wait_ready(options.ready_timeout_s)
    if proxy is not None:  # the public ports open only once every model is READY
        proxy.start()
        proxy.wait_listening()
        _reload_on_sighup(proxy)
    densenet = _check_preprocessing(server, options.allow_preprocessing_mismatch)
    return config_parameters(densenet)


def _certificate(options: Options) -> tuple[Path, Path]:
    network = options.network
    if (network.tls_cert is None) != (network.tls_key is None):
        raise ServerSetupError("--tls-cert and --tls-key go together")
    if network.tls_cert is not None and network.tls_key is not None:
        for path in (network.tls_cert, network.tls_key):
            if not path.is_file():
                raise ServerSetupError(f"{path} does not exist")
        return network.tls_cert.resolve(), network.tls_key.resolve()
    return self_signed(network.tls_dir, options.host)


def _proxy_config(options: Options, server: ServerOptions, prefix: Path) -> ProxyConfig:
    from densenet_contract.cpus import usable_cpus

    certificate, key = _certificate(options)
    return ProxyConfig(
        host=options.host,  # where nginx listens, with what certificate
        https_port=options.http_port,
        grpc_port=options.grpc_port,
        certificate=certificate,
        private_key=key,
        triton_http_port=server.http_port,  # where it forwards
        triton_grpc_port=server.grpc_port,
        prefix=prefix,  # its files and workers
        access_log=options.network.access_log,
        workers=min(usable_cpus(), 4),
        worker_user=unprivileged_workers(),
        **asdict(options.network.limits),
    )


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
    densenet = server.model_config(DENSENET)
    problems = preprocessing_problems(densenet, server.model_config(PREPROCESS))
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


if __name__ == "__main__":
    sys.exit(main())
