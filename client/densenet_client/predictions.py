"""Typed results: the ensemble's LABELS / SCORES / CLASS_IDS rows as predictions, best first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from densenet_contract.names import CLASS_IDS, LABELS, SCORES

from .errors import ServerError

OUTPUTS = (LABELS, SCORES, CLASS_IDS)


@dataclass(frozen=True)
class Prediction:
    """One class of the top-k.

    Parameters
    ----------
    label
        The class's ImageNet name (e.g. ``"tabby, tabby cat"``).
    probability
        Its softmax probability, 0 to 1.
    class_id
        Its ILSVRC-2012 index, 0 to 999.
    """

    label: str
    probability: float
    class_id: int

    def __str__(self) -> str:
        return f"{self.label} ({self.probability:.1%})"


@dataclass(frozen=True)
class TensorMetadata:
    """One input or output of the model: its ``name``, ``datatype`` (e.g. ``"UINT8"``) and ``shape``."""

    name: str
    datatype: str
    shape: tuple[int, ...]  # -1: variable


@dataclass(frozen=True)
class ModelMetadata:
    """The model's metadata as the server reports it, the same over HTTP and gRPC.

    Parameters
    ----------
    name, versions, platform
        The model's name, its loaded versions and its platform (``"ensemble"``).
    inputs, outputs
        Its tensors.
    """

    name: str
    versions: tuple[str, ...]
    platform: str
    inputs: tuple[TensorMetadata, ...]
    outputs: tuple[TensorMetadata, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelMetadata:
        """The metadata from tritonclient's JSON form of ``get_model_metadata`` (HTTP, gRPC ``as_json``)."""

        # gRPC's JSON form writes int64 values (the shapes) as strings.
        def tensors(key: str) -> tuple[TensorMetadata, ...]:
            return tuple(
                TensorMetadata(t["name"], t["datatype"], tuple(int(d) for d in t.get("shape", ())))
                for t in data.get(key, ())
            )

        return cls(
            data["name"],
            tuple(data.get("versions", ())),
            data.get("platform", ""),
            tensors("inputs"),
            tensors("outputs"),
        )


def parse_predictions(
    labels: np.ndarray, scores: np.ndarray, class_ids: np.ndarray
) -> list[list[Prediction]]:
    """One list of predictions per image row; raises ``ServerError`` when the outputs do not line up."""
    if not (labels.ndim == scores.ndim == class_ids.ndim == 2) or not (
        labels.shape == scores.shape == class_ids.shape
    ):
        raise ServerError(
            "unexpected answer from the server: LABELS/SCORES/CLASS_IDS shapes "
            f"{labels.shape}/{scores.shape}/{class_ids.shape} do not match"
        )
    return [
        [
            Prediction(_text(label), float(score), int(class_id))
            for label, score, class_id in zip(label_row, score_row, id_row, strict=True)
        ]
        for label_row, score_row, id_row in zip(labels, scores, class_ids, strict=True)
    ]


def predictions_from(result: Any) -> list[list[Prediction]]:
    """Predictions from a tritonclient ``InferResult`` (HTTP or gRPC)."""
    arrays = [result.as_numpy(name) for name in OUTPUTS]
    missing = [name for name, array in zip(OUTPUTS, arrays, strict=True) if array is None]
    if missing:
        raise ServerError(f"unexpected answer from the server: no {', '.join(missing)} output")
    return parse_predictions(*arrays)


def _text(label: object) -> str:
    return label.decode("utf-8", errors="replace") if isinstance(label, bytes) else str(label)
