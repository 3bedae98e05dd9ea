"""The server's prediction-quality metrics, read from Triton's Prometheus endpoint (:8002/metrics).

:func:`parse_metrics` reads the text exposition format into samples; :func:`summarize` turns the
``densenet_*`` samples into a :class:`QualitySummary` (docs/quality.md lists the metrics).
Pure Python: no Triton, no HTTP.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

Labels = tuple[tuple[str, str], ...]  # sorted (name, value) pairs

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


class MetricsFormatError(ValueError):
    """A line of the metrics text is not in the Prometheus text format."""


def _labels(text: str, line: str) -> Labels:
    pairs, pos = [], 0
    while pos < len(text):
        match = _LABEL.match(text, pos)
        if not match:
            raise MetricsFormatError(f"bad labels in metrics line: {line[:200]!r}")
        value = re.sub(r"\\[\\\"n]", lambda m: _UNESCAPE[m.group(0)], match.group(2))
        pairs.append((match.group(1), value))
        pos = match.end()
    return tuple(sorted(pairs))


def parse_metrics(text: str) -> dict[str, dict[Labels, float]]:
    """Prometheus text exposition → {metric name: {labels: value}}; comments are skipped."""
    samples: dict[str, dict[Labels, float]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if not match:
            raise MetricsFormatError(f"not a metrics line: {line[:200]!r}")
        name, labels, value = match.groups()
        try:
            number = float(value)  # also NaN ("Nan" from Triton), +Inf
        except ValueError:
            raise MetricsFormatError(f"not a number in metrics line: {line[:200]!r}") from None
        samples.setdefault(name, {})[_labels(labels or "", line)] = number
    return samples


@dataclass(frozen=True)
class ClassCount:
    class_id: int
    label: str
    answers: int


@dataclass(frozen=True)
class QualitySummary:
    """What the server's densenet_* metrics say, since it started."""

    answers: int  # answers postprocess returned
    low_confidence: int  # answers whose top-1 probability was below the threshold
    threshold: float | None
    top1_buckets: tuple[tuple[float, int], ...]  # (upper bound, answers with top-1 <= it), cumulative
    top_classes: tuple[ClassCount, ...]  # most frequent top-1 classes, most first
    images: int  # images preprocess received
    refused: Mapping[str, int]  # reason -> images refused
    drift_score: float | None  # None: no drift reference configured
    drift_window_answers: int | None
    drift_noise_floor: float | None
    weights: Mapping[str, str] = field(default_factory=dict)
    preprocessing: Mapping[str, str] = field(default_factory=dict)

    @property
    def low_confidence_share(self) -> float:
        return self.low_confidence / self.answers if self.answers else 0.0

    @property
    def refused_share(self) -> float:
        return sum(self.refused.values()) / self.images if self.images else 0.0

    @property
    def median_top1(self) -> float | None:
        """The bucket bound the median answer's top-1 probability is at most (None without answers)."""
        for bound, count in self.top1_buckets:
            if self.answers and count >= self.answers / 2:
                return bound
        return None


def _one(samples: dict[str, dict[Labels, float]], name: str) -> float | None:
    values = samples.get(name, {})
    return sum(values.values()) if values else None


def summarize(samples: dict[str, dict[Labels, float]], top: int = 10) -> QualitySummary:
    """The prediction-quality summary from parsed metrics; raises when the server exports none."""
    if "densenet_top1_probability_count" not in samples and "densenet_image_bytes_count" not in samples:
        raise MetricsFormatError(
            "the metrics hold no densenet_* series: the server is older than the quality metrics, "
            "or quality_metrics is off in the postprocess and preprocess configs"
        )
    buckets = sorted(
        (float(dict(labels)["le"]), int(value))
        for labels, value in samples.get("densenet_top1_probability_bucket", {}).items()
    )
    classes = [
        ClassCount(int(dict(labels)["class_id"]), dict(labels).get("label", ""), int(value))
        for labels, value in samples.get("densenet_predictions_total", {}).items()
        if value > 0
    ]
    classes.sort(key=lambda c: (-c.answers, c.class_id))
    refused = {
        dict(labels)["reason"]: int(value)
        for labels, value in samples.get("densenet_images_refused_total", {}).items()
    }
    drift = _one(samples, "densenet_drift_score")
    window = _one(samples, "densenet_drift_window_answers")
    floor = _one(samples, "densenet_drift_noise_floor")
    weights = next(iter(samples.get("densenet_served_weights_info", {})), ())
    preprocessing = next(iter(samples.get("densenet_preprocessing_info", {})), ())
    return QualitySummary(
        answers=int(_one(samples, "densenet_top1_probability_count") or 0),
        low_confidence=int(_one(samples, "densenet_low_confidence_answers_total") or 0),
        threshold=_one(samples, "densenet_low_confidence_threshold"),
        top1_buckets=tuple(buckets),
        top_classes=tuple(classes[:top]),
        images=int(_one(samples, "densenet_image_bytes_count") or 0),
        refused=refused,
        drift_score=drift,
        drift_window_answers=None if window is None else int(window),
        drift_noise_floor=floor,
        weights=dict(weights),
        preprocessing=dict(preprocessing),
    )


def render(summary: QualitySummary) -> str:
    """The summary as the lines ``densenet-client quality`` prints."""
    lines = []
    if summary.weights:
        lines.append(f"weights        {summary.weights.get('weights', '?')}")
        lines.append(f"  sha256       {summary.weights.get('sha256', '?')}")
        lines.append(f"  source       {summary.weights.get('source', '?')}")
    if summary.preprocessing:
        p = summary.preprocessing
        lines.append(
            f"preprocessing  {p.get('preset', '?')} ({p.get('resize_mode', '?')} {p.get('resize_size', '?')}"
            f" -> {p.get('output_size', '?')}, {p.get('channel_order', '?')})"
        )
    threshold = "?" if summary.threshold is None else f"{summary.threshold:g}"
    lines.append(f"answers        {summary.answers}")
    lines.append(
        f"low confidence {summary.low_confidence} ({summary.low_confidence_share:.1%}) "
        f"with top-1 probability below {threshold}"
    )
    previous = 0
    if summary.answers:
        lines.append("top-1 probability  answers")
        lower = 0.0
        for bound, count in summary.top1_buckets:
            upper = "1" if math.isinf(bound) else f"{bound:g}"
            share = (count - previous) / summary.answers
            span = f"{lower:g} - {upper}"
            lines.append(f"  {span:<12} {count - previous:>9}  {share:6.1%}")
            previous, lower = count, (1.0 if math.isinf(bound) else bound)
    if summary.top_classes:
        lines.append("most frequent top-1 classes")
        for c in summary.top_classes:
            lines.append(
                f"  {c.class_id:>4} {c.label:<30} {c.answers:>9}  {c.answers / summary.answers:6.1%}"
            )
    refused = sum(summary.refused.values())
    lines.append(f"images         {summary.images}, refused {refused} ({summary.refused_share:.1%})")
    for reason, count in sorted(summary.refused.items()):
        if count:
            lines.append(f"  {reason:<16} {count}")
    if summary.drift_score is None:
        lines.append("drift          off (no drift_reference in the postprocess config)")
    elif math.isnan(summary.drift_score):
        lines.append(f"drift          the window is not full yet ({summary.drift_window_answers} answers)")
    else:
        floor = "" if summary.drift_noise_floor is None else f" (noise floor {summary.drift_noise_floor:.4f})"
        window = summary.drift_window_answers
        lines.append(f"drift score    {summary.drift_score:.4f} over the last {window} answers{floor}")
    return "\n".join(lines)
