"""Translating tritonclient and network errors into the SDK's hierarchy."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from geventhttpclient.response import HTTPConnectionClosed
from tritonclient.utils import InferenceServerException

from densenet_client import errors

URL = "http://127.0.0.1:8000"


def server_error(status: str, message: str) -> errors.DenseNetClientError | None:
    return errors.translate(InferenceServerException(message, status=status), url=URL, timeout_s=2.5)


@pytest.mark.parametrize("status", ["400", "StatusCode.INVALID_ARGUMENT"])
def test_a_refused_image_keeps_the_servers_reason_without_the_ensemble_prefix(status):
    raw = "in ensemble 'densenet_ensemble', not a recognised image format (allowed: JPEG, PNG)"
    error = server_error(status, raw)
    assert type(error) is errors.InvalidImage
    assert str(error) == "not a recognised image format (allowed: JPEG, PNG)"
    assert error.server_message == raw
    assert error.status == status
    assert isinstance(error, ValueError)


def test_position_of_a_bad_image_in_a_batch_is_kept():
    error = server_error("400", "in ensemble 'densenet_ensemble', image 2 of 3: truncated or corrupt JPEG")
    assert str(error) == "image 2 of 3: truncated or corrupt JPEG"


def test_a_refused_top_k_is_an_invalid_request_not_an_invalid_image():
    error = server_error("400", "in ensemble 'densenet_ensemble', top_k must be between 1 and 1000, got 0")
    assert type(error) is errors.InvalidRequest


DEADLINE = f"no answer from {URL} within 2.5s"


@pytest.mark.parametrize(
    ("status", "message", "kind", "text"),
    [
        # unknown or unloaded models: the server's message as it is
        ("404", "Request for unknown model: 'nosuch' is not found", errors.ModelNotReady, None),
        (
            "StatusCode.NOT_FOUND",
            "Request for unknown model: 'nosuch' is not found",
            errors.ModelNotReady,
            None,
        ),
        (
            "400",
            "Request for unknown model: 'densenet' has no available versions",
            errors.ModelNotReady,
            None,
        ),
        (
            "StatusCode.UNAVAILABLE",
            "in ensemble 'densenet_ensemble', model 'densenet' is not ready",
            errors.ModelNotReady,
            None,
        ),
        # deadlines: the timeout the client waited, also a TimeoutError
        ("StatusCode.DEADLINE_EXCEEDED", "Deadline Exceeded", errors.Timeout, DEADLINE),
        ("504", "gateway timeout", errors.Timeout, DEADLINE),
        ("", "Deadline Exceeded", errors.Timeout, DEADLINE),
    ],
)
def test_unknown_models_and_deadlines(status, message, kind, text):
    error = server_error(status, message)
    assert type(error) is kind
    assert str(error) == (message if text is None else text)
    assert isinstance(error, TimeoutError) == (kind is errors.Timeout)


@pytest.mark.parametrize("status", ["StatusCode.UNAVAILABLE", "503", "502"])
def test_unavailable_statuses(status):
    error = server_error(status, "failed to connect to all addresses")
    assert type(error) is errors.ServerUnavailable
    assert URL in str(error)
    assert isinstance(error, ConnectionError)


def test_other_server_failures_keep_message_and_status():
    error = server_error(
        "500", "in ensemble 'densenet_ensemble', Stub process 'preprocess_0_0' is not healthy."
    )
    assert type(error) is errors.ServerError
    assert "Stub process" in str(error)
    assert "500" in str(error)


@pytest.mark.parametrize(
    "raised",
    [TimeoutError("timed out"), asyncio.TimeoutError(), aiohttp.ServerTimeoutError("read timeout")],
)
def test_network_timeouts(raised):
    assert type(errors.translate(raised, url=URL, timeout_s=1)) is errors.Timeout


@pytest.mark.parametrize(
    "raised",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        BrokenPipeError(32, "Broken pipe"),
        HTTPConnectionClosed("connection closed."),
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientOSError(111, "Connect call failed"),
    ],
)
def test_connection_failures(raised):
    error = errors.translate(raised, url=URL, timeout_s=1)
    assert type(error) is errors.ServerUnavailable
    assert str(error).startswith(f"cannot reach the server at {URL}: ")


def test_foreign_errors_are_not_translated():
    assert errors.translate(KeyError("x"), url=URL, timeout_s=1) is None
    assert errors.translate(TypeError("x"), url=URL, timeout_s=1) is None


def test_sdk_errors_pass_through():
    error = errors.InvalidImage("bad")
    assert errors.translate(error, url=URL, timeout_s=1) is error


def test_unavailable_reports_its_attempts():
    error = errors.ServerUnavailable("cannot reach the server at x: refused")
    assert str(error) == "cannot reach the server at x: refused"
    error.attempts = 4
    assert str(error) == "cannot reach the server at x: refused (gave up after 4 attempts)"


def test_one_hierarchy():
    for kind in (
        errors.InvalidRequest,
        errors.InvalidImage,
        errors.ModelNotReady,
        errors.ServerUnavailable,
        errors.Timeout,
        errors.ServerError,
    ):
        assert issubclass(kind, errors.DenseNetClientError)
    assert issubclass(errors.ConfigurationError, ValueError)


@pytest.mark.parametrize(
    ("status", "message", "retry_after"),
    [
        ("503", "server busy: its queues are full, retry after 1 s", 1.0),  # the edge
        ("429", "too many requests from this client, retry after 2 s", 2.0),  # the edge's limit
        ("503", "in ensemble 'densenet_ensemble', Exceeds maximum queue size", None),  # Triton on loopback
        ("StatusCode.UNAVAILABLE", "in ensemble 'densenet_ensemble', Exceeds maximum queue size", None),
        ("StatusCode.UNAVAILABLE", "Received http2 header with status: 429", None),  # nginx to gRPC
    ],
)
def test_a_busy_server_is_server_busy_with_its_retry_after(status, message, retry_after):
    error = server_error(status, message)
    assert type(error) is errors.ServerBusy
    assert isinstance(error, errors.ServerUnavailable)  # retried
    assert error.retry_after_s == retry_after
    assert "is busy" in str(error)


def test_an_unreachable_server_is_not_busy():
    assert type(server_error("502", "Bad Gateway")) is errors.ServerUnavailable
    assert (
        type(server_error("StatusCode.UNAVAILABLE", "failed to connect to all addresses"))
        is errors.ServerUnavailable
    )


@pytest.mark.parametrize("status", ["401", "StatusCode.UNAUTHENTICATED"])
def test_a_missing_or_wrong_api_key_is_unauthorized_and_says_how_to_give_one(status):
    error = server_error(status, "an API key is required: header Authorization: Bearer <key>")
    assert type(error) is errors.Unauthorized
    assert "DENSENET_API_KEY" in str(error)
    assert not isinstance(error, errors.ServerUnavailable)  # never retried
