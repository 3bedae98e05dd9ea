"""The postprocess model's ``parameters {}``, parsed once and strictly (an unknown key is refused)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import InvalidTopKError, PostprocessConfigError
from .topk import parse_top_k

# Written by `densenet-build model` next to densenet's own record: what the served weights are.
WEIGHTS_KEYS = ("weights", "source_sha256", "preprocessing")
KNOWN_PARAMETERS = frozenset(
    {
        "top_k",
        "labels_file",
        "quality_metrics",
        "low_confidence_threshold",
        "drift_reference",
        "drift_window",
        *WEIGHTS_KEYS,
    }
)


@dataclass(frozen=True)
class PostprocessConfig:
    """Validated postprocess settings: the answer (``top_k``, labels) and what is measured about it."""

    top_k: int = 5
    labels_file: str = "labels.txt"
    quality_metrics: bool = True  # the densenet_* prediction-quality metrics (docs/quality.md)
    low_confidence_threshold: float = 0.5  # a top-1 probability below this counts as low confidence
    drift_reference: str = ""  # answers to compare with (`densenet-client baseline`); "" turns drift off
    drift_window: int = 1000  # the most recent answers the drift score looks at
    weights: str = ""
    source_sha256: str = ""
    preprocessing: str = ""

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, str], classes: int) -> PostprocessConfig:
        """Parse Triton ``parameters`` (already reduced to ``{key: string_value}``)."""
        unknown = sorted(set(parameters) - KNOWN_PARAMETERS)
        if unknown:
            known = ", ".join(sorted(KNOWN_PARAMETERS))
            raise PostprocessConfigError(unknown[0], f"unknown parameter (known: {known})")
        p = {key: value.strip() for key, value in parameters.items()}
        try:
            top_k = parse_top_k(p.get("top_k", "5"), classes)
        except InvalidTopKError as error:
            raise PostprocessConfigError("top_k", str(error)) from None
        threshold = _float("low_confidence_threshold", p.get("low_confidence_threshold", "0.5"))
        if not 0.0 < threshold <= 1.0:
            raise PostprocessConfigError("low_confidence_threshold", f"{threshold} is not in (0, 1]")
        window = _int("drift_window", p.get("drift_window", "1000"))
        if window < 1:
            raise PostprocessConfigError("drift_window", f"{window} is below the minimum 1")
        return cls(
            top_k=top_k,
            labels_file=p.get("labels_file", "labels.txt") or "labels.txt",
            quality_metrics=_bool("quality_metrics", p.get("quality_metrics", "true")),
            low_confidence_threshold=threshold,
            drift_reference=p.get("drift_reference", ""),
            drift_window=window,
            **{key: p.get(key, "") for key in WEIGHTS_KEYS},
        )


def _float(name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise PostprocessConfigError(name, f"'{value}' is not a number") from None


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise PostprocessConfigError(name, f"'{value}' is not an integer") from None


_BOOLEANS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}


def _bool(name: str, value: str) -> bool:
    try:
        return _BOOLEANS[value.lower()]
    except KeyError:
        raise PostprocessConfigError(name, f"'{value}' is not a boolean (true/false)") from None
