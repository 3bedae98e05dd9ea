"""``densenet-client baseline``: write the drift reference, the server's answers to typical images.

  densenet-client baseline photos/ -o drift_reference.json

A baseline is the top-1 class and probability of each image, as the server answers them; put it next
to the postprocess config and name it in its ``drift_reference`` parameter (docs/quality.md).
Exit status: 0 every image answered; 1 some failed (the file is written without them); 2 none.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from densenet_contract.cli import EXIT_FAILED, EXIT_OK
from densenet_contract.files import write_atomically
from densenet_contract.monitoring import DRIFT_REFERENCE_FORMAT

from ..errors import DenseNetClientError
from .options import BatchOptions, ConnectionOptions, Unusable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files, or folders to search")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the reference file to write")
    ConnectionOptions.add_arguments(parser)
    BatchOptions.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    batch = BatchOptions.from_args(args)
    found = batch.find_images(args.paths)
    class_ids: list[int] = []
    scores: list[float] = []
    failed = 0
    with ConnectionOptions.from_args(args).client(request_timeout_s=batch.timeout_s, top_k=1) as client:
        for path, outcome in batch.answers(client, found.images):
            if isinstance(outcome, DenseNetClientError):
                failed += 1
                print(f"error: {path}: {outcome}", file=sys.stderr)
                continue
            class_ids.append(outcome[0].class_id)
            scores.append(outcome[0].probability)
    if not class_ids:
        raise Unusable("no image was classified; nothing written")
    reference = {
        "format": DRIFT_REFERENCE_FORMAT,  # read by postprocess.drift.load_reference
        "images": len(class_ids),
        "class_ids": class_ids,
        "top1_probabilities": scores,
    }
    write_atomically(args.output, json.dumps(reference) + "\n")
    print(f"{args.output}: the answers to {len(class_ids)} images ({failed} failed)")
    return EXIT_FAILED if failed else EXIT_OK
