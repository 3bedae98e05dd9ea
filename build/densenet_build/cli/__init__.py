"""``densenet-build``: the model pipeline's commands, one module each (``densenet-build COMMAND --help``).

Each module is named after its command and says what it does in its docstring (the first paragraph is
the one-line help, the whole the description: ``densenet_contract.cli.add_commands``, the same shape as
densenet-client's); it adds its arguments and runs its step in a few lines; the work is in the
subpackages of ``densenet_build``. Heavy imports (onnxruntime's quantizer, TensorRT) happen inside the
steps so ``--help`` stays instant. ``make engine`` chains samples, prepare, variants,
engine, install, check and verify.
"""

from __future__ import annotations

import argparse
import logging
import sys

from densenet_contract.cli import EXIT_FAILED, EXIT_OK, add_commands

from ..errors import BuildError
from . import check, engine, install, labels, model, prepare, queues, samples, seeded, variants, verify

COMMANDS = (model, labels, seeded, samples, prepare, variants, engine, install, check, verify, queues)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="densenet-build", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    add_commands(parser, COMMANDS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s"
    )
    try:
        status = args.run(args)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except ModuleNotFoundError as error:  # an optional step's package (the GPU pipeline's, say)
        print(
            f"error: `densenet-build {args.command}` needs the Python package '{error.name}': "
            "pip install -c requirements/constraints.txt -r requirements/engine.txt",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return status if isinstance(status, int) else EXIT_OK
