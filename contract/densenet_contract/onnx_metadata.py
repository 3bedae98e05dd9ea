"""An ONNX model's ``metadata_props``: the key/value record of what a file is (weights, precision)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def metadata(model: Any) -> dict[str, str]:
    """``metadata_props`` of an ``onnx.ModelProto`` as a dict."""
    return {p.key: p.value for p in model.metadata_props}


def read_metadata(path: str | Path) -> dict[str, str]:
    """``metadata_props`` of an ONNX file, read without its weights' external data."""
    import onnx  # only where ONNX files are read: the contract itself needs no ONNX

    return metadata(onnx.load(str(path), load_external_data=False))


def update_metadata(model: Any, values: Mapping[str, str]) -> None:
    """Set (or replace) ``values`` in the model's ``metadata_props``, keeping every other key."""
    merged = {**metadata(model), **values}
    del model.metadata_props[:]
    for key, value in merged.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def copy_metadata(source: Any, destination: Any) -> None:
    """Give ``destination`` exactly ``source``'s ``metadata_props`` (a converter may drop them)."""
    del destination.metadata_props[:]
    destination.metadata_props.extend(source.metadata_props)
