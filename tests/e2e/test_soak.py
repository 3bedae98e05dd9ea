"""Leaks: many mixed good/bad requests; memory and /dev/shm stay flat and every request gets one answer.

`make test` sends 600 requests; `make test-long` (LONG_TESTS=1) sends 10,000.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from tests.support import processes
from tests.support.imagefactory import cat_jpeg, png_bomb, sized_jpeg
from tests.support.inference import http_infer

pytestmark = pytest.mark.e2e

RSS_GROWTH_LIMIT_MB = 64  # after warm-up; allocator arenas and caches settle well inside this
# The python backend grows its shared-memory regions in 1 MiB steps up to the concurrency's
# high-water mark; a leak would grow them with the request count instead.
SHM_GROWTH_LIMIT_MB = 4


def tree_rss_mb(root: int) -> float:
    return processes.tree_rss(root) / 2**20


def server_shm_mb(root: int) -> float:
    """/dev/shm used by this server's python stubs (each names its region on its command line)."""
    regions = {
        word
        for cmd in processes.descendants(root).values()
        for word in cmd.split()
        if word.startswith("triton_python_backend_shm_region")
    }
    return sum((Path("/dev/shm") / region).stat().st_size for region in regions) / 2**20


def test_mixed_requests_do_not_leak(server, http_url, long_run):
    total = 10_000 if long_run else 600
    workload = [
        ("good", sized_jpeg(160, 120)),
        ("good", cat_jpeg()),
        ("bad", b"not an image at all"),
        ("bad", cat_jpeg()[:5000]),
        ("bad", png_bomb()),
    ]
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    local = threading.local()

    def send(index: int) -> None:
        if not hasattr(local, "client"):
            local.client = httpclient.InferenceServerClient(http_url, network_timeout=60)
        kind, data = workload[index % len(workload)]
        try:
            http_infer(local.client, [data])
            outcome = f"{kind}:ok"
        except InferenceServerException as error:
            outcome = f"{kind}:{error.status()}"
        with lock:
            counts[outcome] += 1

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send, range(100)))  # warm-up: arenas, caches and shm regions settle
        counts.clear()
        rss_before, shm_before = tree_rss_mb(server.process.pid), server_shm_mb(server.process.pid)
        list(pool.map(send, range(total)))
        rss_after, shm_after = tree_rss_mb(server.process.pid), server_shm_mb(server.process.pid)

    good = total * 2 // 5 + (1 if total % 5 > 0 else 0) + (1 if total % 5 > 1 else 0)
    assert counts == Counter({"good:ok": good, "bad:400": total - good}), counts
    print(
        f"\n{total} requests: server RSS {rss_before:.0f} -> {rss_after:.0f} MB, "
        f"/dev/shm {shm_before:.1f} -> {shm_after:.1f} MB"
    )
    assert rss_after - rss_before < RSS_GROWTH_LIMIT_MB
    assert shm_after - shm_before <= SHM_GROWTH_LIMIT_MB
    assert server.process.poll() is None
