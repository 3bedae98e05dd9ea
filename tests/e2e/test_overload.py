"""Overload through network mode: far more clients than the host can serve get answers, fast.

The served repository's own queue policies decide (`densenet-build queues`: preprocess and the CPU
densenet each hold the wait budget's worth of requests); the edge's per-client limits are off here,
so that Triton's queues, not nginx, refuse. First as many closed-loop clients as the smaller queue:
none may be refused (each request waits in at most one queue, and no more than that many are in the
server). Then twice as many clients as the server can hold at all (every one on 127.0.0.1, a bounded
number of requests each). What is asserted is behaviour: every request is answered 200 or a busy 503
with Retry-After (no other 5xx, no timeout, no reset), refusals come faster than admissions, memory
stays within the bound docs/operating.md states, and the server is ready afterwards. Timings are
figures of `make bench-overload` (tests/benchmarks/bench_overload.py), not assertions.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from densenet_build.repository.configs import read_config
from densenet_build.repository.queues import DEPLOYMENTS, configured_sizes, instances_of
from tests.support.imagefactory import cat_jpeg
from tests.support.network import NetworkLauncher, start_network_launcher
from tests.support.overload import drive, server_rss, summary

pytestmark = pytest.mark.e2e

CPU = DEPLOYMENTS[0]


@pytest.fixture(scope="module")
def edge(model_repository: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetworkLauncher]:
    launcher = start_network_launcher(
        model_repository,
        tmp_path_factory.mktemp("overload"),
        "--rate-limit", "0", "--connection-limit", "0",
    )  # fmt: skip
    yield launcher
    assert launcher.stop() == 0


def test_overload_is_refused_fast_and_the_admitted_keep_their_latency(edge, model_repository):
    servable = instances_of(read_config(model_repository / CPU.densenet))
    preprocess_queue, densenet_queue = configured_sizes(model_repository, CPU)
    # Preprocess: its queue and a batch formed from it; densenet: its queue and one per instance.
    holds = 2 * preprocess_queue + 1 + densenet_queue + servable
    image, context = cat_jpeg(), edge.ssl_context()
    pid = edge.tritonserver_pid()
    drive(edge.https_port, context, image, clients=servable, requests=2)  # warm every path

    within = min(preprocess_queue, densenet_queue) - 1  # and the watchdog's health inference
    base = summary(drive(edge.https_port, context, image, clients=within, requests=3), 1)
    assert base["admitted"] == base["requests"], base  # within the queues: nobody is refused

    started = time.monotonic()
    outcomes = drive(edge.https_port, context, image, clients=2 * holds, requests=5)
    overloaded = summary(outcomes, time.monotonic() - started)
    rss = server_rss(pid)
    print(f"\nbase {base}\noverloaded {overloaded}\nrss {rss / 2**20:.0f} MiB")  # shown on failure

    assert not [o for o in outcomes if o.status is None], "timeouts or resets"
    assert {o.status for o in outcomes} <= {200, 503}, {o.status for o in outcomes}
    busy = [o for o in outcomes if o.status == 503]
    assert busy, "nothing was refused: the clients did not overload the server"
    assert overloaded["admitted"] > 0
    for refusal in busy:
        assert refusal.retry_after == "1"
        assert "server busy: its queues are full" in refusal.body
    # A refusal skips the model (most skip decoding too): it is answered before the admitted ones.
    assert overloaded["refused_p50_s"] < overloaded["admitted_p50_s"], overloaded
    # Latencies and throughput are figures, not assertions (a shared host's noise alone moves
    # them): printed above, and by `make bench-overload`.
    assert rss < CPU.memory_bound, rss  # docs/operating.md, "Overload"

    # Afterwards: the same server, nothing restarted (the watchdog saw it busy), a request admitted again.
    assert edge.tritonserver_pid() == pid
    assert "restarting" not in edge.output()  # busy health checks restart nothing
    after = drive(edge.https_port, context, image, clients=1, requests=1)
    assert [o.status for o in after] == [200]
