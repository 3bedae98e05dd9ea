"""What the prediction-quality metrics cost: the ensemble with them on and off (`make bench-quality`).

Two scratch repositories differ only in ``quality_metrics`` (preprocess and postprocess). Both
servers run at once and are measured in alternation, so that a shared machine's changing load hits
both alike (measured one after the other, identical runs on the 2-core development machine differed
by 2x):
- concurrency 1: pairs of requests, one to each server (which goes first alternates), the same
  JPEG of the benchmark's corpus in both; the median latency of each and the median of the pairs'
  ratios;
- concurrency N (default 4, the best point of `make bench` on 2 cores): closed-loop windows on one
  server then the other, alternating; the median images/s of each;
- from Triton's statistics, preprocess and postprocess compute time per request.
Prints the figures and writes JSON to --output.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from densenet_build.repository.pbtxt import update_parameters
from densenet_serve import ServerOptions, TritonServer
from densenet_serve.core import ADMIN_HEADER
from densenet_serve.ports import free_port
from tests.benchmarks.bench_ensemble import ClosedLoop, corpus
from tests.benchmarks.bench_report import model_stats, stats_delta
from tests.support.inference import http_infer
from tests.support.scratch import scratch_repository, seeded_onnx

REPO = Path(__file__).resolve().parents[2]
TOKEN = "bench-quality-token"


def repository(workdir: Path, metrics: bool) -> Path:
    path = scratch_repository(
        REPO / "model_repository",
        workdir / f"metrics-{metrics}",
        seeded_onnx(REPO / ".cache" / "test-models"),
    )
    for model in ("preprocess", "postprocess"):
        update_parameters(path / model / "config.pbtxt", {"quality_metrics": str(metrics).lower()})
    return path


def start(repo: Path, log: Path) -> tuple[TritonServer, str]:
    options = ServerOptions(
        model_repository=repo,
        http_port=free_port(),
        grpc_port=free_port(),
        metrics_port=free_port(),
        admin_token=TOKEN,
    )
    server = TritonServer(options, log_path=log).start()
    server.wait_ready(timeout_s=300)
    return server, f"127.0.0.1:{options.http_port}"


def lone_pairs(urls: dict[str, str], images: list[bytes], pairs: int) -> dict:
    """Concurrency 1: one request to each server per pair, the same image, alternating who goes first."""
    import tritonclient.http as httpclient

    clients = {mode: httpclient.InferenceServerClient(url, network_timeout=120) for mode, url in urls.items()}
    headers = {ADMIN_HEADER: TOKEN}
    try:
        for client in clients.values():
            for image in images:  # every image size once, not timed
                http_infer(client, [image])
        before = {mode: model_stats(client, headers) for mode, client in clients.items()}
        latencies: dict[str, list[float]] = {mode: [] for mode in clients}
        for i in range(pairs):
            order = ("on", "off") if i % 2 == 0 else ("off", "on")
            for mode in order:
                started = time.perf_counter()
                http_infer(clients[mode], [images[i % len(images)]])
                latencies[mode].append((time.perf_counter() - started) * 1000)
        stats = {mode: stats_delta(before[mode], model_stats(c, headers)) for mode, c in clients.items()}
    finally:
        for client in clients.values():
            client.close()
    ratios = [on / off for on, off in zip(latencies["on"], latencies["off"], strict=True)]
    return {
        "c1_median_ms": {mode: statistics.median(values) for mode, values in latencies.items()},
        "c1_median_pair_ratio": statistics.median(ratios),
        "compute_ms": {
            mode: {
                model: stats[mode][model]["compute_ms_per_request"] for model in ("preprocess", "postprocess")
            }
            for mode in stats
        },
    }


def loaded_windows(
    urls: dict[str, str], images: list[bytes], concurrency: int, windows: int, seconds: float
) -> dict:
    """Concurrency N: closed-loop windows on one server then the other, alternating."""
    import tritonclient.http as httpclient

    def worker(url: str):
        def make():
            client = httpclient.InferenceServerClient(url, network_timeout=120)
            state = {"i": 0}

            def work() -> int:
                state["i"] += 1
                http_infer(client, [images[state["i"] % len(images)]])
                return 1

            work.close = client.close  # type: ignore[attr-defined]
            return work

        return make

    rates: dict[str, list[float]] = {mode: [] for mode in urls}
    for i in range(windows):
        for mode in ("on", "off") if i % 2 == 0 else ("off", "on"):
            with ClosedLoop([worker(urls[mode])] * concurrency) as loop:
                loop.window(1.0)  # ramp-up, not counted
                rates[mode].append(loop.window(seconds).images_per_s)
    ratios = [on / off for on, off in zip(rates["on"], rates["off"], strict=True)]
    return {
        f"c{concurrency}_images_per_s": {mode: statistics.median(values) for mode, values in rates.items()},
        f"c{concurrency}_windows": rates,
        f"c{concurrency}_pair_ratios": ratios,  # each on window / the off window next to it
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=200, help="request pairs at concurrency 1")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--windows", type=int, default=6, help="closed-loop windows per server")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per closed-loop window")
    parser.add_argument("--output", type=Path, default=REPO / "bench-results" / "quality-metrics.json")
    args = parser.parse_args()
    images = corpus()
    servers = []
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
        workdir = Path(tmp)
        try:
            urls = {}
            for mode, metrics in (("on", True), ("off", False)):
                server, urls[mode] = start(repository(workdir, metrics), workdir / f"{mode}.log")
                servers.append(server)
            result = lone_pairs(urls, images, args.pairs)
            result.update(loaded_windows(urls, images, args.concurrency, args.windows, args.seconds))
        finally:
            for server in servers:
                server.stop()
    c1, loaded = result["c1_median_ms"], result[f"c{args.concurrency}_images_per_s"]
    print(f"metrics on / off, both servers measured in alternation ({os.cpu_count()} CPUs):")
    print(
        f"  concurrency 1, {args.pairs} request pairs: median {c1['on']:.1f} / {c1['off']:.1f} ms; "
        f"median ratio of the pairs {result['c1_median_pair_ratio']:.3f}"
    )
    ratios = result[f"c{args.concurrency}_pair_ratios"]
    print(
        f"  concurrency {args.concurrency}, {args.windows} windows of {args.seconds:g} s each: median "
        f"{loaded['on']:.2f} / {loaded['off']:.2f} images/s = {loaded['on'] / loaded['off']:.3f}; "
        f"adjacent windows' ratios: median {statistics.median(ratios):.3f}, "
        f"{min(ratios):.2f} to {max(ratios):.2f}"
    )
    for model in ("preprocess", "postprocess"):
        on, off = (result["compute_ms"][mode][model] for mode in ("on", "off"))
        print(f"  {model} compute per request at concurrency 1: {on:.2f} / {off:.2f} ms")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
