"""Editing model configs in place: comments and layout survive, the result must still parse."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from ..errors import BuildError


def parse_model_config(text: str) -> model_config_pb2.ModelConfig:
    """Parse ``config.pbtxt`` text into Triton's ``ModelConfig`` protobuf (raises BuildError)."""
    try:
        return text_format.Parse(text, model_config_pb2.ModelConfig())
    except text_format.ParseError as error:
        raise BuildError(f"not a valid Triton model config: {error}") from None


def string_parameters(config: model_config_pb2.ModelConfig) -> dict[str, str]:
    """A parsed config's ``parameters`` as ``{key: string_value}``, what the models' parsers take."""
    return {key: value.string_value for key, value in config.parameters.items()}


def set_string_parameter(text: str, key: str, value: str) -> str:
    """Set ``parameters { key: KEY value: { string_value: VALUE } }``, replacing or appending one line."""
    line = f'parameters {{ key: "{key}" value: {{ string_value: {json.dumps(value)} }} }}'
    pattern = re.compile(r'^parameters\s*\{\s*key:\s*"' + re.escape(key) + r'".*$', re.MULTILINE)
    if pattern.search(text):
        updated = pattern.sub(lambda _: line, text, count=1)
    else:
        updated = text.rstrip("\n") + "\n" + line + "\n"
    if parse_model_config(updated).parameters[key].string_value != value:
        raise BuildError(f"could not set parameter '{key}' (is it written over several lines?)")
    return updated


def update_parameters(path: str | Path, values: dict[str, str]) -> None:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    for key, value in values.items():
        text = set_string_parameter(text, key, value)
    path.write_text(text, encoding="utf-8")


# One `cc_model_filenames { ... }` entry, or a `cc_model_filenames: [ ... ]` list, on its own lines;
# a commented-out line never matches because only whitespace may precede the field name.
_CC_FILENAMES = re.compile(
    r"^[ \t]*cc_model_filenames\s*:?\s*(?:\{[^{}]*\}|\[[^\[\]]*\])[ \t]*(?:#[^\n]*)?\n?", re.MULTILINE
)


def _capability_order(capability: str) -> tuple[int, ...]:
    return tuple(int(part) for part in capability.split(".") if part.isdigit())


def set_cc_model_filenames(text: str, filenames: Mapping[str, str]) -> str:
    """Replace every ``cc_model_filenames`` entry with ``filenames`` (compute capability → plan file).

    The new entries go where the first old one was (else at the end); comments and everything else
    stay as they are. The result is parsed to prove Triton reads exactly ``filenames``.
    """
    block = "".join(
        f"cc_model_filenames {{ key: {json.dumps(cc)} value: {json.dumps(name)} }}\n"
        for cc, name in sorted(filenames.items(), key=lambda item: _capability_order(item[0]))
    )
    first = _CC_FILENAMES.search(text)
    if first:
        stripped = _CC_FILENAMES.sub("", text)
        updated = stripped[: first.start()] + block + stripped[first.start() :]
    else:
        updated = text.rstrip("\n") + "\n" + block if block else text
    parsed = dict(parse_model_config(updated).cc_model_filenames)
    if parsed != dict(filenames):
        raise BuildError(
            f"could not rewrite cc_model_filenames (found {parsed}, wanted {dict(filenames)}); "
            "is an entry split over lines in an unusual way?"
        )
    return updated
