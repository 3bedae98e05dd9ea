"""URLs -> protocol, host, port, TLS."""

from __future__ import annotations

import pytest

from densenet_client import ConfigurationError, Endpoint, parse_endpoint


@pytest.mark.parametrize(
    ("url", "protocol", "expected"),
    [
        (None, None, Endpoint("http", "localhost", 8000)),
        (None, "grpc", Endpoint("grpc", "localhost", 8001)),
        ("localhost:9000", None, Endpoint("http", "localhost", 9000)),
        ("triton", "grpc", Endpoint("grpc", "triton", 8001)),
        ("http://10.0.0.5", None, Endpoint("http", "10.0.0.5", 8000)),
        ("grpc://host:9001", None, Endpoint("grpc", "host", 9001)),
        ("grpc://host:9001", "grpc", Endpoint("grpc", "host", 9001)),
        ("https://triton.example.com", None, Endpoint("http", "triton.example.com", 8000, tls=True)),
        ("grpcs://triton.example.com:443", None, Endpoint("grpc", "triton.example.com", 443, tls=True)),
        ("HTTP://Host:1/", None, Endpoint("http", "host", 1)),
        ("http://gateway:80/triton/", None, Endpoint("http", "gateway", 80, base_path="/triton")),
        ("http://[::1]:8000", None, Endpoint("http", "::1", 8000)),
    ],
)
def test_parse(url, protocol, expected):
    assert parse_endpoint(url, protocol) == expected


def test_address_and_url_round_trip():
    endpoint = parse_endpoint("grpcs://h:443")
    assert endpoint.address == "h:443"
    assert endpoint.url == "grpcs://h:443"
    assert parse_endpoint("http://[::1]:8000").address == "[::1]:8000"
    assert parse_endpoint("http://gw:80/triton").url == "http://gw:80/triton"


@pytest.mark.parametrize(
    ("url", "protocol", "message"),
    [
        ("ftp://host", None, "unsupported URL scheme 'ftp'"),
        ("grpc://host:8001", "http", "says grpc but the protocol given is http"),
        (None, "websocket", "protocol must be 'http' or 'grpc'"),
        ("http://host:99999", None, "invalid port"),
        ("http://host:abc", None, "invalid port"),
        ("http://", None, "no host"),
        ("http://user:pw@host", None, "may hold only"),
        ("http://host/?q=1", None, "may hold only"),
        ("grpc://host:8001/path", None, "a gRPC URL has no path"),
    ],
)
def test_bad_urls_say_what_is_wrong(url, protocol, message):
    with pytest.raises(ConfigurationError, match=message):
        parse_endpoint(url, protocol)
