"""Ensemble benchmark: `make bench` (or `python tests/benchmarks/bench_ensemble.py --help`).

Measures in one run on one machine, following perf_analyzer's conventions (measurement windows
repeated until three in a row agree within 10%, concurrency sweep, p50/p95/p99):
1. the limit: DenseNet alone in ONNX Runtime in-process on the served ONNX file, batch 1 and the
   best batch, with default session options and with the CPU config's thread settings;
2. densenet_ensemble on the embedded server with a corpus of real JPEGs of varied sizes, over
   HTTP and gRPC, at each concurrency: images/s and latency percentiles;
3. where the time goes: per-model queue and compute time from Triton's statistics API;
4. ratios: best ensemble images/s over the limit; latency at concurrency 1 minus the summed
   per-model compute time (the serving overhead).
Writes JSON, a Markdown table and a PNG plot to --output (default bench-results/).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: imagefactory, ports

from imagefactory import encode, photo

from densenet_serve import MODELS, ServerOptions, TritonServer
from densenet_serve.placement import Placement, cpu_instance_placements, ort_session_options
from densenet_serve.scratch import free_port
from densenet_serve.server import ADMIN_HEADER
from preprocess import PreprocessConfig, Preprocessor

REPO = Path(__file__).resolve().parents[2]
TARGETS = {"throughput_over_limit": 0.95, "overhead_ms_at_c1": 1.5, "p99_over_p50_at_best": 1.3}
CORPUS_SPEC = [  # (photo, width, height): varied sizes and aspect ratios, all real photographs
    ("chelsea.png", 451, 300),
    ("coffee.png", 600, 400),
    ("astronaut.png", 512, 512),
    ("rocket.jpg", 427, 640),
    ("motorcycle_left.png", 741, 497),
    ("coffee.png", 1024, 683),
    ("astronaut.png", 1280, 1280),
    ("chelsea.png", 1920, 1277),
]


def corpus() -> list[bytes]:
    return [encode(photo(name).resize((w, h)), "JPEG", quality=90) for name, w, h in CORPUS_SPEC]


@dataclass
class Window:
    images_per_s: float
    latencies_ms: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")


def stable(windows: list[Window], tolerance: float = 0.10) -> bool:
    """perf_analyzer's rule: the last three windows agree on throughput and p99 within 10%."""
    if len(windows) < 3:
        return False
    last = windows[-3:]
    for values in ([w.images_per_s for w in last], [w.percentile(99) for w in last]):
        if min(values) <= 0 or max(values) / min(values) > 1 + tolerance:
            return False
    return True


# --- 1. the in-process ONNX Runtime limit -------------------------------------------------------


def cpu_config(config_path: Path) -> tuple[dict[str, str], list[Placement]]:
    """The served CPU config's ONNX Runtime parameters and its instances' placements on this host."""
    from densenet_build.pbtxt import parse_model_config

    config = parse_model_config(config_path.read_text())
    parameters = {k: v.string_value for k, v in config.parameters.items()}
    instances = sum(group.count or 1 for group in config.instance_group) or 1
    return parameters, cpu_instance_placements(parameters, instances)


class ClosedLoop:
    """Workers calling ``work() -> images`` back to back; windows count what completes inside them."""

    def __init__(self, workers: list[Callable[[], Callable[[], int]]]) -> None:
        self.records: list[tuple[float, float, int]] = []  # (completion time, latency, images)
        self.errors = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(w,), daemon=True) for w in workers]

    def _run(self, make_work: Callable[[], Callable[[], int]]) -> None:
        work = make_work()
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                images = work()
            except Exception:
                with self._lock:
                    self.errors += 1
                continue
            finished = time.perf_counter()
            with self._lock:
                self.records.append((finished, finished - started, images))

    def __enter__(self) -> ClosedLoop:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(120)

    def window(self, seconds: float) -> Window:
        start = time.perf_counter()
        time.sleep(seconds)
        end = time.perf_counter()
        with self._lock:
            inside = [(latency, images) for t, latency, images in self.records if start <= t < end]
        return Window(sum(n for _, n in inside) / (end - start), [latency * 1000 for latency, _ in inside])

    def windows(self, window_s: float, max_windows: int) -> tuple[list[Window], bool]:
        """Windows until perf_analyzer's stability rule holds (or ``max_windows``); the last three."""
        windows: list[Window] = []
        while len(windows) < max_windows and not stable(windows):
            windows.append(self.window(window_s))
        return windows[-3:], stable(windows)


