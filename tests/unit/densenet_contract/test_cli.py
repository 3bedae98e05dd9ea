"""The one subcommand shape both command lines use, and the validators' messages."""

from __future__ import annotations

import argparse
import types

import pytest

from densenet_build.cli import COMMANDS as BUILD_COMMANDS
from densenet_client.cli.main import COMMANDS as CLIENT_COMMANDS
from densenet_contract import cli


def _command(doc: str | None, name: str = "pkg.cli.thing") -> types.ModuleType:
    module = types.ModuleType(name, doc)
    module.add_arguments = lambda parser: parser.add_argument("--size", type=int, default=1)
    module.run = lambda args: args.size
    return module


def test_a_command_is_named_after_its_module_and_helped_by_its_docstring():
    doc = """``tool thing``: do the thing
    at 95 % effort.

      tool thing --size 2     an example line, kept as written
    """
    name, help_line, description = cli.describe("tool", _command(doc))
    assert name == "thing"
    assert help_line == "do the thing at 95 %% effort"  # escaped: argparse %-formats help
    assert "  tool thing --size 2     an example line" in description


@pytest.mark.parametrize("doc", [None, "Do the thing.", "`tool thing`: one backtick.", "``tool other``: x."])
def test_a_docstring_without_the_command_line_prefix_is_refused(doc):
    with pytest.raises(ValueError, match=r"pkg\.cli\.thing's docstring must start with '``tool thing``: '"):
        cli.describe("tool", _command(doc))


def test_the_parsed_arguments_carry_the_commands_run():
    parser = argparse.ArgumentParser(prog="tool")
    cli.add_commands(parser, [_command("``tool thing``: do it.")])
    args = parser.parse_args(["thing", "--size", "3"])
    assert (args.command, args.run(args)) == ("thing", 3)
    with pytest.raises(SystemExit):
        parser.parse_args([])  # a command is required


@pytest.mark.parametrize(
    ("prog", "commands"), [("densenet-build", BUILD_COMMANDS), ("densenet-client", CLIENT_COMMANDS)]
)
def test_every_command_of_both_command_lines_has_the_shape(prog, commands):
    for command in commands:
        _, help_line, _ = cli.describe(prog, command)
        assert help_line, command.__name__
        assert not help_line.endswith("."), command.__name__
        assert callable(command.add_arguments), command.__name__
        assert callable(command.run), command.__name__


@pytest.mark.parametrize(
    ("validator", "text", "message"),
    [
        (cli.top_k, "0", "must be a whole number from 1 to"),
        (cli.positive_int, "0", "must be a whole number of at least 1, not '0'"),
        (cli.non_negative_int, "-1", "must be a whole number of at least 0, not '-1'"),
        (cli.positive_float, "nan", "must be a number > 0, not 'nan'"),
        (cli.fraction, "1.5", "must be a fraction from 0 to 1, not '1.5'"),
        (cli.positive_int, "two", "must be a whole number of at least 1, not 'two'"),
    ],
)
def test_validators_say_what_is_allowed(validator, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        validator(text)
