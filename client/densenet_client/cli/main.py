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
import sys
from collections.abc import Sequence

from densenet_contract.cli import EXIT_INTERRUPTED, EXIT_UNUSABLE, add_commands

from ..errors import DenseNetClientError
from . import baseline, classify, curl, evaluate, quality, status
from .options import Unusable

COMMANDS = (classify, curl, status, evaluate, quality, baseline)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="densenet-client", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_commands(parser, COMMANDS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (DenseNetClientError, Unusable) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
