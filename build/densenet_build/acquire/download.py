"""Downloading a model file: verified by sha256, retried only where retrying can help, written atomically.

- 200 with something else than the file (a Git LFS pointer, an HTML page, a JSON error): refused
  at once from the first bytes (:mod:`.placeholders`), never retried;
- 401/403/404/410 and other 4xx: final; 408, 429 and 5xx: retried with exponential backoff, a
  ``Retry-After`` honoured up to ``Retry.max_delay_s`` (a server asking for longer is not waited for);
- a body cut short or no data for ``timeout`` seconds: retried, then an error;
- a size the server announces that is not the file's, or a wrong digest: final.
Only a verified file is ever renamed into place (``replacing``). Proxies come from the standard
``https_proxy``/``http_proxy``/``no_proxy`` variables (urllib's default opener reads them).
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import http.client
import logging
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from densenet_contract.files import replacing

from ..errors import ChecksumError, DownloadError
from .placeholders import SNIFF_BYTES, check_first_bytes, describe_placeholder

LOGGER = logging.getLogger(__name__)
_CHUNK = 1 << 20
_RETRIED_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_STATUS_HINTS = {
    401: "the server wants credentials",
    403: "access refused: a quota, a login or a region block",
    404: "no such file at this address",
    410: "the file was removed",
}


@dataclass(frozen=True)
class Retry:
    """How often and how patiently a download is retried (tests inject zero pauses and ``sleep``)."""

    attempts: int = 4  # in all, the first included
    backoff_s: float = 1.0  # the first pause, doubled after each failure
    max_delay_s: float = 60.0  # the longest pause; a Retry-After above it ends the download
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """The pause after failed attempt ``attempt`` (1-based); None: longer than this policy waits."""
        if retry_after is not None:
            return retry_after if retry_after <= self.max_delay_s else None
        return min(self.backoff_s * 2 ** (attempt - 1), self.max_delay_s)


class _Transient(Exception):
    """One attempt failed in a way another attempt may not (the message says how)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def digest_matches(actual: str, expected: str) -> bool:
    """Whether ``actual`` (64 hex digits) is ``expected``: a full digest or a published prefix of one."""
    return bool(expected) and actual.startswith(expected.lower())


