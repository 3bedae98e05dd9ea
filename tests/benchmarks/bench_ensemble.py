"""Ensemble benchmark: `make bench` (or `python -m tests.benchmarks.bench_ensemble --help`).

Measures in one run on one machine, following perf_analyzer's conventions (measurement windows
repeated until three in a row agree within 10%, concurrency sweep, p50/p95/p99):
1. the limit: DenseNet alone in ONNX Runtime in-process on the served ONNX file, batch 1 and the
   best batch, with default session options and with the CPU config's thread settings;
2. densenet_ensemble on the embedded server with a corpus of real JPEGs of varied sizes, over
   HTTP and gRPC, at each concurrency: images/s and latency percentiles;
3. where the time goes: per-model queue and compute time from Triton's statistics API;
4. lone requests, interleaved: one ONNX Runtime run, decoding + that run in-process, and one
   ensemble request, in alternating blocks over the corpus, so that a shared machine's drift hits
   all three alike (concurrency 1's ratios come from here);
5. ratios: best ensemble images/s over the limit; latency at concurrency 1 minus the summed
   per-model compute time (the serving overhead).
Writes JSON, a Markdown table and a PNG plot to --output (default bench-results/).
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from densenet_cpu.config import CpuConfig
from densenet_cpu.placement import Placement, cpu_instance_placements, ort_session_options
from densenet_serve import ServerOptions, TritonServer
from densenet_serve.core import ADMIN_HEADER
from densenet_serve.ports import free_port
from preprocess import PreprocessConfig, Preprocessor, preprocess_one
from tests.benchmarks.bench_report import STEPS, Window, model_stats, stable, stats_delta, write_reports
from tests.support.imagefactory import encode, photo

REPO = Path(__file__).resolve().parents[2]
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


# --- 1. the in-process ONNX Runtime limit -------------------------------------------------------


def cpu_config(config_path: Path) -> tuple[CpuConfig, list[Placement]]:
    """The served CPU config's ONNX Runtime settings and its instances' placements on this host."""
    from densenet_build.repository.pbtxt import parse_model_config, string_parameters

    config = parse_model_config(config_path.read_text())
    settings = CpuConfig.from_parameters(string_parameters(config))
    instances = sum(group.count or 1 for group in config.instance_group) or 1
    return settings, cpu_instance_placements(settings, instances)


class ClosedLoop:
    """Workers calling ``work() -> images`` back to back; windows count what completes inside them."""

    def __init__(self, workers: list[Callable[[], Callable[[], int]]]) -> None:
        self.records: list[tuple[float, float, int]] = []  # (completion time, latency, images)
        self.errors = 0
        self.failures: list[Exception] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(w,), daemon=True) for w in workers]

    def _run(self, make_work: Callable[[], Callable[[], int]]) -> None:
        try:
            work = make_work()
        except Exception as error:  # a worker that cannot start is reported, not waited for
            self.failures.append(error)
            return
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
        if close := getattr(work, "close", None):
            close()

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
        inside = self.completed(start, end)
        return Window(sum(n for _, n in inside) / (end - start), [latency * 1000 for latency, _ in inside])

    def completed(self, start: float, end: float) -> list[tuple[float, int]]:
        """(latency s, images) of the calls that completed between ``start`` and ``end``."""
        with self._lock:
            return [(latency, images) for t, latency, images in self.records if start <= t < end]

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
            if loop.failures:
                raise RuntimeError(f"an ONNX Runtime session did not start: {loop.failures[0]}")
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

    settings, placements = cpu_config(onnx_path.parents[1] / "configs" / "cpu.pbtxt")
    threads = placements[0].threads
    results = []
    for name, options in (
        ("default options", ort.SessionOptions()),
        (f"cpu config threads ({threads})", ort_session_options(settings, threads)),
    ):
        for batch in batches:
            x = np.ascontiguousarray(np.resize(pixels, (batch, *pixels.shape[1:])))
            ips, ok = sessions_throughput(onnx_path, x, [(options, None)], window_s, max_windows)
            results.append({"options": name, "batch": batch, "images_per_s": ips, "stable": ok})
            print(f"  limit: {name:>24}, batch {batch}: {ips:6.1f} images/s", flush=True)
    best = max(results, key=lambda r: r["images_per_s"])
    sessions = [(ort_session_options(settings, p.threads), p.cpus) for p in placements]
    ips, ok = sessions_throughput(onnx_path, pixels[:1], sessions, window_s, max_windows)
    pinned = "pinned" if placements[0].cpus is not None else "not pinned"
    layout = {
        "layout": f"{len(placements)} concurrent sessions x {threads} thread(s), {pinned}",
        "batch": 1,
        "images_per_s": ips,
        "stable": ok,
    }
    print(f"  not the limit: the config's {layout['layout']}, batch 1: {ips:6.1f} images/s", flush=True)
    return {"name": "In-process ONNX Runtime limit", "points": results, "best": best, "config_layout": layout}


def lone_requests(
    onnx_path: Path, images: list[bytes], url: str, rounds: int, stats: Callable[[], dict]
) -> dict:
    """Mean ms per image at concurrency 1 of: one ONNX Runtime run (default options) on the image's
    pixels, decoding + that run in-process, one ensemble request over HTTP.

    The three take turns in blocks of one pass over the corpus, ``rounds`` times, so noise on a
    shared machine reaches each alike; each image's median over the rounds, averaged over the corpus.
    ``stats()`` (Triton's statistics) is read around every ensemble block: "models" is where those
    very requests spent their time.
    """
    import onnxruntime as ort
    import tritonclient.http as httpclient

    preprocessor = Preprocessor(PreprocessConfig(decode_threads=1))
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    client = httpclient.InferenceServerClient(url, network_timeout=120)
    pixels = [preprocess_one(preprocessor, image)[np.newaxis] for image in images]

    methods: dict[str, Callable[[int], object]] = {
        "model_ms": lambda i: session.run(None, {"data_0": pixels[i]}),
        "pipeline_ms": lambda i: session.run(
            None, {"data_0": preprocess_one(preprocessor, images[i])[np.newaxis]}
        ),
        "ensemble_ms": lambda i: classify(httpclient, client, images[i]),
    }
    samples: dict[str, list[list[float]]] = {name: [[] for _ in images] for name in methods}
    zero = {model: dict.fromkeys(counts, 0) for model, counts in stats().items()}
    totals = {model: dict(counts) for model, counts in zero.items()}
    try:
        for round_number in range(rounds + 1):  # round 0 warms every path up
            for name, method in methods.items():
                time.sleep(0.1)  # the in-process session's spinning threads go idle before the next block
                before = stats() if name == "ensemble_ms" else None
                for i in range(len(images)):
                    started = time.perf_counter()
                    method(i)
                    if round_number:
                        samples[name][i].append((time.perf_counter() - started) * 1000)
                if round_number and before is not None:
                    after = stats()
                    for model, counts in totals.items():
                        for key in counts:
                            counts[key] += after[model][key] - before[model][key]
    finally:
        client.close()
        preprocessor.close()
    means = {
        name: float(np.mean([statistics.median(s) for s in per_image])) for name, per_image in samples.items()
    }
    # The statistics are means over the ensemble requests: so is the latency they are compared with.
    ensemble_mean_ms = float(np.mean([ms for per_image in samples["ensemble_ms"] for ms in per_image]))
    return {
        **means,
        "rounds": rounds,
        "models": stats_delta(zero, totals),
        "ensemble_mean_ms": ensemble_mean_ms,
    }


# --- 2./3. the ensemble on the server -----------------------------------------------------------


def classify(module, client, data: bytes) -> None:
    """One image to densenet_ensemble through ``client`` (``module``: tritonclient.http or .grpc)."""
    tensor = module.InferInput("IMAGE", [1, len(data)], "UINT8")
    tensor.set_data_from_numpy(np.frombuffer(data, np.uint8)[np.newaxis])
    client.infer("densenet_ensemble", [tensor])


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
            classify(module, client, images[next(position) % len(images)])
            return 1

        request.close = client.close  # type: ignore[attr-defined]  # ClosedLoop calls it at the end
        return request

    return make_work


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
                started = time.perf_counter()
                before = model_stats(admin, headers)
                used, ok = load.windows(window_s, max_windows)
                after = model_stats(admin, headers)
                # Every request the statistics cover, not only the last (stable) windows.
                covered = [latency * 1000 for latency, _ in load.completed(started, time.perf_counter())]
            latencies = [x for w in used for x in w.latencies_ms]
            point = {
                "protocol": protocol,
                "concurrency": concurrency,
                "images_per_s": statistics.median(w.images_per_s for w in used),
                "mean_ms": float(np.mean(latencies)),
                "stats_mean_ms": float(np.mean(covered)),
                "p50_ms": float(np.percentile(latencies, 50)),
                "p95_ms": float(np.percentile(latencies, 95)),
                "p99_ms": float(np.percentile(latencies, 99)),
                "stable": ok,
                "errors": load.errors + len(load.failures),
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
    parser.add_argument(
        "--lone-rounds", type=int, default=15, help="rounds of interleaved lone requests (concurrency 1)"
    )
    parser.add_argument("--output", type=Path, default=REPO / "bench-results")
    parser.add_argument(
        "--model-repository",
        type=Path,
        default=REPO / "model_repository",
        help="repository to copy and serve (default: this one, after `make model`)",
    )
    parser.add_argument("--write-corpus", type=Path, metavar="DIR", help="write the JPEGs to DIR and stop")
    parser.add_argument(
        "--publish",
        type=Path,
        metavar="FILE",
        help="also write the Markdown table here after a full run (make bench: docs/results/bench-cpu.md)",
    )
    args = parser.parse_args(argv)
    if args.write_corpus:
        args.write_corpus.mkdir(parents=True, exist_ok=True)
        for i, ((name, w, h), data) in enumerate(zip(CORPUS_SPEC, corpus(), strict=True)):
            (args.write_corpus / f"{i}-{Path(name).stem}-{w}x{h}.jpg").write_bytes(data)
        print(f"wrote {len(CORPUS_SPEC)} JPEGs to {args.write_corpus}")
        return 0
    batches = (1, 2, 4, 8)
    if args.quick:
        args.concurrency, args.window, args.max_windows, batches = [1, 4], 1.0, 3, (1, 4)
        args.lone_rounds = 2
    args.output.mkdir(parents=True, exist_ok=True)

    images = corpus()
    preprocessor = Preprocessor(PreprocessConfig(decode_threads=1))
    pixels = np.stack([preprocess_one(preprocessor, image) for image in images])
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
            print("4. lone requests, interleaved with in-process runs", flush=True)
            import tritonclient.http as httpclient

            with httpclient.InferenceServerClient(f"127.0.0.1:{options.http_port}") as admin:
                lone = lone_requests(
                    repo / "densenet" / "1" / "model.onnx",
                    images,
                    f"127.0.0.1:{options.http_port}",
                    args.lone_rounds,
                    lambda: model_stats(admin, {ADMIN_HEADER: token}),
                )
            limit["lone_interleaved"] = lone
            compute = ", ".join(
                f"{model} {lone['models'][model]['compute_ms_per_request']:.1f}" for model in STEPS
            )
            print(
                f"  {lone['rounds']} rounds: model in-process {lone['model_ms']:.1f} ms, decode + model "
                f"{lone['pipeline_ms']:.1f} ms, ensemble over HTTP {lone['ensemble_ms']:.1f} ms "
                f"(compute ms: {compute})",
                flush=True,
            )
    table = write_reports(args.output, limit, points, corpus=[f"{n} {w}x{h}" for n, w, h in CORPUS_SPEC])
    print("\n" + table)
    print(f"wrote {args.output}/bench.json, bench.md, bench.png")
    if args.publish and not args.quick:
        args.publish.parent.mkdir(parents=True, exist_ok=True)
        args.publish.write_text(f"Command: `make bench`\n\n{table}")
        print(f"wrote {args.publish}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
