"""``densenet-client quality``: the server's prediction quality, from its Prometheus metrics.

  densenet-client quality                         the summary from http://localhost:8002/metrics
  densenet-client quality --metrics-url URL       another server's metrics endpoint

The drift score compares recent answers with a reference that ``densenet-client baseline`` writes
(docs/quality.md).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import urllib.error
import urllib.request
from typing import Any

from densenet_contract.cli import EXIT_OK, positive_float

from ..monitoring import MetricsFormatError, QualitySummary, parse_metrics, summarize
from .options import Unusable, add_classes_listed

DEFAULT_METRICS_URL = "http://localhost:8002/metrics"
METRICS_URL_VARIABLE = "DENSENET_METRICS_URL"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_classes_listed(parser, "--top")
    parser.add_argument("--json", action="store_true", help="the summary as one JSON object")
    server = parser.add_argument_group("server")
    server.add_argument(
        "--metrics-url",
        help=f"Triton's Prometheus endpoint (default ${METRICS_URL_VARIABLE}, else {DEFAULT_METRICS_URL})",
    )
    server.add_argument("--connect-timeout", type=positive_float, default=5.0, metavar="SECONDS")


def run(args: argparse.Namespace) -> int:
    url = args.metrics_url or os.environ.get(METRICS_URL_VARIABLE, DEFAULT_METRICS_URL)
    try:
        with urllib.request.urlopen(url, timeout=args.connect_timeout) as response:
            text = response.read().decode("utf-8", errors="replace")
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise Unusable(f"cannot read {url}: {getattr(error, 'reason', error)}") from None
    try:
        summary = summarize(parse_metrics(text), top=args.top)
    except MetricsFormatError as error:
        raise Unusable(f"{url}: {error}") from None
    print(json.dumps(as_json(summary), allow_nan=False) if args.json else render(summary))
    return EXIT_OK


def as_json(summary: QualitySummary) -> dict[str, Any]:
    """The summary as JSON values: +Inf as a string, a NaN drift score (its window not full yet) as null."""
    data: dict[str, Any] = {
        "answers": summary.answers,
        "low_confidence": summary.low_confidence,
        "low_confidence_threshold": summary.threshold,
        "top1_buckets": [
            ["+Inf" if math.isinf(bound) else bound, count] for bound, count in summary.top1_buckets
        ],
        "top_classes": [vars(c) for c in summary.top_classes],
        "images": summary.images,
        "refused": dict(summary.refused),
        "drift_score": summary.drift_score,
        "drift_window_answers": summary.drift_window_answers,
        "drift_noise_floor": summary.drift_noise_floor,
        "weights": dict(summary.weights),
        "preprocessing": dict(summary.preprocessing),
    }
    if data["drift_score"] is not None and math.isnan(data["drift_score"]):
        data["drift_score"] = None
    return data


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
