"""Helpers for the client SDK's end-to-end tests: images that finish out of order, comparisons, a gauge."""

from __future__ import annotations

import threading

import numpy as np

from densenet_client import Prediction
from tests.support.imagefactory import cat_jpeg, encode, photo, sized_jpeg


def mixed_images() -> list[bytes]:
    """Real photos of different sizes and formats, so concurrent requests finish out of order."""
    return [
        sized_jpeg(2400, 1800),
        cat_jpeg(),
        sized_jpeg(224, 224),
        encode(photo("astronaut.png"), "PNG"),
        sized_jpeg(1200, 900, "astronaut.png"),
        sized_jpeg(320, 240, "rocket.jpg"),
        encode(photo("coffee.png"), "PNG"),
        sized_jpeg(640, 480, "motorcycle_left.png"),
    ]


def ids_and_scores(predictions: list[Prediction]) -> tuple[list[int], np.ndarray]:
    return [p.class_id for p in predictions], np.array([p.probability for p in predictions], np.float32)


def assert_same(predictions: list[Prediction], expected: tuple[list[int], np.ndarray]) -> None:
    ids, scores = ids_and_scores(predictions)
    assert ids == list(expected[0])
    np.testing.assert_allclose(scores, expected[1], rtol=1e-6)


class Gauge:
    """Wraps a tritonclient method (plain or async) to count the calls in flight and the most at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.most = self.calls = 0

    def _enter(self) -> None:
        with self.lock:
            self.now += 1
            self.calls += 1
            self.most = max(self.most, self.now)

    def _leave(self) -> None:
        with self.lock:
            self.now -= 1

    def wrap(self, method):
        def counted(*args, **kwargs):
            self._enter()
            try:
                return method(*args, **kwargs)
            finally:
                self._leave()

        return counted

    def wrap_async(self, method):
        async def counted(*args, **kwargs):
            self._enter()
            try:
                return await method(*args, **kwargs)
            finally:
                self._leave()

        return counted


def bare_answers(http_url: str):
    """What plain tritonclient answers for some bytes: (class ids, scores) of the top k, per call."""
    import tritonclient.http

    from tests.support.inference import http_infer, results

    def answer(data: bytes, top_k: int | None = None) -> tuple[list[int], np.ndarray]:
        with tritonclient.http.InferenceServerClient(http_url, network_timeout=60) as raw:
            _, scores, ids = results(http_infer(raw, [data], top_k=top_k))
        return ids[0].tolist(), scores[0]

    return answer
