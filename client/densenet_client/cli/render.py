"""How the CLI shows results: a readable table, or one JSON object per line."""

from __future__ import annotations

import json

from ..errors import DenseNetClientError
from ..predictions import Prediction

_COLUMNS = "{image:<{width}}  {rank:>2}  {probability:>11}  {class_id:>5}  {label}"


def table_header(width: int) -> str:
    return _COLUMNS.format(
        image="IMAGE", width=width, rank="#", probability="PROBABILITY", class_id="CLASS", label="LABEL"
    )


def table_rows(image: str, predictions: list[Prediction], width: int) -> list[str]:
    """One row per prediction; the image name only on the first."""
    return [
        _COLUMNS.format(
            image=image if rank == 1 else "",
            width=width,
            rank=rank,
            probability=f"{p.probability:.2%}",
            class_id=p.class_id,
            label=p.label,
        ).rstrip()
        for rank, p in enumerate(predictions, 1)
    ]


def failure_line(image: str, error: DenseNetClientError) -> str:
    return f"error: {image}: {error}"


def json_line(image: str, outcome: list[Prediction] | DenseNetClientError) -> str:
    """One JSON object: ``{"image", "predictions": [{"label", "probability", "class_id"}...]}``
    or ``{"image", "error": {"type", "message"}}``."""
    if isinstance(outcome, DenseNetClientError):
        record: dict[str, object] = {
            "image": image,
            "error": {"type": type(outcome).__name__, "message": str(outcome)},
        }
    else:
        record = {
            "image": image,
            "predictions": [
                {"label": p.label, "probability": float(f"{p.probability:.6g}"), "class_id": p.class_id}
                for p in outcome
            ],
        }
    return json.dumps(record, ensure_ascii=False)
