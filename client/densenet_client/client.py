"""The blocking client: ``DenseNetClient``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any

from densenet_contract.names import RECORDED_KEYS
from densenet_contract.parameters import config_parameters

from .base import RECONNECT_AFTER, ClientBase, Outcome
from .errors import ModelNotReady, ServerUnavailable, Timeout
from .images import ImageSource, image_rows, load_image
from .predictions import ModelMetadata, Prediction, predictions_from
from .streaming import ordered_map


class DenseNetClient(ClientBase[Iterable[ImageSource], Iterator[Outcome]]):
    """Classify images with the DenseNet ensemble on a Triton server, over HTTP or gRPC.

    Each image travels in its own request: a bad image then fails only itself, and the server's
    dynamic batcher still batches concurrent requests (use ``classify_many``). One instance may be
    shared between threads: each thread gets its own connection. Nothing connects before the first call.

    Parameters
    ----------
    url
        ``http://host:8000`` (default ``localhost``), ``https://``, ``grpc://host:8001`` or ``grpcs://``;
        without a scheme ``protocol`` decides (see :func:`parse_endpoint`).
    protocol
        ``"http"`` or ``"grpc"``: the protocol of a URL without a scheme (default HTTP); a URL with
        one must agree.
    model
        The model called (default the ensemble, ``densenet_ensemble``).
    connect_timeout_s
        Seconds to connect, and for each health or metadata call (default 5).
    request_timeout_s
        Seconds for one inference (default 30).
    retry
        How unavailability is retried (default ``RetryPolicy()``); nothing else is.
    top_k
        The default number of predictions per image, 1 to 1000 (None: the server's, 5).
    api_key
        For a server that requires one (default $DENSENET_API_KEY); sent as ``authorization: Bearer
        KEY``, never logged or shown.

    Raises
    ------
    ConfigurationError
        For a bad URL, protocol or timeout, or an API key with spaces or unprintable characters.
    InvalidRequest
        For a ``top_k`` that is not a whole number from 1 to 1000.
    """

    def _setup(self) -> None:
        self._clients = _ThreadClients(self._transport.new_client)

    def __enter__(self) -> DenseNetClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection this client opened (a later call opens a new one)."""
        self._clients.close_all()

    # --- classification -------------------------------------------------------------------------

    def classify(self, image: ImageSource, *, top_k: int | None = None) -> list[Prediction]:
        """The top-k predictions for one image, best first.

        Parameters
        ----------
        image
            Encoded bytes, a path, a binary file object or a ``PIL.Image`` (sent as PNG).
        top_k
            Predictions wanted, 1 to 1000 (None: the client's ``top_k``).

        Returns
        -------
        list of Prediction
            ``top_k`` predictions (label, probability, class_id), the most probable first.

        Raises
        ------
        InvalidImage
            The image cannot be read, or the server refused it (its reason in the message).
        InvalidRequest
            A bad ``top_k``.
        ServerUnavailable
            Nobody answers (``ServerBusy``: it is overloaded), after the retries of ``retry``.
        ModelNotReady, Unauthorized, Timeout, ServerError
            The model is not loaded; the API key is missing or wrong; no answer within
            ``request_timeout_s``; any other failure the server reports.
        """
        return self._classify(image, self._parameters(top_k))

    def _map(
        self,
        classify: Callable[[ImageSource], Any],
        images: Iterable[ImageSource],
        concurrency: int,
        errors: bool,
    ) -> Iterator[Any]:
        try:
            yield from ordered_map(classify, images, concurrency, return_exceptions=errors)
        finally:
            self._clients.close_finished_threads()

    def _classify(self, image: ImageSource, parameters: dict[str, Any] | None) -> list[Prediction]:
        rows = image_rows([load_image(image)])

        def attempt() -> list[Prediction]:
            result = self._call(lambda client: self._infer(client, rows, parameters), self.timeouts.request_s)
            return predictions_from(result)[0]

        return self.retry.call(attempt)

    # --- health and metadata --------------------------------------------------------------------

    def is_live(self) -> bool:
        """Whether the server answers at all.

        Returns
        -------
        bool
            False also when it cannot be reached within ``connect_timeout_s``.
        """
        return self._probe(lambda client: client.is_server_live(**self._transport.control_kwargs))

    def is_ready(self) -> bool:
        """Whether the server and the model are ready for requests.

        Returns
        -------
        bool
            False also when the server cannot be reached within ``connect_timeout_s``.
        """
        kwargs = self._transport.control_kwargs
        return self._probe(
            lambda client: client.is_server_ready(**kwargs) and client.is_model_ready(self.model, **kwargs)
        )

    def model_metadata(self) -> ModelMetadata:
        """The model's name, versions, platform, inputs and outputs, as the server reports them.

        Returns
        -------
        ModelMetadata
            The same over HTTP and gRPC.

        Raises
        ------
        ModelNotReady
            The server does not know the model.
        ServerUnavailable, Timeout, Unauthorized, ServerError
            As for ``classify`` (within ``connect_timeout_s``).
        """
        data = self.retry.call(lambda: self._call(self._metadata, self.timeouts.connect_s))
        return ModelMetadata.from_json(data)

    def served_weights(self) -> dict[str, str]:
        """What the server says it serves: the ``densenet`` model's record of its weights.

        Returns
        -------
        dict[str, str]
            ``weights`` (a description), ``source`` (zoo, torchvision, seeded, ...), ``source_sha256``
            (the downloaded file's) and ``preprocessing`` (the preset they were trained with), as
            ``densenet-build model`` recorded them in the config; missing keys are absent.

        Raises
        ------
        ModelNotReady, ServerUnavailable, Timeout, Unauthorized, ServerError
            As for ``model_metadata``.
        """
        config = self.retry.call(lambda: self._call(self._densenet_config, self.timeouts.connect_s))
        parameters = config_parameters(config.get("config", config))  # gRPC's JSON wraps it in "config"
        return {key: parameters[key] for key in RECORDED_KEYS if key in parameters}

    def wait_until_ready(self, timeout_s: float = 60.0, poll_s: float = 0.5) -> None:
        """Block until ``is_ready()``, asking every ``poll_s`` seconds.

        Parameters
        ----------
        timeout_s
            How long to wait in all.
        poll_s
            The pause between two questions.

        Raises
        ------
        ServerUnavailable
            After ``timeout_s``, when the server does not answer at all.
        ModelNotReady
            After ``timeout_s``, when it answers but the model is not ready.
        """
        deadline = time.monotonic() + timeout_s
        while not self.is_ready():
            if time.monotonic() >= deadline:
                if not self.is_live():
                    raise ServerUnavailable(f"cannot reach the server at {self.url} (waited {timeout_s:g}s)")
                raise ModelNotReady(f"model {self.model!r} at {self.url} not ready after {timeout_s:g}s")
            time.sleep(poll_s)

    # --- plumbing -------------------------------------------------------------------------------

    def _probe(self, call: Callable[[Any], bool]) -> bool:
        try:
            return bool(self._call(call, self.timeouts.connect_s))
        except (ServerUnavailable, Timeout, ModelNotReady):
            return False

    def _call(self, call: Callable[[Any], Any], timeout_s: float) -> Any:
        """``call(tritonclient client of this thread)``, its errors translated into the SDK's."""
        client = self._clients.get()
        try:
            return call(client)
        except Exception as error:
            translated = self._translate(error, timeout_s)
            if translated is None:
                raise
            if isinstance(translated, RECONNECT_AFTER):
                self._clients.discard()
            raise translated from error


class _ThreadClients:
    """One tritonclient client per thread: tritonclient's HTTP client must not be shared between threads."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: dict[int, tuple[threading.Thread, Any]] = {}

    def get(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._factory()
            with self._lock:
                self._open[id(client)] = (threading.current_thread(), client)
        return client

    def discard(self) -> None:
        """Close this thread's client; the next call opens a fresh one."""
        client, self._local.client = getattr(self._local, "client", None), None
        if client is not None:
            self._close([client])

    def close_finished_threads(self) -> None:
        """Close the clients of threads that have ended (the workers of a finished ``classify_many``)."""
        with self._lock:
            done = [client for thread, client in self._open.values() if not thread.is_alive()]
        self._close(done)

    def close_all(self) -> None:
        with self._lock:
            clients = [client for _, client in self._open.values()]
        self._close(clients)
        self._local = threading.local()

    def _close(self, clients: list[Any]) -> None:
        for client in clients:
            with self._lock:
                self._open.pop(id(client), None)
            client.close()
