"""What the blocking and the asyncio client share: settings, request parameters, error translation."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import numpy as np

from densenet_contract.errors import InvalidTopK
from densenet_contract.names import DENSENET, ENSEMBLE
from densenet_contract.topk import parse_top_k

from .endpoint import Endpoint, parse_endpoint
from .errors import (
    ConfigurationError,
    DenseNetClientError,
    InvalidRequest,
    ServerUnavailable,
    Timeout,
    translate,
)
from .images import ImageSource
from .predictions import Prediction
from .retry import RetryPolicy
from .streaming import check_concurrency
from .transport import Timeouts, Transport, transport

API_KEY_VARIABLE = "DENSENET_API_KEY"  # the key when none is passed (servers started with --api-key-file)

# After these the connection is dropped: it may be stale (a late answer) or in gRPC's reconnect backoff.
RECONNECT_AFTER = (ServerUnavailable, Timeout)

# One image's result in ``classify_many``: its predictions or, with ``return_exceptions``, its error.
Outcome = list[Prediction] | DenseNetClientError
Images = TypeVar("Images")  # what a client's classify_many reads: Iterable[ImageSource] (or async)
Results = TypeVar("Results")  # what it returns: Iterator[Outcome] or AsyncIterator[Outcome]


def check_top_k(top_k: int | None) -> int | None:
    """``top_k`` if it is a whole number from 1 to ``MAX_TOP_K`` (None: the server's default, 5).

    Raises
    ------
    InvalidRequest
        For anything else (a string too: Python callers pass numbers), with the contract's message.
    """
    if top_k is None:
        return None
    try:
        return parse_top_k(top_k, text=False)
    except InvalidTopK as error:
        raise InvalidRequest(str(error)) from None


class ClientBase(Generic[Images, Results]):
    """Settings and calls common to both clients (their arguments: see ``DenseNetClient``).

    Nothing here connects: the first call does.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        protocol: str | None = None,
        model: str = ENSEMBLE,
        connect_timeout_s: float = 5.0,
        request_timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        top_k: int | None = None,
        api_key: str | None = None,
    ) -> None:
        self.endpoint: Endpoint = parse_endpoint(url, protocol)
        self.model = model
        self.timeouts = Timeouts(connect_timeout_s, request_timeout_s)
        self.retry = retry if retry is not None else RetryPolicy()
        self.top_k = check_top_k(top_k)
        key = api_key if api_key is not None else os.environ.get(API_KEY_VARIABLE) or None
        if key is not None and (not key.strip() or any(c.isspace() or not c.isprintable() for c in key)):
            raise ConfigurationError("the API key must be printable characters without spaces")
        self._transport: Transport = transport(
            self.endpoint, self.timeouts, asynchronous=self._asynchronous, api_key=key
        )
        self._setup()

    def classify_many(
        self,
        images: Images,
        *,
        top_k: int | None = None,
        concurrency: int = 4,
        return_exceptions: bool = False,
    ) -> Results:
        """Predictions for each image, in input order, at most ``concurrency`` requests at a time.

        Each image travels in its own request; the server's dynamic batcher batches those in flight.

        Parameters
        ----------
        images
            Any of what ``classify`` takes, read lazily: an iterable (on the asyncio client also an
            async iterable).
        top_k
            Predictions per image, 1 to 1000 (None: the client's ``top_k``).
        concurrency
            Requests in flight at a time.
        return_exceptions
            Yield an image's ``DenseNetClientError`` in its place and go on, instead of raising it.

        Returns
        -------
        Iterator or AsyncIterator
            Each image's ``list[Prediction]`` (best first), or its error with ``return_exceptions``;
            iterate with ``for`` on ``DenseNetClient``, ``async for`` on ``AsyncDenseNetClient``.

        Raises
        ------
        InvalidRequest
            At once, for a bad ``top_k``.
        ConfigurationError
            At once, for a ``concurrency`` below 1.
        DenseNetClientError
            While iterating, the first image's error (unless ``return_exceptions``): see ``classify``.
        """
        parameters = self._parameters(top_k)
        check_concurrency(concurrency)
        return self._map(
            lambda image: self._classify(image, parameters), images, concurrency, return_exceptions
        )

    def _map(
        self, classify: Callable[[ImageSource], Any], images: Images, concurrency: int, errors: bool
    ) -> Results:
        """``classify`` over ``images`` in order, ``concurrency`` at a time (each client its own way)."""
        raise NotImplementedError

    def _classify(self, image: ImageSource, parameters: dict[str, Any] | None) -> Any:
        """One image's predictions (a coroutine on the asyncio client)."""
        raise NotImplementedError

    _asynchronous = False

    def _setup(self) -> None:
        """Per-client state of a subclass (its connections, opened on first use)."""

    @property
    def url(self) -> str:
        return self.endpoint.url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r}, model={self.model!r})"

    def _parameters(self, top_k: int | None) -> dict[str, Any] | None:
        k = check_top_k(top_k) if top_k is not None else self.top_k
        return None if k is None else {"top_k": k}

    def _infer(self, client: Any, rows: np.ndarray, parameters: dict[str, Any] | None) -> Any:
        """tritonclient's ``infer`` for one request (a coroutine on the aio clients)."""
        transport = self._transport
        return client.infer(
            self.model,
            transport.inputs(rows),
            outputs=transport.outputs(),
            parameters=parameters,
            **transport.infer_kwargs,
        )

    def _metadata(self, client: Any) -> Any:
        return client.get_model_metadata(self.model, **self._transport.metadata_kwargs)

    def _densenet_config(self, client: Any) -> Any:
        return client.get_model_config(DENSENET, **self._transport.metadata_kwargs)

    def _translate(self, error: Exception, timeout_s: float) -> DenseNetClientError | None:
        """The SDK error for ``error``; None when it is not a server or network error (then it is a bug)."""
        return translate(error, url=self.url, timeout_s=timeout_s)
