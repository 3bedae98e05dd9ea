"""``densenet-client quality`` and ``densenet-client baseline``: the server's prediction quality.

  densenet-client quality                         the summary from http://localhost:8002/metrics
  densenet-client quality --metrics-url URL       another server's metrics endpoint
  densenet-client baseline photos/ -o drift_reference.json
                                                  the answers to photos/ as the drift reference

A baseline is the top-1 class and probability of each image, as the server answers them; put it next
to the postprocess config and name it in its ``drift_reference`` parameter (docs/quality.md).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ..errors import ModelNotReady, ServerUnavailable
from ..quality import MetricsFormatError, parse_metrics, render, summarize
from .files import find_images

DEFAULT_METRICS_URL = "http://localhost:8002/metrics"
REFERENCE_FORMAT = "densenet-drift-reference/1"  # read by postprocess.drift.load_reference


def add_quality_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metrics-url",
        default=os.environ.get("DENSENET_METRICS_URL", DEFAULT_METRICS_URL),
        help="Triton's Prometheus endpoint (default $DENSENET_METRICS_URL, else %(default)s)",
    )
    parser.add_argument("--top", type=int, default=10, metavar="N", help="classes listed (default 10)")
    parser.add_argument("--json", action="store_true", help="the summary as one JSON object")
    parser.add_argument("--connect-timeout", type=float, default=5.0, metavar="SECONDS")


def add_baseline_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files, or folders to search")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the reference file to write")


def quality(args: argparse.Namespace) -> int:
    try:
        with urllib.request.urlopen(args.metrics_url, timeout=args.connect_timeout) as response:
            text = response.read().decode("utf-8", errors="replace")
    except (urllib.error.URLError, OSError, ValueError) as error:
        print(f"error: cannot read {args.metrics_url}: {getattr(error, 'reason', error)}", file=sys.stderr)
        return 2
    try:
        summary = summarize(parse_metrics(text), top=args.top)
    except MetricsFormatError as error:
        print(f"error: {args.metrics_url}: {error}", file=sys.stderr)
        return 2
    if args.json:
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
        # NaN (the drift window is not full yet) is not JSON: null.
        if data["drift_score"] is not None and math.isnan(data["drift_score"]):
            data["drift_score"] = None
        print(json.dumps(data, allow_nan=False))
    else:
        print(render(summary))
    return 0


def baseline(args: argparse.Namespace, client_options: dict[str, Any]) -> int:
    from ..client import DenseNetClient

    found = find_images(args.paths, args.ext.split(","))
    for path in found.missing:
        print(f"error: {path}: no such file or directory", file=sys.stderr)
    if not found.images:
        print(f"error: no images found (looked for {args.ext} in folders)", file=sys.stderr)
        return 2
    class_ids: list[int] = []
    scores: list[float] = []
    failed = 0
    with DenseNetClient(**client_options, top_k=1) as client:
        results = client.classify_many(found.images, concurrency=args.concurrency, return_exceptions=True)
        for path, outcome in zip(found.images, results, strict=True):
            if isinstance(outcome, (ServerUnavailable, ModelNotReady)):
                raise outcome
            if isinstance(outcome, Exception):
                failed += 1
                print(f"error: {path}: {outcome}", file=sys.stderr)
                continue
            class_ids.append(outcome[0].class_id)
            scores.append(outcome[0].probability)
    if not class_ids:
        print("error: no image was classified; nothing written", file=sys.stderr)
        return 2
    reference = {
        "format": REFERENCE_FORMAT,
        "images": len(class_ids),
        "class_ids": class_ids,
        "top1_probabilities": scores,
    }
    args.output.write_text(json.dumps(reference) + "\n", encoding="utf-8")
    print(f"{args.output}: the answers to {len(class_ids)} images ({failed} failed)")
    return 1 if failed else 0
