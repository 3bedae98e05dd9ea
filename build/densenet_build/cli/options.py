"""Arguments several ``densenet-build`` commands share, and the images they load through them."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from densenet_contract.cli import fraction, positive_int

from ..repository.configs import DENSENET_CONFIG, PREPROCESS_CONFIG

ENGINE_DIR = Path(".cache/engine")
MODEL_DIR = DENSENET_CONFIG.parent
DEFAULT_MIN_TOP1 = 0.9


def add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--densenet-config",
        type=Path,
        default=DENSENET_CONFIG,
        help=f"the config whose interface and batching the model must match (default {DENSENET_CONFIG})",
    )


def add_evaluation(parser: argparse.ArgumentParser, what: str) -> None:
    """What the commands that measure agreement with fp32 share: the images and the threshold."""
    parser.add_argument("--samples-dir", type=Path, required=True, help=f"folder of JPEG/PNG images {what}")
    parser.add_argument(
        "--preprocess-config",
        type=Path,
        default=PREPROCESS_CONFIG,
        help=f"the server's preprocessing, applied to the images (default {PREPROCESS_CONFIG})",
    )
    parser.add_argument(
        "--max-images", type=positive_int, help="use at most this many images (sorted by name)"
    )
    parser.add_argument(
        "--min-top1",
        type=fraction,
        default=DEFAULT_MIN_TOP1,
        help=f"fail below this top-1 agreement with fp32 (default {DEFAULT_MIN_TOP1})",
    )


@dataclass(frozen=True)
class Evaluation:
    """:func:`add_evaluation`'s flags, parsed once: the images to measure on and the bar to pass."""

    samples_dir: Path
    preprocess_config: Path
    max_images: int | None
    min_top1: float

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Evaluation:
        return cls(args.samples_dir, args.preprocess_config, args.max_images, args.min_top1)

    def load(self, folder: Path | None = None):  # -> (tensors, names)
        """The images of ``folder`` (default: the samples) through the server's preprocessing."""
        from ..images.folder import load_tensors
        from ..repository.configs import load_preprocess_config

        preprocessing = load_preprocess_config(self.preprocess_config)
        return load_tensors(folder or self.samples_dir, preprocessing, self.max_images)