def sessions_throughput(
    onnx_path: Path,
    x: np.ndarray,
    sessions: list[tuple[object, tuple[int, ...] | None]],
    window_s: float,
    max_windows: int,
) -> tuple[float, bool]:
    """Images/s of in-process sessions, each ``(SessionOptions, pinned CPUs or None)``, run concurrently."""
    import onnxruntime as ort

    def worker(options, cpus) -> Callable[[], Callable[[], int]]:
        def make_work() -> Callable[[], int]:
            if cpus is not None:
                os.sched_setaffinity(0, cpus)  # this thread only, the one ONNX Runtime runs on
            session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
            session.run(None, {"data_0": x})
            return lambda: (session.run(None, {"data_0": x}), len(x))[1]

        return make_work

    with ClosedLoop([worker(options, cpus) for options, cpus in sessions]) as loop:
        while len(loop.records) < 2 * len(sessions):  # every session loaded and warm
            time.sleep(0.1)
        loop.window(min(window_s, 2.0))
        windows, ok = loop.windows(window_s, max_windows)
    return statistics.median(w.images_per_s for w in windows), ok


def ort_limit(
    onnx_path: Path, pixels: np.ndarray, window_s: float, max_windows: int, batches: tuple[int, ...]
) -> dict:
    """The limit: one in-process session, default options or one instance's configured threads.

    Also measured, but not part of the limit: all the config's instances as concurrent in-process
    sessions with the same threads and pinning, which is what the ensemble's densenet step runs.
    """
    import onnxruntime as ort

    parameters, placements = cpu_config(onnx_path.parents[1] / "configs" / "cpu.pbtxt")
    threads = placements[0].threads
    results = []
    for name, options in (
        ("default options", ort.SessionOptions()),
        (f"cpu config threads ({threads})", ort_session_options(parameters, threads)),
    ):
        for batch in batches:
            x = np.ascontiguousarray(np.resize(pixels, (batch, *pixels.shape[1:])))
            ips, ok = sessions_throughput(onnx_path, x, [(options, None)], window_s, max_windows)
            results.append({"options": name, "batch": batch, "images_per_s": ips, "stable": ok})
            print(f"  limit: {name:>24}, batch {batch}: {ips:6.1f} images/s", flush=True)
    best = max(results, key=lambda r: r["images_per_s"])
    sessions = [(ort_session_options(parameters, p.threads), p.cpus) for p in placements]
    ips, ok = sessions_throughput(onnx_path, pixels[:1], sessions, window_s, max_windows)
    pinned = "pinned" if placements[0].cpus is not None else "not pinned"
    layout = {
        "layout": f"{len(placements)} concurrent sessions x {threads} thread(s), {pinned}",
        "batch": 1,
        "images_per_s": ips,
        "stable": ok,
    }
    print(f"  not the limit: the config's {layout['layout']}, batch 1: {ips:6.1f} images/s", flush=True)
    return {"points": results, "best": best, "config_layout": layout}


# --- 2./3. the ensemble on the server -----------------------------------------------------------


def client_worker(
    protocol: str, url: str, images: list[bytes], first: int
) -> Callable[[], Callable[[], int]]:
    """One closed-loop client sending one image per request, cycling through the corpus."""

    def make_work() -> Callable[[], int]:
        if protocol == "grpc":
            import tritonclient.grpc as module

            client = module.InferenceServerClient(url)
        else:
            import tritonclient.http as module

            client = module.InferenceServerClient(url, network_timeout=120)
        position = itertools.count(first)

        def request() -> int:
            data = images[next(position) % len(images)]
            tensor = module.InferInput("IMAGE", [1, len(data)], "UINT8")
            tensor.set_data_from_numpy(np.frombuffer(data, np.uint8)[np.newaxis])
            client.infer("densenet_ensemble", [tensor])
            return 1

        return request

    return make_work


def model_stats(client, headers: dict[str, str]) -> dict[str, dict]:
    stats = {}
    for model in MODELS:
        s = client.get_inference_statistics(model, headers=headers)["model_stats"][0]
        inference = s["inference_stats"]
        stats[model] = {
            "requests": inference["success"]["count"],
            "executions": s["execution_count"],
            "inferences": s["inference_count"],
            "queue_ns": inference["queue"]["ns"],
            "compute_ns": sum(
                inference[k]["ns"] for k in ("compute_input", "compute_infer", "compute_output")
            ),
        }
    return stats


def stats_delta(before: dict, after: dict) -> dict[str, dict]:
    delta = {}
    for model in MODELS:
        b, a = before[model], after[model]
        requests = max(a["requests"] - b["requests"], 1)
        executions = max(a["executions"] - b["executions"], 1)
        delta[model] = {
            "queue_ms_per_request": (a["queue_ns"] - b["queue_ns"]) / requests / 1e6,
            "compute_ms_per_request": (a["compute_ns"] - b["compute_ns"]) / requests / 1e6,
            "avg_batch": (a["inferences"] - b["inferences"]) / executions,
        }
    return delta


