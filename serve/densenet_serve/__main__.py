"""``densenet-serve``: run the DenseNet ensemble on the real Triton server, CPU config by default.

Ports come from --http-port/--grpc-port/--metrics-port, else HTTP_PORT/GRPC_PORT/METRICS_PORT,
else 8000/8001/8002. The server listens on 127.0.0.1 unless --host (or TRITON_HOST) says otherwise.
Ctrl-C or SIGTERM stops it cleanly: in-flight requests finish, no process is left behind.

A watchdog runs a real inference through densenet_ensemble every --watchdog-interval seconds and
restarts tritonserver after --watchdog-failures failed checks in a row (e.g. a crashed python
stub, which Triton itself still reports as READY), or when the server exits on its own.
The model-repository, shared-memory, statistics, trace and logging APIs need the header
`admin-token: $TRITON_ADMIN_TOKEN`; without that variable (or --admin-token) they stay closed.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .errors import ServeError
from .health import check
from .server import ServerOptions, TritonServer
from .weights_check import preprocessing_problems

_MAX_RESTARTS = 5
_RESTART_WINDOW_S = 600


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise SystemExit(f"error: {name}={value!r} is not a port number") from None


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
        default=10.0,
        help="seconds between health inferences (default 10; 0 disables the watchdog)",
    )
    parser.add_argument(
        "--watchdog-failures", type=int, default=3, help="failed checks in a row before a restart (default 3)"
    )
    parser.add_argument(
        "--allow-preprocessing-mismatch",
        action="store_true",
        help="serve even when the preprocess config is not what the densenet weights were trained with",
    )
    parser.add_argument("--log-verbose", type=int, default=0)
    parser.add_argument("extra", nargs="*", help="further tritonserver flags, after --")
    return parser


def _usage(server: TritonServer, weights: str) -> str:
    url = server.http_url
    grpc = f"{server.options.host}:{server.options.grpc_port}"
    return f"""
densenet_ensemble is READY ({weights})
  HTTP    {url}    gRPC {grpc}    metrics {url.rsplit(":", 1)[0]}:{server.options.metrics_port}/metrics

  curl --data-binary @cat.jpg -H "Inference-Header-Content-Length: 0" {url}/v2/models/densenet_ensemble/infer

  Statistics, repository, shared-memory, trace, logging APIs: header admin-token: $TRITON_ADMIN_TOKEN

Press Ctrl-C to stop.
"""


def supervise(server: TritonServer, interval: float, failures: int, ready_timeout: float) -> int:
    """Watch the running server; restart it when it dies or fails ``failures`` health checks in a row.

    Returns only if the watchdog is off and the server exits (its exit code).
    """
    failed = 0
    restarts: list[float] = []
    while True:
        assert server.process is not None
        try:
            code = server.process.wait(timeout=interval if interval > 0 else None)
        except subprocess.TimeoutExpired:
            health = check(server.http_url)
            failed = 0 if health.healthy else failed + 1
            if not health.healthy:
                print(
                    f"watchdog: health check failed ({failed}/{failures}): {health.detail}", file=sys.stderr
                )
            if failed < failures:
                continue
            reason = "health checks failed"
        else:
            if interval <= 0:
                return code
            reason = f"tritonserver exited with code {code}"
        now = time.monotonic()
        restarts = [t for t in restarts if now - t < _RESTART_WINDOW_S] + [now]
        if len(restarts) > _MAX_RESTARTS:
            raise ServeError(
                f"{reason}; {_MAX_RESTARTS} restarts in {_RESTART_WINDOW_S // 60} minutes, giving up"
            )
        print(f"watchdog: {reason}; restarting tritonserver", file=sys.stderr, flush=True)
        server.stop()
        server.start()
        server.wait_ready(ready_timeout)
        print("watchdog: all models READY again", file=sys.stderr, flush=True)
        failed = 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    token = {"admin_token": args.admin_token} if args.admin_token else {}
    try:
        options = ServerOptions(
            model_repository=args.model_repository.resolve(),
            http_port=args.http_port,
            grpc_port=args.grpc_port,
            metrics_port=args.metrics_port,
            host=args.host,
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
    started = time.monotonic()
    try:
        server.start()
        server.wait_ready(args.ready_timeout)
        densenet = server.model_config("densenet")
        problems = preprocessing_problems(densenet, server.model_config("preprocess"))
        if problems and not args.allow_preprocessing_mismatch:
            raise ServeError(
                "the preprocess model does not feed the densenet weights what they were trained with:\n  "
                + "\n  ".join(problems)
                + "\nrun `densenet-build model` (it sets the matching preset), edit "
                "model_repository/preprocess/config.pbtxt, or pass --allow-preprocessing-mismatch"
            )
        for problem in problems:
            print(f"warning: preprocessing mismatch allowed: {problem}", file=sys.stderr, flush=True)
        weights = densenet.get("parameters", {}).get("weights", {})
        print(f"all models READY in {time.monotonic() - started:.1f}s", flush=True)
        print(_usage(server, weights.get("string_value", "TensorRT plan")), flush=True)
        code = supervise(server, args.watchdog_interval, args.watchdog_failures, args.ready_timeout)
        print(f"error: tritonserver exited with code {code}", file=sys.stderr)
        return code or 1
    except KeyboardInterrupt:
        print("\nstopping tritonserver (in-flight requests finish first)...", file=sys.stderr, flush=True)
        code = server.stop()
        print(f"stopped (exit code {code})", file=sys.stderr, flush=True)
        return 0
    except ServeError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
