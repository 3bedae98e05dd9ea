"""Ordered results with bounded concurrency, on threads and on asyncio."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from densenet_client import ConfigurationError, InvalidImage
from densenet_client.streaming import ordered_map, ordered_map_async


class Gauge:
    """Counts calls in flight and remembers the most seen at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.most = 0

    def __enter__(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.now -= 1


# Early items take longest, so they finish last: order must come from the input, not completion.
DELAYS = [0.08, 0.06, 0.04, 0.02, 0.0, 0.05, 0.01, 0.03]


def test_results_come_in_input_order_and_at_most_concurrency_run_at_once():
    gauge = Gauge()

    def work(index: int) -> int:
        with gauge:
            time.sleep(DELAYS[index])
        return index * 10

    assert list(ordered_map(work, range(len(DELAYS)), 3)) == [i * 10 for i in range(len(DELAYS))]
    assert gauge.most == 3


def test_inputs_are_read_lazily():
    pulled = []

    def items():
        for index in range(1000):
            pulled.append(index)
            yield index

    results = ordered_map(lambda i: i, items(), 4)
    assert next(results) == 0
    assert len(pulled) <= 5  # the window, plus the one that made it full
    results.close()


def test_errors_are_raised_in_place_or_returned_in_place():
    def work(index: int) -> int:
        if index == 2:
            raise InvalidImage(f"bad image {index}")
        return index

    results = ordered_map(work, range(5), 2)
    assert [next(results), next(results)] == [0, 1]
    with pytest.raises(InvalidImage, match="bad image 2"):
        next(results)
    outcomes = list(ordered_map(work, range(5), 2, return_exceptions=True))
    assert outcomes[:2] == [0, 1]
    assert isinstance(outcomes[2], InvalidImage)
    assert outcomes[3:] == [3, 4]


def test_foreign_errors_are_always_raised():
    def work(index: int) -> int:
        raise KeyError(index)

    with pytest.raises(KeyError):
        list(ordered_map(work, range(3), 2, return_exceptions=True))


def test_stopping_early_cancels_what_has_not_started():
    started = []

    def work(index: int) -> int:
        started.append(index)
        time.sleep(0.02)
        return index

    for result in ordered_map(work, range(100), 2):
        if result == 1:
            break
    time.sleep(0.1)
    assert len(started) <= 4


@pytest.mark.parametrize("concurrency", [0, -1, 1.5, True, "4"])
def test_concurrency_must_be_a_positive_whole_number(concurrency):
    with pytest.raises(ConfigurationError, match="concurrency"):
        list(ordered_map(lambda i: i, range(2), concurrency))


def test_async_results_in_order_with_bounded_concurrency():
    gauge = Gauge()

    async def work(index: int) -> int:
        with gauge:
            await asyncio.sleep(DELAYS[index])
        return index * 10

    async def collect(items):
        return [r async for r in ordered_map_async(work, items, 3)]

    assert asyncio.run(collect(range(len(DELAYS)))) == [i * 10 for i in range(len(DELAYS))]
    assert gauge.most == 3

    async def async_items():
        for index in range(len(DELAYS)):
            yield index

    assert asyncio.run(collect(async_items())) == [i * 10 for i in range(len(DELAYS))]


def test_async_errors_returned_in_place_and_early_stop_cancels():
    started = []

    async def work(index: int) -> int:
        started.append(index)
        if index == 1:
            raise InvalidImage("bad")
        await asyncio.sleep(0.01)
        return index

    async def run():
        outcomes = [r async for r in ordered_map_async(work, range(4), 2, return_exceptions=True)]
        started.clear()
        stream = ordered_map_async(work, range(100), 2)
        first = await stream.__anext__()
        await stream.aclose()
        await asyncio.sleep(0.05)
        return outcomes, first

    outcomes, first = asyncio.run(run())
    assert outcomes[0] == 0
    assert isinstance(outcomes[1], InvalidImage)
    assert outcomes[2:] == [2, 3]
    assert first == 0
    assert len(started) <= 3
