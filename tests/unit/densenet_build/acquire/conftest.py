"""Local model sources for the download and chain tests: a server on 127.0.0.1, recorded pauses."""

from __future__ import annotations

import pytest

from tests.support.sourceserver import Sleeps, source_server


@pytest.fixture(autouse=True)
def no_proxy_variables(monkeypatch):
    """The tests' servers are on loopback: a proxy set in the environment must not be asked."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server():
    with source_server() as running:
        yield running


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()
