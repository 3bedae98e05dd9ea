"""What the prediction-quality metrics cost: the ensemble with them on and off (`make bench-quality`).

Two scratch repositories differ only in ``quality_metrics`` (preprocess and postprocess). Rounds
alternate which server runs first; each round starts one server at a time (so both never share the
cores), and measures over HTTP with the benchmark's corpus of real JPEGs:
- concurrency 1: the median latency of one request after another;
- concurrency N (default 4, the best point of `make bench` on 2 cores): images/s in a closed loop;
- from Triton's statistics, preprocess and postprocess compute time per request, where the metrics
  run (densenet's compute time dominates and does not change).
Prints the medians over the rounds for each setting and their ratios, and writes JSON to --output.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: imagefactory, scratch

from bench_ensemble import ClosedLoop, corpus
from bench_report import model_stats, stats_delta
from inference import http_infer
from scratch import scratch_repository, seeded_onnx

from densenet_build.pbtxt import update_parameters
from densenet_serve import ServerOptions, TritonServer
from densenet_serve.core import ADMIN_HEADER
from densenet_serve.ports import free_port

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


def measure(
    repo: Path, log: Path, images: list[bytes], requests: int, concurrency: int, seconds: float
) -> dict:
    import tritonclient.http as httpclient

    options = ServerOptions(
        model_repository=repo,
        http_port=free_port(),
        grpc_port=free_port(),
        metrics_port=free_port(),
        admin_token=TOKEN,
    )
    url = f"127.0.0.1:{options.http_port}"
    with TritonServer(options, log_path=log) as server:
        server.wait_ready(timeout_s=300)
        with httpclient.InferenceServerClient(url, network_timeout=120) as client:
            for image in images:  # warm every image size once
                http_infer(client, [image])
            headers = {ADMIN_HEADER: TOKEN}
            before = model_stats(client, headers)
            latencies = []
            for i in range(requests):
                started = time.perf_counter()
                http_infer(client, [images[i % len(images)]])
                latencies.append((time.perf_counter() - started) * 1000)
            delta = stats_delta(before, model_stats(client, headers))

        def worker():
            client = httpclient.InferenceServerClient(url, network_timeout=120)
            state = {"i": 0}

            def work() -> int:
                state["i"] += 1
                http_infer(client, [images[state["i"] % len(images)]])
                return 1

            work.close = client.close  # type: ignore[attr-defined]
            return work

        with ClosedLoop([worker] * concurrency) as loop:
            loop.window(2.0)  # ramp-up, not counted
            window = loop.window(seconds)
    return {
        "c1_median_ms": statistics.median(latencies),
        "preprocess_compute_ms": delta["preprocess"]["compute_ms_per_request"],
        "postprocess_compute_ms": delta["postprocess"]["compute_ms_per_request"],
        f"c{concurrency}_images_per_s": window.images_per_s,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=64, help="sequential requests per round")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0, help="closed-loop window per round")
    parser.add_argument("--output", type=Path, default=REPO / "bench-results" / "quality-metrics.json")
    args = parser.parse_args()
    images = corpus()
    results: dict[str, list[dict]] = {"on": [], "off": []}
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
        workdir = Path(tmp)
        repos = {"on": repository(workdir, True), "off": repository(workdir, False)}
        for round_ in range(args.rounds):
            for mode in ("on", "off") if round_ % 2 == 0 else ("off", "on"):
                result = measure(
                    repos[mode],
                    workdir / f"{mode}-{round_}.log",
                    images,
                    args.requests,
                    args.concurrency,
                    args.seconds,
                )
                results[mode].append(result)
                print(
                    f"round {round_ + 1} metrics {mode}: "
                    + ", ".join(f"{k} {v:.2f}" for k, v in result.items())
                )
    keys = list(results["on"][0])
    summary = {mode: {k: statistics.median(r[k] for r in rs) for k in keys} for mode, rs in results.items()}
    print(f"\nmedians over {args.rounds} rounds (metrics on / off = ratio):")
    for key in keys:
        on, off = summary["on"][key], summary["off"][key]
        print(f"  {key:<28} {on:8.2f} / {off:8.2f} = {on / off:.3f}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"rounds": results, "medians": summary}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
