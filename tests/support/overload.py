"""Closed-loop load through network mode's edge, for the overload test and its benchmark.

``clients`` threads each hold one keep-alive HTTPS connection to 127.0.0.1 and send the raw-binary
request for one image, ``requests`` times back to back (a refusal is not retried: the next request
follows at once, the harshest client). Every answer is recorded: its status, its seconds, its
Retry-After, or the exception that stood for it (a timeout, a reset). Bounded in count and time.
"""

from __future__ import annotations

import http.client
import ssl
import statistics
import threading
import time
from dataclasses import dataclass

from tests.support import processes

INFER = "/v2/models/densenet_ensemble/infer"


@dataclass(frozen=True)
class Outcome:
    status: int | None  # None: no HTTP answer (the exception is in ``error``)
    seconds: float
    retry_after: str | None = None
    body: str = ""
    error: str | None = None


def drive(
    port: int,
    context: ssl.SSLContext,
    image: bytes,
    clients: int,
    requests: int,
    deadline_s: float = 300,
    timeout_s: float = 120,
) -> list[Outcome]:
    """``clients`` x ``requests`` infer requests (fewer past ``deadline_s``); every outcome."""
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)
    deadline = time.monotonic() + deadline_s
    headers = {"Inference-Header-Content-Length": "0", "Content-Type": "application/octet-stream"}

    def client() -> None:
        connection = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout_s, context=context)
        connection.connect()  # the TLS handshake before the start: the requests arrive together
        start.wait()
        for _ in range(requests):
            if time.monotonic() > deadline:
                break
            began = time.monotonic()
            try:
                connection.request("POST", INFER, body=image, headers=headers)
                response = connection.getresponse()
                body = response.read()
                outcome = Outcome(
                    response.status,
                    time.monotonic() - began,
                    response.getheader("Retry-After"),
                    body[:300].decode(errors="replace") if response.status != 200 else "",
                )
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
            except (OSError, http.client.HTTPException) as error:
                outcome = Outcome(None, time.monotonic() - began, error=f"{type(error).__name__}: {error}")
                connection.close()
            with lock:
                outcomes.append(outcome)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def summary(outcomes: list[Outcome], seconds: float) -> dict[str, float]:
    admitted = [o.seconds for o in outcomes if o.status == 200]
    refused = [o.seconds for o in outcomes if o.status in (429, 503)]
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
    }


def server_rss(server_pid: int) -> int:
    """Resident bytes of tritonserver and every process under it (the python-backend stubs)."""
    return processes.tree_rss(server_pid)


def instances(config_text: str) -> int:
    """The model instances a config runs (the sum of its instance_group counts)."""
    from densenet_build.repository.pbtxt import parse_model_config

    return sum(group.count or 1 for group in parse_model_config(config_text).instance_group) or 1
