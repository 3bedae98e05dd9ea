"""Downloading a model file: verified by sha256, retried on network errors, written atomically."""

from __future__ import annotations

import hashlib
import logging
import time
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from densenet_contract.files import replacing

from ..errors import ChecksumError, DownloadError

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
    with replacing(destination) as partial:  # removed on any error: no half file is left behind
        for attempt in range(retries + 1):
            try:
                digest = _fetch(url, partial, timeout, expected_bytes, progress)
                break
            except (urllib.error.URLError, OSError) as error:  # timeouts and dropped connections too
                if attempt == retries:
                    raise DownloadError(
                        f"could not download {url} after {retries + 1} attempts: {error}"
                    ) from None
                delay = backoff * 2**attempt
                LOGGER.warning(
                    "download attempt %d failed (%s); retrying in %.1fs", attempt + 1, error, delay
                )
                time.sleep(delay)
        if digest != sha256:
            raise ChecksumError(f"{url}: sha256 is {digest}, expected {sha256}")
    return destination


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
