"""``densenet-serve``: run the DenseNet ensemble on the real Triton server, CPU config by default.

Ports come from --http-port/--grpc-port/--metrics-port, else HTTP_PORT/GRPC_PORT/METRICS_PORT,
else 8000/8001/8002. The server listens on 127.0.0.1 unless --host (or TRITON_HOST) says otherwise.
Ctrl-C or SIGTERM stops it cleanly: in-flight requests finish, no process is left behind.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from .errors import ServeError
from .server import ServerOptions, TritonServer


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

Press Ctrl-C to stop.
"""


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    options = ServerOptions(
        model_repository=args.model_repository.resolve(),
        http_port=args.http_port,
        grpc_port=args.grpc_port,
        metrics_port=args.metrics_port,
        host=args.host,
        model_config_name=args.model_config_name or None,
        log_verbose=args.log_verbose,
        extra_args=tuple(args.extra),
    )
    # SIGTERM behaves like Ctrl-C: both unwind to the clean stop below, whatever the phase.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    server = TritonServer(options)
    started = time.monotonic()
    try:
        server.start()
        server.wait_ready(args.ready_timeout)
        weights = server.model_config("densenet").get("parameters", {}).get("weights", {})
        print(f"all models READY in {time.monotonic() - started:.1f}s", flush=True)
        print(_usage(server, weights.get("string_value", "TensorRT plan")), flush=True)
        code = server.process.wait() if server.process else 1
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
