"""``densenet-client evaluate``: the served pipeline's accuracy on a labelled image set.

What a user runs after changing anything that touches the answers (a new plan, int8, another
preprocessing): every image goes through the real ensemble, and top-1/top-5 come back with 95 %
intervals, the classes missed most, and the throughput of the run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from densenet_contract.cli import EXIT_FAILED, EXIT_OK, fraction

from ..errors import DenseNetClientError
from .accuracy import Accuracy, Rate
from .datasets import ClassIndex, DatasetError, LabelledSet, find_labelled, ilsvrc2012
from .options import BatchOptions, ConnectionOptions, Unusable, add_classes_listed

TOP_K = 5  # top-1 and top-5: the figures ImageNet results are quoted in


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dataset",
        metavar="FOLDER_OR_CSV",
        help="<wnid>/ sub-folders, <wnid>_*.JPEG files, or a CSV of file,label (id, wnid or class name)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON document with every figure")
    add_classes_listed(parser, "--misses")
    parser.add_argument(
        "--min-top1", type=fraction, metavar="FRACTION", help="exit 1 when top-1 is below this (e.g. 0.70)"
    )
    ConnectionOptions.add_arguments(parser)
    BatchOptions.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    batch = BatchOptions.from_args(args)
    try:
        dataset = find_labelled(args.dataset, tuple(batch.extensions.split(",")))
    except DatasetError as error:
        raise Unusable(str(error)) from None
    paths = [path for path, _ in dataset.items]
    accuracy, failures = Accuracy(k=TOP_K), []
    started = time.perf_counter()
    client = ConnectionOptions.from_args(args).client(request_timeout_s=batch.timeout_s, top_k=TOP_K)
    with client, tqdm(total=len(paths), unit="img", file=sys.stderr, disable=None) as bar:
        answers = batch.answers(client, paths)
        for (_, truth), (path, outcome) in zip(dataset.items, answers, strict=True):
            if isinstance(outcome, DenseNetClientError):
                failures.append(f"{path}: {outcome}")
            else:
                accuracy.add(truth, [p.class_id for p in outcome])
            bar.update()
        url = client.url
    seconds = time.perf_counter() - started
    report = _report(dataset, accuracy, failures, seconds, url, args.misses)
    print(json.dumps(report, indent=2) if args.json else _text(report, ilsvrc2012()))
    if failures or (accuracy.total == 0):
        return EXIT_FAILED
    if args.min_top1 is not None and accuracy.top1_rate.value < args.min_top1:
        print(
            f"top-1 {accuracy.top1_rate.value:.1%} is below --min-top1 {args.min_top1:.1%}", file=sys.stderr
        )
        return EXIT_FAILED
    return EXIT_OK


def _report(
    dataset: LabelledSet, accuracy: Accuracy, failures: list[str], seconds: float, url: str, misses: int
) -> dict[str, Any]:
    index = ilsvrc2012()
    return {
        "server": url,
        "layout": dataset.layout,
        "images": accuracy.total,
        "classes": accuracy.classes,
        "failed": failures,
        "skipped": dataset.skipped,
        "seconds": round(seconds, 3),
        "images_per_second": round(accuracy.total / seconds, 2) if seconds > 0 else None,
        "top1": accuracy.top1_rate.as_dict(),
        f"top{TOP_K}": accuracy.topk_rate.as_dict(),
        "misses": [
            {
                "class_id": m.class_id,
                "wnid": index.wnids[m.class_id],
                "label": index.short_name(m.class_id),
                "missed": m.missed,
                "total": m.total,
                "predicted": [
                    {"class_id": c, "label": index.short_name(c), "count": n} for c, n in m.predicted
                ],
            }
            for m in accuracy.misses()[: max(misses, 0)]
        ],
    }


def _rate_line(name: str, rate: dict[str, Any]) -> str:
    low, high = rate["ci95"]
    value = Rate(rate["hits"], rate["total"]).value
    return f"{name:6s} {value:6.1%}   95% CI {low:.1%} - {high:.1%}   ({rate['hits']} of {rate['total']})"


def _text(report: dict[str, Any], index: ClassIndex) -> str:
    lines = [
        f"{report['images']} images, {report['classes']} classes ({report['layout']}) on {report['server']}: "
        f"{report['seconds']:.1f} s, {report['images_per_second']} images/s",
        _rate_line("top-1", report["top1"]),
        _rate_line(f"top-{TOP_K}", report[f"top{TOP_K}"]),
    ]
    if report["misses"]:
        lines.append("most missed classes (top-1): class, missed/total, answered instead")
        for m in report["misses"]:
            instead = ", ".join(f"{p['label']} x{p['count']}" for p in m["predicted"][:3])
            lines.append(f"  {m['wnid']} {m['label']:24.24s} {m['missed']}/{m['total']}  {instead}")
    for kind in ("failed", "skipped"):
        if report[kind]:
            lines.append(f"{len(report[kind])} {kind}:")
            lines.extend(f"  {line}" for line in report[kind][:20])
    return "\n".join(lines)
