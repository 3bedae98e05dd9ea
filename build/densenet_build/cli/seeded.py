"""``densenet-build seeded``: write the seeded DenseNet-121 ONNX (batch 1, like densenet-7)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output", type=Path)
    parser.add_argument("--seed", type=int, default=121)


def run(args: argparse.Namespace) -> None:
    from ..testmodels.seeded import write_seeded_densenet

    print(f"wrote {write_seeded_densenet(args.output, seed=args.seed)}")
