"""The precision a variant records in its ONNX metadata; the engine step copies it into the sidecar."""

from __future__ import annotations

from typing import Any

from densenet_contract.onnx_metadata import metadata, update_metadata

PRECISION_KEY = "precision"  # ONNX metadata_props key


def read_precision(model: Any) -> str | None:
    """The precision an ``onnx.ModelProto`` records (None: not a variant made here)."""
    return metadata(model).get(PRECISION_KEY)


def stamp_precision(model: Any, precision: str) -> None:
    update_metadata(model, {PRECISION_KEY: precision})
