"""`densenet-build samples`: sample and calibration JPEGs from the photographs in scikit-image's wheel."""

from __future__ import annotations

import argparse
from pathlib import Path

from .options import positive

NAME = "samples"
HELP = "write sample/calibration JPEGs made from the photographs in scikit-image's wheel"
DESCRIPTION = (
    "Write COUNT JPEGs cut from real photographs (cat, coffee, astronaut, rocket, "
    "motorcycle, Hubble deep field...) shipped in scikit-image's wheel; the first pass is uncropped, "
    "later ones are random crops and flips. Different --seed values give different sets "
    "(calibration vs evaluation)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("output", type=Path)
    parser.add_argument("--count", type=positive, default=48, help="number of images (default 48)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the crops and flips (default 0)")


def run(args: argparse.Namespace) -> None:
    from ..images.samples import write_samples

    paths = write_samples(args.output, args.count, seed=args.seed)
    print(
        f"wrote {len(paths)} sample images (scikit-image photographs, cropped and flipped) to {args.output}"
    )
