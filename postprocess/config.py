"""The postprocess model's ``parameters {}``, parsed once and strictly (an unknown key is refused)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from densenet_contract.errors import InvalidTopK
from densenet_contract.names import RECORDED_KEYS
from densenet_contract.parameters import Parameters
from densenet_contract.topk import DEFAULT_TOP_K, parse_top_k

from .errors import PostprocessConfigError

KNOWN_PARAMETERS = frozenset(
    {
        "top_k",
        "labels_file",
        "quality_metrics",
        "low_confidence_threshold",
        "drift_reference",
        "drift_window",
        *RECORDED_KEYS,  # written by `densenet-build model` next to densenet's own record
    }
)


@dataclass(frozen=True)
class PostprocessConfig:
    """Validated postprocess settings: the answer (``top_k``, labels) and what is measured about it."""

    top_k: int = DEFAULT_TOP_K
    labels_file: str = "../densenet/labels.txt"  # relative to the model's folder: one labels.txt for both
    quality_metrics: bool = True  # the densenet_* prediction-quality metrics (docs/quality.md)
    low_confidence_threshold: float = 0.5  # a top-1 probability below this counts as low confidence
    drift_reference: str = ""  # answers to compare with (`densenet-client baseline`); "" turns drift off
    drift_window: int = 1000  # the most recent answers the drift score looks at
    weights: str = ""
    source_sha256: str = ""
    preprocessing: str = ""
    source: str = ""

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, str], classes: int) -> PostprocessConfig:
        """Parse Triton ``parameters`` (already reduced to ``{key: string_value}``)."""
        p = Parameters(parameters, KNOWN_PARAMETERS, PostprocessConfigError)
        try:
            top_k = parse_top_k(p.text("top_k", str(cls.top_k)), classes)
        except InvalidTopK as error:
            raise PostprocessConfigError("top_k", str(error)) from None
        threshold = p.number("low_confidence_threshold", cls.low_confidence_threshold)
        if not 0.0 < threshold <= 1.0:
            raise PostprocessConfigError("low_confidence_threshold", f"{threshold} is not in (0, 1]")
        return cls(
            top_k=top_k,
            labels_file=p.text("labels_file") or cls.labels_file,
            quality_metrics=p.boolean("quality_metrics", cls.quality_metrics),
            low_confidence_threshold=threshold,
            drift_reference=p.text("drift_reference"),
            drift_window=p.integer("drift_window", cls.drift_window, minimum=1),
            **{key: p.text(key) for key in RECORDED_KEYS},
        )
