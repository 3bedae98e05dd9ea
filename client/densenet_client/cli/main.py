"""``densenet-client``: classify images, print the equivalent curl command, check the server.

  densenet-client classify photos/ cat.jpg --top-k 3          a table; --json for JSON lines
  densenet-client curl cat.jpg --top-k 3                      the exact curl lines for that image
  densenet-client status                                      is the server live, the model ready?
  densenet-client evaluate imagenet-val/                      top-1/top-5 of the served pipeline
  densenet-client quality                                     prediction quality from :8002/metrics
  densenet-client baseline photos/ -o drift_reference.json    answers to photos/ as the drift reference

The server is --url (or $DENSENET_URL): http://host:8000 (default localhost), grpc://host:8001...

Exit status of `classify`: 0 every image classified; 1 some failed (each reported with its path and
reason); 2 nothing could be done (bad arguments, no images, server unreachable, model not ready).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..base import MAX_TOP_K, MODEL
from ..client import DenseNetClient
from ..endpoint import parse_endpoint
from ..errors import ConfigurationError, DenseNetClientError, ModelNotReady, ServerUnavailable
from . import evaluate as evaluate_command
from . import quality as quality_command
from .curl import json_output_command, raw_binary_command
from .files import DEFAULT_EXTENSIONS, find_images
from .render import failure_line, json_line, table_header, table_rows

EXIT_OK, EXIT_SOME_FAILED, EXIT_UNUSABLE = 0, 1, 2


def _top_k(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_TOP_K:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_TOP_K}, not {text!r}")
    return value


def _positive(kind: type[int] | type[float]):
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be a number > 0, not {text!r}")
        return value

    return parse


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=os.environ.get("DENSENET_URL"),
        help="server URL: http://host:8000, https://..., grpc://host:8001, grpcs://... "
        "(default $DENSENET_URL, else localhost with the protocol's port)",
    )
    parser.add_argument(
        "--protocol", choices=("http", "grpc"), help="when the URL has no scheme (default http)"
    )
    parser.add_argument("--model", default=MODEL, help=argparse.SUPPRESS)
    parser.add_argument("--connect-timeout", type=_positive(float), default=5.0, metavar="SECONDS")
    parser.add_argument(
        "--api-key-file",
        type=Path,
        metavar="FILE",
        help="for a server that requires an API key: the file holding it (its first line that is not "
        "a '#' comment); default $DENSENET_API_KEY. The key is never printed",
    )


def _batch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--concurrency", type=_positive(int), default=4, metavar="N", help="requests in flight (default 4)"
    )
    parser.add_argument("--timeout", type=_positive(float), default=30.0, metavar="SECONDS", help="per image")
    parser.add_argument(
        "--ext",
        default=",".join(e.lstrip(".") for e in DEFAULT_EXTENSIONS),
        help="extensions searched for in folders (default %(default)s; named files are always sent)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="densenet-client", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    classify = commands.add_parser("classify", help="classify image files and folders (recursively)")
    classify.add_argument("paths", nargs="+", metavar="PATH", help="image files, or folders to search")
    _server_options(classify)
    classify.add_argument(
        "--top-k", type=_top_k, metavar="N", help="predictions per image (default: the server's, 5)"
    )
    classify.add_argument("--json", action="store_true", help="one JSON object per image and line")
    _batch_options(classify)

    curl = commands.add_parser("curl", help="print the exact curl command lines that classify an image")
    curl.add_argument("image", type=Path)
    _server_options(curl)
    curl.add_argument("--top-k", type=_top_k, metavar="N", help="for the JSON form (default: the server's)")
    curl.add_argument(
        "--form",
        choices=("both", "raw", "json"),
        default="both",
        help="raw: binary in and out; json: binary in, JSON out; both (default): each after a # comment",
    )

    status = commands.add_parser("status", help="is the server live, the model ready? (exit 0 when ready)")
    _server_options(status)

    documented = {"evaluate": evaluate_command.__doc__, "quality": quality_command.__doc__}
    evaluate, quality, baseline = (
        commands.add_parser(
            name,
            help=text,
            description=documented.get(name, quality_command.__doc__),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        for name, text in (
            ("evaluate", "accuracy of the served pipeline on labelled images (top-1/top-5, 95%% intervals)"),
            ("quality", "the server's prediction-quality summary (confidence, classes, refusals, drift)"),
            ("baseline", "write the drift reference: the server's answers to a folder of typical images"),
        )
    )
    evaluate_command.add_arguments(evaluate)
    quality_command.add_quality_arguments(quality)
    quality_command.add_baseline_arguments(baseline)
    for command in (evaluate, baseline):
        _server_options(command)
        _batch_options(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "evaluate":
            return evaluate_command.run(args, _client_options(args))
        if args.command == "quality":
            return quality_command.quality(args)
        if args.command == "baseline":
            return quality_command.baseline(args, _client_options(args))
        return {"classify": classify, "curl": curl, "status": status}[args.command](args)
    except DenseNetClientError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def classify(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    found = find_images(args.paths, args.ext.split(","))
    for path in found.missing:
        print(f"error: {path}: no such file or directory", file=sys.stderr)
    if not found.images:
        print(f"error: no images found (looked for {args.ext} in folders)", file=sys.stderr)
        return EXIT_UNUSABLE
    names = [str(path) for path in found.images]
    width = max(len("IMAGE"), *map(len, names))
    failed = len(found.missing)
    client = DenseNetClient(**_client_options(args), top_k=args.top_k)
    # The bar goes to stderr, only on a terminal and for more than one image; lines pass through tqdm.write.
    with (
        client,
        tqdm(total=len(names), unit="img", file=sys.stderr, disable=None if len(names) > 1 else True) as bar,
    ):
        if not args.json:
            tqdm.write(table_header(width), file=sys.stdout)
        results = client.classify_many(found.images, concurrency=args.concurrency, return_exceptions=True)
        for name, outcome in zip(names, results, strict=True):
            if isinstance(outcome, (ServerUnavailable, ModelNotReady)):
                raise outcome  # every other image would fail the same way
            if isinstance(outcome, DenseNetClientError):
                failed += 1
                line = json_line(name, outcome) if args.json else failure_line(name, outcome)
                tqdm.write(line, file=sys.stdout if args.json else sys.stderr)
            elif args.json:
                tqdm.write(json_line(name, outcome), file=sys.stdout)
            else:
                tqdm.write("\n".join(table_rows(name, outcome, width)), file=sys.stdout)
            bar.update()
    total = len(names) + len(found.missing)
    if failed:
        print(f"{failed} of {total} images failed", file=sys.stderr)
        return EXIT_SOME_FAILED
    return EXIT_OK


def _client_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "url": args.url,
        "protocol": args.protocol,
        "model": args.model,
        "connect_timeout_s": args.connect_timeout,
        "request_timeout_s": args.timeout,
        "api_key": api_key(args.api_key_file),
    }


def api_key(path: Path | None) -> str | None:
    """The key in ``path`` (its first line that is not blank or a '#' comment); None: no file given."""
    if path is None:
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"cannot read the API key file {path}: {type(error).__name__}") from None
    for line in lines:
        if line.strip() and not line.strip().startswith("#"):
            return line.strip()
    raise ConfigurationError(f"the API key file {path} holds no key")


def curl(args: argparse.Namespace) -> int:
    endpoint = parse_endpoint(args.url, args.protocol)
    try:
        size = args.image.stat().st_size
    except OSError as error:
        print(f"error: {args.image}: {error.strerror}", file=sys.stderr)
        return EXIT_UNUSABLE
    raw = raw_binary_command(args.image, endpoint, args.model)
    readable = json_output_command(args.image, size, endpoint, args.model, args.top_k)
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


def status(args: argparse.Namespace) -> int:
    with DenseNetClient(
        args.url,
        protocol=args.protocol,
        model=args.model,
        connect_timeout_s=args.connect_timeout,
        api_key=api_key(args.api_key_file),
    ) as client:
        live, ready = client.is_live(), client.is_ready()
        print(f"server  {client.url}  live: {_yes(live)}  ready: {_yes(ready)}")
        if live:
            meta = client.model_metadata()
            print(f"model   {meta.name}  versions: {', '.join(meta.versions)}  platform: {meta.platform}")
            for kind, tensors in (("input ", meta.inputs), ("output", meta.outputs)):
                for tensor in tensors:
                    print(f"  {kind}  {tensor.name} {tensor.datatype} {list(tensor.shape)}")
    return EXIT_OK if ready else EXIT_SOME_FAILED


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


if __name__ == "__main__":
    sys.exit(main())
