"""Step 1, acquire: download densenet-7.onnx (verified by sha256) or generate the seeded model."""

from __future__ import annotations

import hashlib
import logging
import shutil
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ..errors import ChecksumError, DownloadError
from ..testmodels.seeded import SEEDED_WEIGHTS, write_seeded_densenet
from .zoo import (
    DENSENET7_BYTES,
    DENSENET7_PREPROCESSING,
    DENSENET7_SHA256,
    DENSENET7_URL,
    DENSENET7_WEIGHTS,
)

LOGGER = logging.getLogger(__name__)
_CHUNK = 1 << 20


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def download(
    url: str,
    destination: str | Path,
    sha256: str,
    *,
    expected_bytes: int | None = None,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 1.0,
    progress: bool | None = None,
) -> Path:
    """Download ``url`` to ``destination`` and verify its sha256; an existing verified file is kept.

    ``timeout`` bounds connecting and each read; failed attempts are retried ``retries`` times with
    exponential backoff. A checksum mismatch is not retried: the server sent the wrong file.
    ``progress=None`` shows a bar only on a terminal.
    """
    destination = Path(destination)
    if destination.exists() and sha256_of(destination) == sha256:
        LOGGER.info("%s already present and verified", destination)
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    last_error: Exception | None = None
    for attempt in range(retries + 1):
        if attempt:
            delay = backoff * 2 ** (attempt - 1)
            LOGGER.warning("download attempt %d failed (%s); retrying in %.1fs", attempt, last_error, delay)
            time.sleep(delay)
        try:
            digest = _fetch(url, partial, timeout, expected_bytes, progress)
        except (urllib.error.URLError, OSError) as error:  # includes timeouts and dropped connections
            last_error = error
            continue
        if digest != sha256:
            partial.unlink(missing_ok=True)
            raise ChecksumError(f"{url}: sha256 is {digest}, expected {sha256}")
        partial.replace(destination)
        return destination
    partial.unlink(missing_ok=True)
    raise DownloadError(f"could not download {url} after {retries + 1} attempts: {last_error}")


def _fetch(url: str, partial: Path, timeout: float, expected_bytes: int | None, progress: bool | None) -> str:
    digest = hashlib.sha256()
    request = urllib.request.Request(url, headers={"User-Agent": "densenet-build"})
    with urllib.request.urlopen(request, timeout=timeout) as response, open(partial, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or expected_bytes
        disable = None if progress is None else not progress
        with tqdm(total=total, unit="B", unit_scale=True, desc=partial.name[:-5], disable=disable) as bar:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
    size = partial.stat().st_size
    if expected_bytes is not None and size != expected_bytes:
        raise ConnectionError(f"received {size} bytes, expected {expected_bytes}")  # cut short: retried
    return digest.hexdigest()


@dataclass(frozen=True)
class AcquiredModel:
    path: Path
    weights: str  # human-readable description, stamped into the prepared model's metadata
    sha256: str
    preprocessing: str = DENSENET7_PREPROCESSING  # the preprocess preset the weights were trained with


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
        partial = efficientnet_lite.write_efficientnet_lite0(path.with_suffix(".part"))
        partial.replace(path)  # atomic: a half-written file is never taken for the model
    return AcquiredModel(path, efficientnet_lite.WEIGHTS, sha256_of(path), efficientnet_lite.PREPROCESSING)
