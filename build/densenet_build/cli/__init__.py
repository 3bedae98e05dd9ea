"""``densenet-build``: the model pipeline's commands, one module each (``densenet-build COMMAND --help``).

Each module is named after its command, says what it does in its docstring (the first paragraph is the
one-line help, the rest the description), adds its arguments and runs its step in a few lines; the work
is in the subpackages of ``densenet_build``. Heavy imports (onnxruntime's quantizer, TensorRT) happen
inside the steps so ``--help`` stays instant. ``make engine`` chains samples, prepare, variants,
engine, install, check and verify.
"""

from __future__ import annotations

import argparse
import logging
import sys
import types

from densenet_contract.cli import EXIT_FAILED, EXIT_OK

from ..errors import BuildError
from . import check, engine, install, labels, model, prepare, samples, seeded, variants, verify

COMMANDS = (model, labels, seeded, samples, prepare, variants, engine, install, check, verify)


def describe(command: types.ModuleType) -> tuple[str, str, str]:
    """A command module's (name, one-line help, description): its own name and its docstring's
    "`densenet-build NAME`: HELP." paragraph and the rest (the help again where there is no rest)."""
    name = command.__name__.rpartition(".")[2]
    first, _, rest = (command.__doc__ or "").partition("\n\n")
    prefix = f"`densenet-build {name}`: "
    summary = " ".join(first.split())
    if not summary.startswith(prefix):
        raise ValueError(f"{command.__name__}'s docstring must start with {prefix!r}")
    help_line = summary.removeprefix(prefix).removesuffix(".")
    return name, help_line, " ".join(rest.split()) or help_line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="densenet-build", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:  # each: add_arguments(parser), run(args)
        name, help_line, description = describe(command)
        sub = commands.add_parser(name, help=help_line, description=description)
        command.add_arguments(sub)
        sub.set_defaults(func=command.run)
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
        return EXIT_FAILED
    except ModuleNotFoundError as error:  # an optional step's package (the GPU pipeline's, say)
        print(
            f"error: `densenet-build {args.command}` needs the Python package '{error.name}': "
            "pip install -c requirements/constraints.txt -r requirements/engine.txt",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return status if isinstance(status, int) else EXIT_OK