def shown_url(url: str) -> str:
    """``url`` without credentials or query (a private mirror's token stays out of logs and errors)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def download(
    url: str,
    destination: str | Path,
    sha256: str,
    *,
    expected_bytes: int | None = None,
    timeout: float = 30.0,
    retry: Retry | None = None,
    progress: bool | None = None,
    note: str = "",
) -> Path:
    """Download ``url`` to ``destination`` and verify its sha256; an existing verified file is kept.

    ``sha256``: the full digest, or a prefix of it (torch hub publishes 8 digits for its files).
    ``timeout`` bounds connecting and each read. ``note`` is added when the server sends a
    placeholder instead of the file (what it means for this source). ``progress=None`` shows a
    bar only on a terminal.
    """
    destination = Path(destination)
    retry = retry or Retry()
    if destination.exists() and digest_matches(sha256_of(destination), sha256):
        LOGGER.info("%s already present and verified", destination)
        return destination
    where = shown_url(url)
    with replacing(destination) as partial:  # removed on any error: no half file is ever installed
        for attempt in range(1, retry.attempts + 1):
            try:
                digest = _attempt(url, partial, timeout, expected_bytes, progress, note)
                break
            except _Transient as failure:
                if attempt == retry.attempts:
                    raise DownloadError(f"{where}: {failure} (gave up after {attempt} attempts)") from None
                delay = retry.delay(attempt, failure.retry_after)
                if delay is None:
                    raise DownloadError(
                        f"{where}: {failure}; the server asks to retry in {failure.retry_after:.0f} s, "
                        f"longer than {retry.max_delay_s:.0f} s: try again later"
                    ) from None
                LOGGER.warning(
                    "%s: attempt %d failed (%s); retrying in %.1f s", where, attempt, failure, delay
                )
                retry.sleep(delay)
        if not digest_matches(digest, sha256):
            kind = "" if len(sha256) == 64 else " one starting with"
            raise ChecksumError(
                f"{where}: sha256 is {digest}, expected{kind} {sha256}: not the expected file"
            )
    return destination


def _attempt(
    url: str, partial: Path, timeout: float, expected_bytes: int | None, progress: bool | None, note: str
) -> str:
    request = urllib.request.Request(url, headers={"User-Agent": "densenet-build"})
    try:
        # A fresh opener reads the proxy variables now (urlopen's shared one read them at its first use).
        response = urllib.request.build_opener().open(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        raise _http_error(error) from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, (FileNotFoundError, PermissionError)):  # a file:// URL
            raise DownloadError(f"{shown_url(url)}: {error.reason.strerror}") from None
        if isinstance(error.reason, socket.gaierror):
            raise DownloadError(
                f"{shown_url(url)}: cannot resolve the host name ({error.reason.strerror}): offline, or a "
                "proxy is needed (https_proxy)"
            ) from None
        raise _Transient(_reason(error.reason, timeout)) from None
    except (OSError, http.client.HTTPException) as error:
        raise _Transient(_reason(error, timeout)) from None
    try:
        with response, open(partial, "wb") as out:
            return _receive(response, out, expected_bytes, progress, note)
    except (OSError, http.client.HTTPException) as error:  # a dropped connection, a read timeout
        raise _Transient(_reason(error, timeout)) from None


def _receive(
    response: http.client.HTTPResponse,
    out: BinaryIO,
    expected_bytes: int | None,
    progress: bool | None,
    note: str,
) -> str:
    announced = int(response.headers.get("Content-Length") or 0) or None
    first = b""
    while len(first) < SNIFF_BYTES and (chunk := response.read(SNIFF_BYTES - len(first))):
        first += chunk
    check_first_bytes(first, response.headers.get("Content-Type"), note)
    if expected_bytes is not None and announced is not None and announced != expected_bytes:
        raise DownloadError(
            f"the server announces {announced} bytes; the file is {expected_bytes}: a different file"
        )
    digest = hashlib.sha256(first)
    out.write(first)
    disable = None if progress is None else not progress
    name = Path(out.name).name.removesuffix(".part")
    wanted = announced or expected_bytes
    with tqdm(total=wanted, unit="B", unit_scale=True, desc=name, disable=disable) as bar:
        bar.update(len(first))
        while chunk := response.read(_CHUNK):
            out.write(chunk)
            digest.update(chunk)
            bar.update(len(chunk))
    size = out.tell()
    if wanted is not None and size < wanted:
        raise _Transient(f"the connection closed after {size} of {wanted} bytes")
    if expected_bytes is not None and size != expected_bytes:
        raise DownloadError(f"received {size} bytes; the file is {expected_bytes}: a different file")
    return digest.hexdigest()


def _http_error(error: urllib.error.HTTPError) -> Exception:
    status = f"HTTP {error.code} {error.reason}"
    body = b""
    with contextlib.suppress(OSError, http.client.HTTPException):  # the status says enough
        body = error.read(SNIFF_BYTES)
    said = describe_placeholder(body, error.headers.get("Content-Type")) if body else None
    detail = f" ({said})" if said else ""
    if error.code in _RETRIED_STATUS:
        return _Transient(status + detail, _retry_after(error.headers.get("Retry-After")))
    hint = _STATUS_HINTS.get(error.code, "the server refused the request")
    return DownloadError(f"{shown_url(error.url or '')}: {status}: {hint}{detail}")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _reason(error: object, timeout: float) -> str:
    if isinstance(error, TimeoutError):
        return f"no data for {timeout:g} s (timed out)"
    return str(error) or type(error).__name__
