"""Editing model configs in place: comments and layout survive, the result must still parse."""

from __future__ import annotations

import json
import re
from pathlib import Path

from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from .errors import BuildError


def parse_model_config(text: str) -> model_config_pb2.ModelConfig:
    """Parse ``config.pbtxt`` text into Triton's ``ModelConfig`` protobuf (raises BuildError)."""
    try:
        return text_format.Parse(text, model_config_pb2.ModelConfig())
    except text_format.ParseError as error:
        raise BuildError(f"not a valid Triton model config: {error}") from None


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
