"""The asyncio client: ``AsyncDenseNetClient``, on ``tritonclient.http.aio`` / ``tritonclient.grpc.aio``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any

from .base import RECONNECT_AFTER, ClientBase, Outcome
from .errors import ModelNotReady, ServerUnavailable, Timeout
from .images import ImageSource, image_rows, load_image
from .predictions import ModelMetadata, Prediction, predictions_from
from .streaming import ordered_map_async

Images = Iterable[ImageSource] | AsyncIterable[ImageSource]  # what classify_many reads


class AsyncDenseNetClient(ClientBase[Images, AsyncIterator[Outcome]]):
    """``DenseNetClient`` for asyncio: the same arguments, methods and errors, awaited.

    Use ``async with AsyncDenseNetClient(url) as client:``. One instance serves any number of
    concurrent coroutines of one event loop over a single tritonclient aio client; the HTTP form
    has one total timeout per call (``request_timeout_s``, connecting included).

    Parameters
    ----------
    url, protocol, model, connect_timeout_s, request_timeout_s, retry, top_k, api_key
        As for ``DenseNetClient``.

    Raises
    ------
    ConfigurationError, InvalidRequest
        As for ``DenseNetClient``: a bad URL, protocol, timeout or API key; a bad ``top_k``.
    """

    _asynchronous = True

    def _setup(self) -> None:
        self._client: Any = None  # made on first use, inside the running event loop
        self._retired: list[Any] = []  # replaced after a failure; other coroutines may still use them

    async def __aenter__(self) -> AsyncDenseNetClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connections this client opened (a later call opens a new one)."""
        clients = [*self._retired, *([self._client] if self._client is not None else [])]
        self._client, self._retired = None, []
        for client in clients:
            await client.close()

    async def classify(self, image: ImageSource, *, top_k: int | None = None) -> list[Prediction]:
        """The top-k predictions for one image, best first: ``DenseNetClient.classify``, awaited.

        Parameters
        ----------
        image, top_k
            As for ``DenseNetClient.classify``; files and ``PIL`` images are read off the event loop.

        Returns
        -------
        list of Prediction

        Raises
        ------
        DenseNetClientError
            The subclasses ``DenseNetClient.classify`` raises, for the same reasons.
        """
        return await self._classify(image, self._parameters(top_k))

    def _map(
        self,
        classify: Callable[[ImageSource], Awaitable[list[Prediction]]],
        images: Images,
        concurrency: int,
        errors: bool,
    ) -> AsyncIterator[Any]:
        return ordered_map_async(classify, images, concurrency, return_exceptions=errors)

    async def _classify(self, image: ImageSource, parameters: dict[str, Any] | None) -> list[Prediction]:
        # Files and PIL images are read/encoded off the event loop; bytes need no work.
        if isinstance(image, (bytes, bytearray, memoryview)):
            data = load_image(image)
        else:
            data = await asyncio.to_thread(load_image, image)
        rows = image_rows([data])

        async def attempt() -> list[Prediction]:
            result = await self._call(
                lambda client: self._infer(client, rows, parameters), self.timeouts.request_s
            )
            return predictions_from(result)[0]

        return await self.retry.call_async(attempt)

    async def is_live(self) -> bool:
        """``DenseNetClient.is_live``, awaited: whether the server answers at all (False when unreachable)."""
        return await self._probe(lambda client: client.is_server_live(**self._transport.control_kwargs))

    async def is_ready(self) -> bool:
        """``DenseNetClient.is_ready``, awaited: whether the server and the model are ready for requests."""
        kwargs = self._transport.control_kwargs

        async def ready(client: Any) -> bool:
            return await client.is_server_ready(**kwargs) and await client.is_model_ready(
                self.model, **kwargs
            )

        return await self._probe(ready)

    async def model_metadata(self) -> ModelMetadata:
        """``DenseNetClient.model_metadata``, awaited (``ModelNotReady``: the model is unknown)."""
        data = await self.retry.call_async(lambda: self._call(self._metadata, self.timeouts.connect_s))
        return ModelMetadata.from_json(data)

    async def wait_until_ready(self, timeout_s: float = 60.0, poll_s: float = 0.5) -> None:
        """``DenseNetClient.wait_until_ready``, awaited: ``is_ready()`` every ``poll_s`` seconds.

        Raises
        ------
        ServerUnavailable, ModelNotReady
            After ``timeout_s``: the server does not answer; it does but the model is not ready.
        """
        deadline = time.monotonic() + timeout_s
        while not await self.is_ready():
            if time.monotonic() >= deadline:
                if not await self.is_live():
                    raise ServerUnavailable(f"cannot reach the server at {self.url} (waited {timeout_s:g}s)")
                raise ModelNotReady(f"model {self.model!r} at {self.url} not ready after {timeout_s:g}s")
            await asyncio.sleep(poll_s)

    async def _probe(self, call: Callable[[Any], Awaitable[bool]]) -> bool:
        try:
            return bool(await self._call(call, self.timeouts.connect_s))
        except (ServerUnavailable, Timeout, ModelNotReady):
            return False

    async def _call(self, call: Callable[[Any], Awaitable[Any]], timeout_s: float) -> Any:
        """``await call(the aio client)``, its errors translated into the SDK's."""
        if self._client is None:
            self._client = self._transport.new_client()
        client = self._client
        try:
            return await call(client)
        except Exception as error:
            translated = self._translate(error, timeout_s)
            if translated is None:
                raise
            if isinstance(translated, RECONNECT_AFTER) and self._client is client:
                # The next call gets a fresh connection; this one closes with the client.
                self._client = None
                self._retired.append(client)
            raise translated from error
