"""``densenet-build samples``: write sample/calibration JPEGs made from the photographs in scikit-image's
wheel.

Write COUNT JPEGs cut from real photographs (cat, coffee, astronaut, rocket, motorcycle, Hubble deep
field...) shipped in scikit-image's wheel; the first pass is uncropped, later ones are random crops and
flips. Different --seed values give different sets (calibration vs evaluation).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from densenet_contract.cli import positive_int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output", type=Path)
    parser.add_argument("--count", type=positive_int, default=48, help="number of images (default 48)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the crops and flips (default 0)")


def run(args: argparse.Namespace) -> None:
    from ..images.samples import write_samples

    paths = write_samples(args.output, args.count, seed=args.seed)
    print(
        f"wrote {len(paths)} sample images (scikit-image photographs, cropped and flipped) to {args.output}"
    )
