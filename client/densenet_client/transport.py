"""What differs between tritonclient's four clients (HTTP, gRPC, each sync and asyncio), in one place.

The calls themselves (``infer``, ``is_server_ready``...) have the same shape everywhere; what differs
is how each client is built, where its timeouts go and how outputs are requested.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from densenet_contract.names import IMAGE

from .endpoint import Endpoint
from .errors import ConfigurationError
from .predictions import OUTPUTS


@dataclass(frozen=True)
class Timeouts:
    """``connect_s``: to connect, and for health/metadata calls; ``request_s``: for one inference."""

    connect_s: float = 5.0
    request_s: float = 30.0

    def __post_init__(self) -> None:
        if not (self.connect_s > 0 and self.request_s > 0):
            raise ConfigurationError(f"timeouts must be > 0 seconds, not {self.connect_s} / {self.request_s}")


@dataclass(frozen=True)
class Transport:
    module: ModuleType  # tritonclient.http or tritonclient.grpc: InferInput, InferRequestedOutput
    new_client: Callable[[], Any]
    infer_kwargs: dict[str, Any] = field(default_factory=dict)
    control_kwargs: dict[str, Any] = field(default_factory=dict)  # health and metadata calls
    metadata_kwargs: dict[str, Any] = field(default_factory=dict)

    def inputs(self, rows: np.ndarray) -> list[Any]:
        tensor = self.module.InferInput(IMAGE, list(rows.shape), "UINT8")
        tensor.set_data_from_numpy(rows)  # binary on HTTP by default, raw bytes on gRPC
        return [tensor]

    def outputs(self) -> list[Any]:
        return [self.module.InferRequestedOutput(name) for name in OUTPUTS]


def transport(
    endpoint: Endpoint, timeouts: Timeouts, *, asynchronous: bool = False, api_key: str | None = None
) -> Transport:
    """The transport for ``endpoint``; TLS (https://, grpcs://) verifies the server's certificate.

    ``api_key``: sent with every call as ``authorization: Bearer KEY`` (an HTTP header, gRPC metadata).
    """
    made = (
        _http(endpoint, timeouts, asynchronous)
        if endpoint.protocol == "http"
        else _grpc(endpoint, timeouts, asynchronous)
    )
    if not api_key:
        return made
    headers = {"headers": {"authorization": f"Bearer {api_key}"}}
    return Transport(
        made.module,
        made.new_client,
        infer_kwargs={**made.infer_kwargs, **headers},
        control_kwargs={**made.control_kwargs, **headers},
        metadata_kwargs={**made.metadata_kwargs, **headers},
    )


def _http(endpoint: Endpoint, timeouts: Timeouts, asynchronous: bool) -> Transport:
    import tritonclient.http as module

    if asynchronous:
        import tritonclient.http.aio as aio

        def new_client() -> Any:
            # aiohttp takes one total timeout per call: the request timeout, connecting included.
            context = ssl.create_default_context() if endpoint.tls else None
            return aio.InferenceServerClient(
                endpoint.address, conn_timeout=timeouts.request_s, ssl=endpoint.tls, ssl_context=context
            )

    else:

        def new_client() -> Any:
            import gevent.ssl

            return module.InferenceServerClient(
                endpoint.address,
                connection_timeout=timeouts.connect_s,
                network_timeout=timeouts.request_s,
                ssl=endpoint.tls,
                # Secure default: verify the certificate and host name (tritonclient's own default does not).
                ssl_context_factory=gevent.ssl.create_default_context if endpoint.tls else None,
            )

    return Transport(module, new_client)


def _grpc(endpoint: Endpoint, timeouts: Timeouts, asynchronous: bool) -> Transport:
    import tritonclient.grpc as module

    factory = module.InferenceServerClient
    if asynchronous:
        import tritonclient.grpc.aio as aio

        factory = aio.InferenceServerClient
    return Transport(
        module,
        lambda: factory(endpoint.address, ssl=endpoint.tls),
        # gRPC takes its deadline per call; a refused connection fails at once as UNAVAILABLE.
        infer_kwargs={"client_timeout": timeouts.request_s},
        control_kwargs={"client_timeout": timeouts.connect_s},
        metadata_kwargs={"client_timeout": timeouts.connect_s, "as_json": True},
    )