def ensemble_points(
    http_url: str,
    grpc_url: str,
    images: list[bytes],
    concurrencies: list[int],
    protocols: list[str],
    window_s: float,
    max_windows: int,
    headers: dict[str, str],
) -> list[dict]:
    import tritonclient.http as httpclient

    admin = httpclient.InferenceServerClient(http_url, network_timeout=60)
    points = []
    for protocol in protocols:
        for concurrency in concurrencies:
            url = grpc_url if protocol == "grpc" else http_url
            workers = [client_worker(protocol, url, images, i) for i in range(concurrency)]
            with ClosedLoop(workers) as load:
                load.window(min(window_s, 2.0))  # warm-up: connections, first requests
                before = model_stats(admin, headers)
                used, ok = load.windows(window_s, max_windows)
                after = model_stats(admin, headers)
            latencies = [x for w in used for x in w.latencies_ms]
            point = {
                "protocol": protocol,
                "concurrency": concurrency,
                "images_per_s": statistics.median(w.images_per_s for w in used),
                "mean_ms": float(np.mean(latencies)),
                "p50_ms": float(np.percentile(latencies, 50)),
                "p95_ms": float(np.percentile(latencies, 95)),
                "p99_ms": float(np.percentile(latencies, 99)),
                "stable": ok,
                "errors": load.errors,
                "models": stats_delta(before, after),
            }
            points.append(point)
            verdict = "stable" if point["stable"] else "UNSTABLE"
            percentiles = "".join(f"  {q} {point[q + '_ms']:6.1f}" for q in ("p50", "p95", "p99"))
            throughput = f"{point['images_per_s']:6.1f} img/s"
            print(f"  {protocol:>4} c={concurrency:<2} {throughput}{percentiles} ms  {verdict}", flush=True)
    admin.close()
    return points


# --- 4. ratios and reports ----------------------------------------------------------------------


def summarize(limit: dict, points: list[dict]) -> dict:
    best = max(points, key=lambda p: p["images_per_s"])
    summary = {
        "limit_images_per_s": limit["best"]["images_per_s"],
        "best_point": {k: best[k] for k in ("protocol", "concurrency", "images_per_s", "p50_ms", "p99_ms")},
        "throughput_over_limit": best["images_per_s"] / limit["best"]["images_per_s"],
        # Not a target: the pipeline's cost against the same densenet layout without a server.
        "throughput_over_config_layout": best["images_per_s"] / limit["config_layout"]["images_per_s"],
        "p99_over_p50_at_best": best["p99_ms"] / best["p50_ms"],
        "overhead_ms_at_c1": {},
    }
    for p in points:
        if p["concurrency"] == 1:
            compute = sum(
                p["models"][m]["compute_ms_per_request"] for m in ("preprocess", "densenet", "postprocess")
            )
            # Triton's statistics are means, so the overhead compares them with the mean latency.
            summary["overhead_ms_at_c1"][p["protocol"]] = p["mean_ms"] - compute
    overhead = min(summary["overhead_ms_at_c1"].values()) if summary["overhead_ms_at_c1"] else float("nan")
    summary["targets"] = {
        "throughput_over_limit": (summary["throughput_over_limit"], ">=", TARGETS["throughput_over_limit"]),
        "overhead_ms_at_c1": (overhead, "<=", TARGETS["overhead_ms_at_c1"]),
        "p99_over_p50_at_best": (summary["p99_over_p50_at_best"], "<=", TARGETS["p99_over_p50_at_best"]),
    }
    return summary


def _queue_compute(model: dict, digits: int = 1) -> str:
    return f"{model['queue_ms_per_request']:.{digits}f} / {model['compute_ms_per_request']:.{digits}f}"


