"""Step 1, acquire: download densenet-7.onnx (verified by sha256) or generate a stand-in model."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from densenet_contract.files import replacing
from densenet_contract.names import RECORDED_KEYS

from ..errors import ChecksumError, DownloadError
from ..testmodels.seeded import SEEDED_WEIGHTS, write_seeded_densenet
from .download import download, sha256_of
from .zoo import (
    DENSENET7_BYTES,
    DENSENET7_PREPROCESSING,
    DENSENET7_SHA256,
    DENSENET7_URL,
    DENSENET7_WEIGHTS,
)


@dataclass(frozen=True)
class AcquiredModel:
    path: Path
    weights: str  # human-readable description, stamped into the prepared model's metadata
    sha256: str
    preprocessing: str = DENSENET7_PREPROCESSING  # the preprocess preset the weights were trained with

    def record(self) -> dict[str, str]:
        """What the configs record beside the file: weights, sha256, preprocessing (RECORDED_KEYS)."""
        return dict(zip(RECORDED_KEYS, (self.weights, self.sha256, self.preprocessing), strict=True))


SOURCES = ("auto", "zoo", "seeded", "efficientnet-lite0")


def acquire(
    source: str, cache_dir: str | Path, url: str = DENSENET7_URL, timeout: float = 30.0, retries: int = 3
) -> AcquiredModel:
    """Obtain the raw (batch-1) ONNX model.

    ``source``: ``zoo`` downloads densenet-7, ``seeded`` generates the offline model, ``auto`` tries
    the download and falls back to the seeded model, warning loudly; ``efficientnet-lite0`` converts
    the trained EfficientNet-Lite0 from its PyPI package (offline, real labels, its own preprocessing).
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    cache_dir = Path(cache_dir)
    if source == "efficientnet-lite0":
        return trained_test_model(cache_dir)
    if source in ("zoo", "auto"):
        try:
            path = download(
                url,
                cache_dir / "densenet-7.onnx",
                DENSENET7_SHA256,
                expected_bytes=DENSENET7_BYTES,
                timeout=timeout,
                retries=retries,
            )
            return AcquiredModel(path, DENSENET7_WEIGHTS, DENSENET7_SHA256)
        except (DownloadError, ChecksumError) as error:
            if source == "zoo":
                raise
            warn_seeded_fallback(str(error))
    path = cache_dir / "densenet121-seeded.onnx"
    if not path.exists():
        write_seeded_densenet(path)
    return AcquiredModel(path, SEEDED_WEIGHTS, sha256_of(path))


def warn_seeded_fallback(reason: str) -> None:
    width = min(shutil.get_terminal_size((100, 20)).columns, 100)
    line = "!" * width
    print(
        f"\n{line}\n"
        f"!! densenet-7.onnx could not be downloaded: {reason}\n"
        "!! FALLING BACK TO THE SEEDED OFFLINE MODEL: random weights, its labels are MEANINGLESS.\n"
        "!! The server reports this in the 'weights' parameter of /v2/models/densenet/config.\n"
        "!! For real predictions: `make model SOURCE=zoo`, or download densenet-7.onnx yourself (see\n"
        "!! docs/model.md) and run `.venv/bin/densenet-build model --onnx-file densenet-7.onnx`.\n"
        "!! Offline with real labels: `make model SOURCE=efficientnet-lite0` (a trained stand-in).\n"
        f"{line}\n",
        file=sys.stderr,
        flush=True,
    )


def trained_test_model(cache_dir: str | Path) -> AcquiredModel:
    """EfficientNet-Lite0 (trained) in densenet-7's interface, converted once into ``cache_dir``."""
    from ..testmodels import efficientnet_lite

    path = Path(cache_dir) / "efficientnet-lite0.onnx"
    if not path.exists():
        with replacing(path) as partial:  # a half-written file is never taken for the model
            efficientnet_lite.write_efficientnet_lite0(partial)
    return AcquiredModel(path, efficientnet_lite.WEIGHTS, sha256_of(path), efficientnet_lite.PREPROCESSING)
