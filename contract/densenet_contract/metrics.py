"""Writing the python models' metrics off the request path, and as few times as possible.

Each metric update is a round trip from the python stub to the server process: made inside
``execute`` they would delay every response, on a busy host by far more than the work itself, and
one histogram observation per image would cost one round trip per image. So the models submit what
they observed to a :class:`BackgroundWriter`, whose thread writes what piled up at most once per
``interval_s``, and histograms are counters with an ``le`` label (Prometheus' bucket convention):
one increment per bucket that changed, however many images arrived. Readers of the metrics see an
update up to ``interval_s`` after the response.
"""

from __future__ import annotations

import math
import queue
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

T = TypeVar("T")
_STOP = object()
# How often the python models write their metrics: the metrics lag the answers by at most about this.
WRITE_INTERVAL_S = 1.0


def le_label(bound: float) -> str:
    """A bucket bound as its ``le`` label: ``+Inf``, whole numbers without a fraction, else repr."""
    if math.isinf(bound):
        return "+Inf"
    return str(int(bound)) if float(bound).is_integer() else repr(float(bound))


def cumulative_counts(values: Sequence[float] | np.ndarray, bounds: Sequence[float]) -> list[int]:
    """How many values are <= each bound, then all of them (+Inf): Prometheus' cumulative buckets."""
    array = np.asarray(values, dtype=np.float64)
    bins = np.searchsorted(np.asarray(bounds, dtype=np.float64), array)  # first bound >= value
    return np.cumsum(np.bincount(bins, minlength=len(bounds) + 1)).tolist()


class Metric(Protocol):
    """What the models call on a python backend metric (``pb_utils.MetricFamily(...).Metric(...)``)."""

    def increment(self, value: float) -> None: ...

    def set(self, value: float) -> None: ...


class Metrics:
    """Creates metrics through ``family(name, description, kind)`` and keeps the families alive.

    ``kind`` is ``"COUNTER"`` or ``"GAUGE"``; the glue passes a function making a
    ``pb_utils.MetricFamily`` (a family whose Python object is collected leaves the metrics port).
    """

    def __init__(self, family: Callable[[str, str, str], Any]) -> None:
        self._family = family
        self._families: dict[str, Any] = {}

    @classmethod
    def of(cls, family_class: Any) -> Metrics:
        """Metrics made by ``pb_utils.MetricFamily`` (passed in: this package never imports Triton)."""
        return cls(
            lambda name, description, kind: family_class(
                name=name, description=description, kind=getattr(family_class, kind)
            )
        )

    def _metric(self, name: str, description: str, kind: str, labels: dict[str, str]) -> Metric:
        if name not in self._families:
            self._families[name] = self._family(name, description, kind)
        return self._families[name].Metric(labels=labels)

    def counter(self, name: str, description: str, **labels: str) -> Metric:
        return self._metric(name, description, "COUNTER", labels)

    def gauge(self, name: str, description: str, **labels: str) -> Metric:
        return self._metric(name, description, "GAUGE", labels)

    def histogram(self, name: str, description: str, bounds: Sequence[float]) -> BucketCounters:
        return BucketCounters(self, name, description, bounds)


class BucketCounters:
    """A histogram as counters: ``NAME_bucket{le=...}`` (cumulative), ``NAME_count``, ``NAME_sum``.

    :meth:`add` makes one increment per bucket that changed, not one call per value.
    """

    def __init__(self, metrics: Metrics, name: str, description: str, bounds: Sequence[float]) -> None:
        self._bounds = tuple(bounds)
        self._buckets = [
            metrics.counter(f"{name}_bucket", f"{description} (cumulative buckets)", le=le_label(bound))
            for bound in (*self._bounds, math.inf)
        ]
        self._count = metrics.counter(f"{name}_count", f"{description}: how many")
        self._sum = metrics.counter(f"{name}_sum", f"{description}: their sum")

    def add(self, values: Sequence[float] | np.ndarray) -> None:
        if len(values) == 0:
            return
        for metric, count in zip(self._buckets, cumulative_counts(values, self._bounds), strict=True):
            if count:
                metric.increment(count)
        self._count.increment(len(values))
        self._sum.increment(float(np.sum(np.asarray(values, dtype=np.float64))))


class BackgroundWriter(Generic[T]):
    """Runs ``write(items)`` on one daemon thread for submitted items, oldest first, batched.

    After the first item of a batch arrives it waits ``interval_s`` for more, so the writes happen
    at most about once per interval whatever the request rate.
    """

    def __init__(
        self, write: Callable[[list[T]], None], name: str = "metrics", interval_s: float = 0.0
    ) -> None:
        self._write = write
        self._interval_s = interval_s
        self._closing = threading.Event()
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.failures = 0  # write calls that raised (reported on stderr, never to a request)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: T) -> None:
        self._queue.put(item)

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what is still queued, then stop the thread."""
        self._closing.set()
        self._queue.put(_STOP)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            items, stop = [self._queue.get()], False
            if self._interval_s and items[0] is not _STOP:
                self._closing.wait(self._interval_s)  # let more pile up (cut short by close)
            while True:  # everything that piled up goes in one call
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if any(item is _STOP for item in items):
                stop = True
                items = [item for item in items if item is not _STOP]
            if items:
                try:
                    self._write(items)  # type: ignore[arg-type]
                except Exception as error:  # a metrics failure must never stop the writer
                    self.failures += 1
                    print(f"metrics update failed: {type(error).__name__}: {error}", file=sys.stderr)
            if stop:
                return
