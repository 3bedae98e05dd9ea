"""``densenet-client classify``: classify image files and folders; a table, or JSON lines.

Exit status: 0 every image classified; 1 some failed (each reported with its path and reason);
2 nothing could be done (bad arguments, no images, server unreachable, model not ready).
"""

from __future__ import annotations

import argparse
import sys

from densenet_contract.cli import EXIT_FAILED, EXIT_OK, top_k

from ..errors import DenseNetClientError
from .options import BatchOptions, ConnectionOptions
from .render import failure_line, json_line, table_header, table_rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files, or folders to search")
    parser.add_argument(
        "--top-k", type=top_k, metavar="N", help="predictions per image (default: the server's, 5)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per image and line")
    ConnectionOptions.add_arguments(parser)
    BatchOptions.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    batch = BatchOptions.from_args(args)
    found = batch.find_images(args.paths)
    names = [str(path) for path in found.images]
    width = max(len("IMAGE"), *map(len, names))
    failed = len(found.missing)
    client = ConnectionOptions.from_args(args).client(request_timeout_s=batch.timeout_s, top_k=args.top_k)
    # The bar goes to stderr, only on a terminal and for more than one image; lines pass through tqdm.write.
    with (
        client,
        tqdm(total=len(names), unit="img", file=sys.stderr, disable=None if len(names) > 1 else True) as bar,
    ):
        if not args.json:
            tqdm.write(table_header(width), file=sys.stdout)
        for path, outcome in batch.answers(client, found.images):
            name = str(path)
            if isinstance(outcome, DenseNetClientError):
                failed += 1
                line = json_line(name, outcome) if args.json else failure_line(name, outcome)
                tqdm.write(line, file=sys.stdout if args.json else sys.stderr)
            elif args.json:
                tqdm.write(json_line(name, outcome), file=sys.stdout)
            else:
                tqdm.write("\n".join(table_rows(name, outcome, width)), file=sys.stdout)
            bar.update()
    if failed:
        print(f"{failed} of {len(names) + len(found.missing)} images failed", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
