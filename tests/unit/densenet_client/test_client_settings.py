"""Client construction and argument checks: everything that needs no server."""

from __future__ import annotations

import asyncio
import time

import pytest

from densenet_client import (
    AsyncDenseNetClient,
    ConfigurationError,
    DenseNetClient,
    InvalidImage,
    InvalidRequest,
    RetryPolicy,
    ServerUnavailable,
)
from densenet_serve.ports import free_port


def test_nothing_connects_before_the_first_call():
    client = DenseNetClient(f"http://127.0.0.1:{free_port()}")
    assert repr(client) == f"DenseNetClient('{client.url}', model='densenet_ensemble')"
    client.close()
    client.close()  # idempotent


@pytest.mark.parametrize("top_k", [0, 1001, -1, 2.5, "3", True])
def test_bad_top_k_is_refused_before_sending(top_k):
    with pytest.raises(InvalidRequest, match="top_k must be a whole number from 1 to 1000"):
        DenseNetClient(top_k=top_k)
    with DenseNetClient() as client, pytest.raises(InvalidRequest, match="top_k"):
        client.classify(b"\xff\xd8", top_k=top_k)


def test_bad_settings_are_configuration_errors():
    with pytest.raises(ConfigurationError, match="timeouts must be > 0"):
        DenseNetClient(request_timeout_s=0)
    with pytest.raises(ConfigurationError, match="scheme"):
        DenseNetClient("ws://host")


def test_classify_many_checks_its_arguments_at_once_not_on_first_iteration():
    with DenseNetClient() as client:
        with pytest.raises(ConfigurationError, match="concurrency"):
            client.classify_many([b"x"], concurrency=0)
        with pytest.raises(InvalidRequest, match="top_k"):
            client.classify_many([b"x"], top_k=0)


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_nobody_listening_is_unavailable_after_the_policys_retries(protocol):
    policy = RetryPolicy(attempts=3, initial_backoff_s=0.05, multiplier=2, jitter=0)
    with DenseNetClient(f"127.0.0.1:{free_port()}", protocol=protocol, retry=policy) as client:
        assert client.is_live() is False
        assert client.is_ready() is False
        started = time.monotonic()
        with pytest.raises(ServerUnavailable, match="cannot reach the server at") as caught:
            client.classify(b"\xff\xd8\xff")
        assert caught.value.attempts == 3
        assert time.monotonic() - started >= 0.05 + 0.1
        with pytest.raises(ServerUnavailable, match=r"waited 0\.3s"):
            client.wait_until_ready(timeout_s=0.3, poll_s=0.1)


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_async_nobody_listening(protocol):
    async def run():
        policy = RetryPolicy(attempts=2, initial_backoff_s=0.01)
        async with AsyncDenseNetClient(f"127.0.0.1:{free_port()}", protocol=protocol, retry=policy) as client:
            assert await client.is_live() is False
            with pytest.raises(ServerUnavailable) as caught:
                await client.classify(b"\xff\xd8\xff")
            return caught.value.attempts

    assert asyncio.run(run()) == 2


def test_empty_images_are_refused_before_sending():
    with (
        DenseNetClient(f"http://127.0.0.1:{free_port()}") as client,
        pytest.raises(InvalidImage, match="empty"),
    ):
        client.classify(b"")

    async def run():
        async with AsyncDenseNetClient(f"grpc://127.0.0.1:{free_port()}") as client:
            with pytest.raises(InvalidImage, match="empty"):
                await client.classify(bytearray())

    asyncio.run(run())


@pytest.mark.parametrize("url", ["https://127.0.0.1:8443", "grpcs://127.0.0.1:8444"])
def test_the_api_key_goes_with_every_call_and_nowhere_else(url, monkeypatch):
    monkeypatch.delenv("DENSENET_API_KEY", raising=False)
    with DenseNetClient(url, api_key="sdk-test-key-0123456789") as client:
        transport = client._transport
        for kwargs in (transport.infer_kwargs, transport.control_kwargs, transport.metadata_kwargs):
            assert kwargs["headers"] == {"authorization": "Bearer sdk-test-key-0123456789"}
        assert "sdk-test-key" not in repr(client)
    monkeypatch.setenv("DENSENET_API_KEY", "env-test-key-0123456789")
    with DenseNetClient(url) as client:
        assert client._transport.infer_kwargs["headers"] == {
            "authorization": "Bearer env-test-key-0123456789"
        }
    monkeypatch.delenv("DENSENET_API_KEY")
    with DenseNetClient(url) as client:
        assert "headers" not in client._transport.infer_kwargs


@pytest.mark.parametrize("key", [" ", "two words", "line\nbreak"])
def test_an_api_key_that_cannot_be_a_header_is_refused(key):
    with pytest.raises(ConfigurationError, match="API key must be printable"):
        DenseNetClient(api_key=key)
