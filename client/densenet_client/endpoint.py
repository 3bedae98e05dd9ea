"""Where the server is and how to talk to it, parsed from a URL such as ``grpc://host:8001``."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Literal

from .errors import ConfigurationError

Protocol = Literal["http", "grpc"]
PROTOCOLS: tuple[Protocol, ...] = ("http", "grpc")
DEFAULT_PORTS = {"http": 8000, "grpc": 8001}
# scheme -> (protocol, TLS)
_SCHEMES: dict[str, tuple[Protocol, bool]] = {
    "http": ("http", False),
    "https": ("http", True),
    "grpc": ("grpc", False),
    "grpcs": ("grpc", True),
}


@dataclass(frozen=True)
class Endpoint:
    """A server's address, as :func:`parse_endpoint` reads it from a URL.

    Parameters
    ----------
    protocol
        ``"http"`` or ``"grpc"``.
    host, port
        Where the server listens.
    tls
        Whether the connection is encrypted (``https://``, ``grpcs://``).
    base_path
        HTTP only: the path prefix of a server behind a proxy ("" for none).
    """

    protocol: Protocol
    host: str
    port: int
    tls: bool = False
    base_path: str = ""  # HTTP only: a server behind a path prefix

    @property
    def address(self) -> str:
        """``host:port[/base]`` as tritonclient wants it (it takes no scheme)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}{self.base_path}"

    @property
    def url(self) -> str:
        scheme = {"http": "https", "grpc": "grpcs"}[self.protocol] if self.tls else self.protocol
        return f"{scheme}://{self.address}"


def parse_endpoint(url: str | None = None, protocol: str | None = None) -> Endpoint:
    """The endpoint for ``url``: ``http://``, ``https://``, ``grpc://``, ``grpcs://`` or bare ``host[:port]``.

    Parameters
    ----------
    url
        The server; None means localhost. A missing port is the protocol's default (HTTP 8000, gRPC 8001).
    protocol
        ``"http"`` or ``"grpc"``: decides for a URL without a scheme (default HTTP), must agree with one.

    Returns
    -------
    Endpoint

    Raises
    ------
    ConfigurationError
        An unknown scheme or protocol, a disagreement between them, a bad port, no host, a query,
        fragment or user name, or a path on a gRPC URL.
    """
    if protocol is not None and protocol not in PROTOCOLS:
        raise ConfigurationError(f"protocol must be 'http' or 'grpc', not {protocol!r}")
    text = (url or "localhost").strip()
    if "://" not in text:
        text = f"{protocol or 'http'}://{text}"
    parsed = urllib.parse.urlsplit(text)
    scheme = parsed.scheme.lower()
    if scheme not in _SCHEMES:
        raise ConfigurationError(
            f"unsupported URL scheme {scheme!r} in {url!r}: use http://, https://, grpc:// or grpcs://"
        )
    chosen, tls = _SCHEMES[scheme]
    if protocol is not None and protocol != chosen:
        raise ConfigurationError(f"the URL {url!r} says {chosen} but the protocol given is {protocol}")
    try:
        port = parsed.port
    except ValueError:
        raise ConfigurationError(f"invalid port in URL {url!r}") from None
    if not parsed.hostname:
        raise ConfigurationError(f"no host in URL {url!r}")
    if parsed.query or parsed.fragment or parsed.username:
        raise ConfigurationError(
            f"the URL {url!r} may hold only scheme, host, port (and an HTTP path prefix)"
        )
    base_path = parsed.path.rstrip("/")
    if base_path and chosen == "grpc":
        raise ConfigurationError(f"a gRPC URL has no path: {url!r}")
    return Endpoint(chosen, parsed.hostname, port or DEFAULT_PORTS[chosen], tls, base_path)
