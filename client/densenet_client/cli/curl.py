"""``densenet-client curl``: the exact ``curl`` command lines that classify one image, for a shell,
a script or a bug report.

Two forms, as in docs/calling.md: the raw binary request (the body is the image itself; the answer is
Triton's binary format) and binary-in/JSON-out (a JSON header before the image asks for JSON outputs
and may carry ``top_k``). Both are POSIX sh.
"""

from __future__ import annotations

import argparse
import json
import shlex
import urllib.parse
from pathlib import Path

from densenet_contract.cli import EXIT_OK, top_k
from densenet_contract.names import IMAGE

from ..endpoint import Endpoint, parse_endpoint
from ..errors import ConfigurationError
from .options import ConnectionOptions, Unusable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("image", type=Path)
    parser.add_argument("--top-k", type=top_k, metavar="N", help="for the JSON form (default: the server's)")
    parser.add_argument(
        "--form",
        choices=("both", "raw", "json"),
        default="both",
        help="raw: binary in and out; json: binary in, JSON out; both (default): each after a # comment",
    )
    ConnectionOptions.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    server = ConnectionOptions.from_args(args)
    endpoint = parse_endpoint(server.url, server.protocol)
    try:
        size = args.image.stat().st_size
    except OSError as error:
        raise Unusable(f"{args.image}: {error.strerror}") from None
    raw = raw_binary_command(args.image, endpoint, server.model)
    readable = json_output_command(args.image, size, endpoint, server.model, args.top_k)
    if args.form == "raw":
        print(raw)
    elif args.form == "json":
        print(readable)
    else:
        print("# raw binary in and out (the body is the image; the server's default top_k):")
        print(raw)
        print("# binary in, JSON out (readable):")
        print(readable)
    return EXIT_OK


def infer_url(endpoint: Endpoint, model: str) -> str:
    if endpoint.protocol != "http":
        raise ConfigurationError(
            f"curl speaks HTTP: give the server's HTTP URL (e.g. http://host:8000), not {endpoint.url}"
        )
    return f"{endpoint.url}/v2/models/{urllib.parse.quote(model, safe='')}/infer"


def raw_binary_command(image: Path, endpoint: Endpoint, model: str) -> str:
    """``curl --data-binary @IMAGE``: the shortest call; the server's default top_k."""
    return shlex.join(
        [
            "curl",
            "--data-binary",
            f"@{image}",
            "-H",
            "Inference-Header-Content-Length: 0",
            infer_url(endpoint, model),
        ]
    )


def json_header(size: int, top_k: int | None = None) -> str:
    """The KServe V2 JSON header announcing one binary IMAGE row of ``size`` bytes."""
    request: dict[str, object] = {
        "inputs": [
            {
                "name": IMAGE,
                "datatype": "UINT8",
                "shape": [1, size],
                "parameters": {"binary_data_size": size},
            }
        ]
    }
    if top_k is not None:
        request["parameters"] = {"top_k": top_k}
    return json.dumps(request, separators=(",", ":"))


def json_output_command(
    image: Path, size: int, endpoint: Endpoint, model: str, top_k: int | None = None
) -> str:
    """Header then image on stdin; ``Inference-Header-Content-Length`` tells where the header ends."""
    header = json_header(size, top_k)
    curl = shlex.join(
        [
            "curl",
            "-s",
            "--data-binary",
            "@-",
            "-H",
            f"Inference-Header-Content-Length: {len(header.encode())}",
            infer_url(endpoint, model),
        ]
    )
    return f"{{ printf %s {shlex.quote(header)}; cat {shlex.quote(str(image))}; }} | {curl}"
