"""Load on the ensemble over keep-alive HTTP(S) to 127.0.0.1, for the overload tests and benchmark.

Closed loop (``drive``): ``clients`` threads each send the raw-binary request for one image, the next
the moment one is answered: at most ``clients`` requests are ever in the server. After a refusal a
client sends again at once (the harshest client), or with ``backoff`` waits the answer's Retry-After
(1 s when it has none) as docs/client.md tells raw clients to. Open loop (``Arrivals``): requests
arrive at a fixed rate whatever the answers, as real traffic does; each one's seconds count from when
it was due, so a client that fell behind shows in the figures instead of hiding the server's delay.
Every answer is recorded: its status, its seconds, its Retry-After, or the exception that stood for
it (a timeout, a reset). Bounded in count and time.
"""

from __future__ import annotations

import http.client
import itertools
import random
import ssl
import statistics
import threading
import time
from dataclasses import dataclass

from tests.support import processes

INFER = "/v2/models/densenet_ensemble/infer"
HEADERS = {"Inference-Header-Content-Length": "0", "Content-Type": "application/octet-stream"}
BUSY = (429, 503)


@dataclass(frozen=True)
class Outcome:
    status: int | None  # None: no HTTP answer (the exception is in ``error``)
    seconds: float
    retry_after: str | None = None
    body: str = ""
    error: str | None = None
    late_s: float = 0.0  # open loop: how long after it was due the request was sent


class Client:
    """One keep-alive connection to 127.0.0.1 (HTTPS with ``context``, else HTTP), reopened as needed."""

    def __init__(self, port: int, context: ssl.SSLContext | None, timeout_s: float) -> None:
        self.port, self.context, self.timeout_s = port, context, timeout_s
        self.connection: http.client.HTTPConnection | None = None

    def connect(self) -> None:
        if self.context is not None:
            self.connection = http.client.HTTPSConnection(
                "127.0.0.1", self.port, timeout=self.timeout_s, context=self.context
            )
        else:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout_s)
        self.connection.connect()  # (the TLS handshake) before the clock starts

    def infer(self, image: bytes, began: float, late_s: float = 0.0) -> Outcome:
        """Send one request; its seconds count from ``began`` (a ``time.monotonic()``)."""
        try:
            if self.connection is None:
                self.connect()
            assert self.connection is not None
            self.connection.request("POST", INFER, body=image, headers=HEADERS)
            response = self.connection.getresponse()
            body = response.read()
            outcome = Outcome(
                response.status,
                time.monotonic() - began,
                response.getheader("Retry-After"),
                body[:300].decode(errors="replace") if response.status != 200 else "",
                late_s=late_s,
            )
            if response.getheader("Connection", "").lower() == "close":
                self.close()
        except (OSError, http.client.HTTPException) as error:
            outcome = Outcome(None, time.monotonic() - began, error=f"{type(error).__name__}: {error}")
            self.close()
        return outcome

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def drive(
    port: int,
    context: ssl.SSLContext | None,
    image: bytes,
    clients: int,
    requests: int,
    deadline_s: float = 300,
    timeout_s: float = 120,
    backoff: bool = False,
) -> list[Outcome]:
    """Closed loop: ``clients`` x ``requests`` infer requests (fewer past ``deadline_s``); every outcome."""
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)
    deadline = time.monotonic() + deadline_s

    def client() -> None:
        connection = Client(port, context, timeout_s)
        connection.connect()
        start.wait()  # connected: the first requests arrive together
        for _ in range(requests):
            if time.monotonic() > deadline:
                break
            outcome = connection.infer(image, time.monotonic())
            with lock:
                outcomes.append(outcome)
            if backoff and outcome.status in BUSY:
                wait = float(outcome.retry_after or 1) * (1 + 0.2 * random.random())
                time.sleep(max(0.0, min(wait, deadline - time.monotonic())))
        connection.close()

    run_threads(client, clients)
    return outcomes


@dataclass(frozen=True)
class Arrivals:
    """Open loop: requests for ``image`` due at a fixed rate, whatever the answers."""

    port: int
    context: ssl.SSLContext | None
    image: bytes
    workers: int = 128  # connections sending them: more than can be waiting at once

    def run(self, rate_per_s: float, seconds: float) -> list[Outcome]:
        """Requests due every ``1 / rate_per_s`` s for ``seconds``; every outcome."""
        numbers, total = itertools.count(), int(rate_per_s * seconds)
        start, began = threading.Barrier(self.workers), []
        outcomes: list[Outcome] = []
        lock = threading.Lock()

        def worker() -> None:
            connection = Client(self.port, self.context, timeout_s=60)
            connection.connect()
            if start.wait() == 0:
                began.append(time.monotonic() + 0.05)
            start.wait()
            while (number := next(numbers)) < total:
                due = began[0] + number / rate_per_s
                time.sleep(max(0.0, due - time.monotonic()))
                outcome = connection.infer(self.image, due, late_s=max(0.0, time.monotonic() - due))
                with lock:
                    outcomes.append(outcome)
            connection.close()

        run_threads(worker, self.workers)
        return outcomes


def run_threads(target, count: int) -> None:
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def summary(outcomes: list[Outcome], seconds: float) -> dict[str, float]:
    admitted = [o.seconds for o in outcomes if o.status == 200]
    refused = [o.seconds for o in outcomes if o.status in BUSY]
    return {
        "requests": len(outcomes),
        "admitted": len(admitted),
        "refused": len(refused),
        "other": len(outcomes) - len(admitted) - len(refused),
        "admitted_per_s": len(admitted) / seconds if seconds else float("nan"),
        "admitted_p50_s": percentile(admitted, 0.5),
        "admitted_p99_s": percentile(admitted, 0.99),
        "refused_p50_s": percentile(refused, 0.5),
        "refused_p99_s": percentile(refused, 0.99),
        "refused_mean_s": statistics.fmean(refused) if refused else float("nan"),
        "late_p99_s": percentile([o.late_s for o in outcomes], 0.99),
    }


def server_rss(server_pid: int) -> int:
    """Resident bytes of tritonserver and every process under it (the python-backend stubs)."""
    return processes.tree_rss(server_pid)


class PeakRss:
    """The largest ``server_rss`` seen, sampled every ``interval_s`` while the block runs."""

    def __init__(self, server_pid: int, interval_s: float = 0.25) -> None:
        self.pid, self.interval_s, self.peak = server_pid, interval_s, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, server_rss(self.pid))
            if self._stop.wait(self.interval_s):
                return

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
