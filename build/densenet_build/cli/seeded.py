"""`densenet-build seeded`: the seeded DenseNet-121 ONNX (batch 1, like densenet-7)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "seeded", help="write the seeded DenseNet-121 ONNX (batch 1, like densenet-7)"
    )
    parser.add_argument("output", type=Path)
    parser.add_argument("--seed", type=int, default=121)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from ..seeded import write_seeded_densenet

    print(f"wrote {write_seeded_densenet(args.output, seed=args.seed)}")