def markdown(machine: str, limit: dict, points: list[dict], summary: dict) -> str:
    lines = [
        f"Machine: {machine}",
        "",
        f"In-process ONNX Runtime limit: **{summary['limit_images_per_s']:.1f} images/s** "
        f"({limit['best']['options']}, batch {limit['best']['batch']})",
        "",
        f"Not the limit: the CPU config's layout in-process ({limit['config_layout']['layout']}): "
        f"{limit['config_layout']['images_per_s']:.1f} images/s; the best ensemble point reaches "
        f"{summary['throughput_over_config_layout']:.2f} of it (preprocessing shares the same cores).",
        "",
        "| protocol | concurrency | images/s | p50 ms | p95 ms | p99 ms | preprocess queue/compute ms "
        "| densenet queue/compute ms (avg batch) | postprocess queue/compute ms |",
        "|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for p in points:
        m = p["models"]
        lines.append(
            f"| {p['protocol']} | {p['concurrency']} | {p['images_per_s']:.1f} | {p['p50_ms']:.1f} "
            f"| {p['p95_ms']:.1f} | {p['p99_ms']:.1f} | {_queue_compute(m['preprocess'])} "
            f"| {_queue_compute(m['densenet'])} ({m['densenet']['avg_batch']:.1f}) "
            f"| {_queue_compute(m['postprocess'], 2)} |"
        )
    lines.append("")
    for name, (value, relation, target) in summary["targets"].items():
        met = value >= target if relation == ">=" else value <= target
        lines.append(f"- {name}: {value:.2f} (target {relation} {target}): {'met' if met else 'MISSED'}")
    return "\n".join(lines) + "\n"


def plot(path: Path, limit: dict, points: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for protocol in sorted({p["protocol"] for p in points}):
        mine = [p for p in points if p["protocol"] == protocol]
        xs = [p["concurrency"] for p in mine]
        left.plot(xs, [p["images_per_s"] for p in mine], marker="o", label=f"ensemble ({protocol})")
        right.plot(xs, [p["p99_ms"] for p in mine], marker="o", label=f"p99 ({protocol})")
    left.axhline(limit["best"]["images_per_s"], color="black", linestyle="--", label="ONNX Runtime limit")
    left.axhline(
        limit["config_layout"]["images_per_s"],
        color="gray",
        linestyle=":",
        label="CPU config layout in-process",
    )
    left.set(xlabel="concurrency", ylabel="images/s", title="Throughput", xscale="log", ylim=(0, None))
    right.set(xlabel="concurrency", ylabel="ms", title="p99 latency", xscale="log", ylim=(0, None))
    for axis in (left, right):
        axis.legend()
        axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def machine_description() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return f"{cpu}, {len(os.sched_getaffinity(0))} CPUs available, {platform.system()} {platform.release()}"


def prepared_repository(workdir: Path, source: Path = REPO / "model_repository") -> Path:
    """A copy of the repository (configs as committed) serving its installed ONNX model."""
    if not (source / "densenet" / "1" / "model.onnx").exists():
        raise SystemExit("model_repository/densenet/1/model.onnx is missing: run `make model` first")
    repo = workdir / "model_repository"
    shutil.copytree(source, repo, ignore=shutil.ignore_patterns("*.plan", "__pycache__"))
    return repo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="short windows, concurrency 1 and 4 (under 2 minutes)"
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--protocol", nargs="+", choices=["http", "grpc"], default=["http", "grpc"])
    parser.add_argument("--window", type=float, default=5.0, help="seconds per measurement window")
    parser.add_argument("--max-windows", type=int, default=8)
    parser.add_argument("--output", type=Path, default=REPO / "bench-results")
    parser.add_argument(
        "--model-repository",
        type=Path,
        default=REPO / "model_repository",
        help="repository to copy and serve (default: this one, after `make model`)",
    )
    args = parser.parse_args(argv)
    batches = (1, 2, 4, 8)
    if args.quick:
        args.concurrency, args.window, args.max_windows, batches = [1, 4], 1.0, 3, (1, 4)
    args.output.mkdir(parents=True, exist_ok=True)

    images = corpus()
    preprocessor = Preprocessor(PreprocessConfig(decode_threads=1))
    pixels = np.stack([preprocessor(image) for image in images])
    preprocessor.close()
    token = "bench-admin-token"
    with tempfile.TemporaryDirectory(prefix="densenet-bench-") as workdir:
        repo = prepared_repository(Path(workdir), args.model_repository)
        print("1. in-process ONNX Runtime limit", flush=True)
        limit = ort_limit(
            repo / "densenet" / "1" / "model.onnx", pixels, args.window, args.max_windows, batches
        )
        options = ServerOptions(
            repo, http_port=free_port(), grpc_port=free_port(), metrics_port=free_port(), admin_token=token
        )
        print("2. densenet_ensemble on the embedded server", flush=True)
        with TritonServer(options, log_path=Path(workdir) / "server.log") as server:
            server.wait_ready(300)
            points = ensemble_points(
                f"127.0.0.1:{options.http_port}",
                f"127.0.0.1:{options.grpc_port}",
                images,
                args.concurrency,
                args.protocol,
                args.window,
                args.max_windows,
                {ADMIN_HEADER: token},
            )
    summary = summarize(limit, points)
    machine = machine_description()
    report = {
        "machine": machine,
        "limit": limit,
        "points": points,
        "summary": summary,
        "corpus": [f"{n} {w}x{h}" for n, w, h in CORPUS_SPEC],
    }
    (args.output / "bench.json").write_text(json.dumps(report, indent=2))
    table = markdown(machine, limit, points, summary)
    (args.output / "bench.md").write_text(table)
    plot(args.output / "bench.png", limit, points)
    print("\n" + table)
    print(f"wrote {args.output}/bench.json, bench.md, bench.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
