"""The SDK's one exception hierarchy, and the translation of tritonclient/network errors into it.

::

    DenseNetClientError
    ├── InvalidRequest (also a ValueError)      the request was refused (HTTP 400, gRPC INVALID_ARGUMENT)
    │   └── InvalidImage                        ...because of the image: the server's own message
    ├── ModelNotReady                           the model is unknown or not loaded (HTTP 404, gRPC NOT_FOUND)
    ├── ServerUnavailable (also a ConnectionError)  nobody answers; the only error that is retried
    │   └── ServerBusy                          it answers "busy" (HTTP 503/429, gRPC queue full): retried
    │                                           after the server's Retry-After
    ├── Unauthorized                            no or a wrong API key (HTTP 401, gRPC UNAUTHENTICATED)
    ├── Timeout (also a TimeoutError)           no answer within the connect/request timeout; not retried
    ├── ServerError                             any other failure the server reports (e.g. HTTP 500)
    └── ConfigurationError (also a ValueError)  the client was set up wrongly (URL, protocol, concurrency)
"""

from __future__ import annotations

import asyncio
import http.client
import re
import sys

# Triton wraps the errors of an ensemble step in this prefix; the rest is the step's own message.
_ENSEMBLE_PREFIX = re.compile(r"^in ensemble '[^']*', ")
_MODEL_NOT_READY = re.compile(r"unknown model|is not ready|no available versions|not loaded", re.IGNORECASE)
_INVALID = {"400", "StatusCode.INVALID_ARGUMENT"}
_NOT_FOUND = {"404", "StatusCode.NOT_FOUND"}
_UNAVAILABLE = {"502", "503", "429", "StatusCode.UNAVAILABLE"}
_UNAUTHORIZED = {"401", "StatusCode.UNAUTHENTICATED"}
# The edge's 503/429 bodies say "retry after N s" (their Retry-After header, which tritonclient drops);
# Triton's own "Exceeds maximum queue size" (gRPC, or HTTP on loopback) and nginx's 429 say nothing.
_RETRY_AFTER = re.compile(r"retry after (\d+(?:\.\d+)?) ?s\b")
_BUSY = re.compile(r"server busy|Exceeds maximum queue size|too many requests|status: 429", re.IGNORECASE)
_DEADLINE = {"504", "StatusCode.DEADLINE_EXCEEDED"}


class DenseNetClientError(Exception):
    """Base of every error the SDK raises.

    Attributes
    ----------
    message
        What went wrong (also ``str(error)``).
    status
        The server's code (``"400"``, ``"StatusCode.UNAVAILABLE"``...), None when it did not answer.
    """

    def __init__(self, message: str, *, status: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message


class InvalidRequest(DenseNetClientError, ValueError):
    """The server refused the request (HTTP 400 / gRPC INVALID_ARGUMENT), or the SDK did before sending it."""


class InvalidImage(InvalidRequest):
    """The image was refused, or could not be read.

    Attributes
    ----------
    server_message
        The server's reason verbatim (``message`` without Triton's ensemble prefix); None when the SDK
        refused the image itself.
    """

    def __init__(self, message: str, *, status: str | None = None, server_message: str | None = None) -> None:
        super().__init__(message, status=status)
        self.server_message = server_message


class ModelNotReady(DenseNetClientError):
    """The server answers but the model is unknown, still loading or failed to load."""


class ServerUnavailable(DenseNetClientError, ConnectionError):
    """The server cannot be reached (refused, reset, closed, gRPC UNAVAILABLE, HTTP 502/503); retried.

    Attributes
    ----------
    attempts
        How many tries were made before giving up (``str(error)`` says so when more than one).
    """

    def __init__(self, message: str, *, status: str | None = None, attempts: int = 1) -> None:
        super().__init__(message, status=status)
        self.attempts = attempts

    def __str__(self) -> str:
        return (
            self.message if self.attempts == 1 else f"{self.message} (gave up after {self.attempts} attempts)"
        )


class ServerBusy(ServerUnavailable):
    """The server (or its edge) refused the request for load: its queues were full (HTTP 503, gRPC
    UNAVAILABLE "Exceeds maximum queue size") or this client was over its limit (HTTP 429).

    Attributes
    ----------
    retry_after_s
        How long the server asked to wait (None: it did not say); retries wait at least that.
    """

    def __init__(
        self,
        message: str,
        *,
        status: str | None = None,
        attempts: int = 1,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, status=status, attempts=attempts)
        self.retry_after_s = retry_after_s


class Unauthorized(DenseNetClientError):
    """The server requires an API key and none, or a wrong one, was sent (HTTP 401, gRPC UNAUTHENTICATED).
    Give the key with ``api_key=`` (or $DENSENET_API_KEY)."""


class Timeout(DenseNetClientError, TimeoutError):
    """No answer within the timeout. Not retried: the server may still be working on the request."""


class ServerError(DenseNetClientError):
    """Any other failure the server reports (e.g. HTTP 500), or an answer the SDK does not understand."""


class ConfigurationError(DenseNetClientError, ValueError):
    """The client was given a bad URL, protocol, timeout or concurrency."""


def translate(error: BaseException, *, url: str, timeout_s: float) -> DenseNetClientError | None:
    """The SDK error for ``error`` raised by tritonclient or the network; None when it is not one of those."""
    if isinstance(error, DenseNetClientError):
        return error
    from tritonclient.utils import InferenceServerException

    if isinstance(error, InferenceServerException):
        return _from_server(str(error.status() or ""), error.message() or str(error), url, timeout_s)
    # asyncio.TimeoutError is TimeoutError only from Python 3.11 on.
    if isinstance(error, (TimeoutError, asyncio.TimeoutError)):
        return Timeout(f"no answer from {url} within {timeout_s:g}s")
    if isinstance(error, (OSError, http.client.HTTPException)) or _is_aiohttp_connection_error(error):
        reason = str(error) or type(error).__name__
        return ServerUnavailable(f"cannot reach the server at {url}: {reason}")
    return None


def _from_server(status: str, message: str, url: str, timeout_s: float) -> DenseNetClientError:
    if _MODEL_NOT_READY.search(message) or status in _NOT_FOUND:
        return ModelNotReady(message, status=status)
    if status in _INVALID:
        readable = _ENSEMBLE_PREFIX.sub("", message)
        if "top_k" in readable:
            return InvalidRequest(readable, status=status)
        return InvalidImage(readable, status=status, server_message=message)
    if status in _UNAUTHORIZED:
        return Unauthorized(
            f"{url} needs an API key and refused this one or its absence: pass api_key= or set "
            f"DENSENET_API_KEY ({message})",
            status=status,
        )
    if status in _UNAVAILABLE:
        retry_after = _RETRY_AFTER.search(message)
        if retry_after or _BUSY.search(message) or status == "429":
            return ServerBusy(
                f"the server at {url} is busy: {message}",
                status=status,
                retry_after_s=float(retry_after[1]) if retry_after else None,
            )
        return ServerUnavailable(f"cannot reach the server at {url}: {message}", status=status)
    if status in _DEADLINE or message.strip().lower().endswith("deadline exceeded"):
        return Timeout(f"no answer from {url} within {timeout_s:g}s", status=status)
    return ServerError(f"{message} (status {status})" if status else message, status=status or None)


def _is_aiohttp_connection_error(error: BaseException) -> bool:
    # Only the aio HTTP client raises aiohttp errors; if aiohttp was never imported, this is not one.
    aiohttp = sys.modules.get("aiohttp")
    return aiohttp is not None and isinstance(error, aiohttp.ClientConnectionError)
