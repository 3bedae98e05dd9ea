"""What the three command lines (densenet-build, densenet-serve, densenet-client) share: exit codes,
one shape for subcommands, and the argparse validators whose messages say what was wrong and what is
allowed."""

from __future__ import annotations

import argparse
import inspect
import types
from collections.abc import Callable, Sequence
from typing import TypeVar

from .errors import InvalidTopK
from .topk import MAX_TOP_K, parse_top_k

N = TypeVar("N", int, float)

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and something it checked or did failed (some images, a build step)
EXIT_UNUSABLE = 2  # it could not run: bad arguments or settings, nothing to work on, server unreachable
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


def add_commands(parser: argparse.ArgumentParser, commands: Sequence[types.ModuleType]) -> None:
    """One subcommand per module: its name is the module's, its help and description its docstring.

    A command module starts its docstring with ``"``PROG NAME``: HELP."`` (the rest, kept as written,
    is the description under ``PROG NAME --help``) and defines ``add_arguments(parser)`` and
    ``run(args) -> exit status``; the parsed arguments carry that ``run``. One place for the text a
    user reads, so ``--help`` and the module's own documentation cannot drift apart.
    """
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in commands:
        name, help_line, description = describe(parser.prog, command)
        sub = subparsers.add_parser(
            name,
            help=help_line,
            description=description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)


def describe(prog: str, command: types.ModuleType) -> tuple[str, str, str]:
    """A command module's (name, one-line help, description), read from its name and docstring."""
    name = command.__name__.rpartition(".")[2]
    doc = inspect.cleandoc(command.__doc__ or "")
    prefix = f"``{prog} {name}``: "
    if not doc.startswith(prefix):
        raise ValueError(f"{command.__name__}'s docstring must start with {prefix!r}")
    summary = " ".join(doc.partition("\n\n")[0].split())
    help_line = summary.removeprefix(prefix).removesuffix(".").replace("%", "%%")  # argparse %-formats help
    return name, help_line, doc


def top_k(text: str) -> int:
    """``--top-k``: a whole number from 1 to ``MAX_TOP_K``."""
    try:
        return parse_top_k(text)
    except InvalidTopK:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 1 to {MAX_TOP_K}, not {text!r}"
        ) from None


def positive_int(text: str) -> int:
    """A whole number of at least 1 (counts, sizes)."""
    return _checked(text, int, lambda n: n >= 1, "a whole number of at least 1")


def non_negative_int(text: str) -> int:
    """A whole number of at least 0 (retries, "0 turns it off")."""
    return _checked(text, int, lambda n: n >= 0, "a whole number of at least 0")


def positive_float(text: str) -> float:
    """A number above 0 (seconds)."""
    return _checked(text, float, lambda n: n > 0, "a number > 0")  # nan is not > 0


def fraction(text: str) -> float:
    """A number from 0 to 1."""
    return _checked(text, float, lambda n: 0.0 <= n <= 1.0, "a fraction from 0 to 1")


def _checked(text: str, convert: Callable[[str], N], accept: Callable[[N], bool], what: str) -> N:
    try:
        number = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, not {text!r}") from None
    if not accept(number):
        raise argparse.ArgumentTypeError(f"must be {what}, not {text!r}")
    return number
