"""The GPU recipe: `make bench`'s report, measured with perf_analyzer against any running server.

Runs inside the NGC SDK image (`nvcr.io/nvidia/tritonserver:<release>-py3-sdk`, which has
perf_analyzer, tritonclient and numpy); docs/benchmarks.md ("On a GPU host") has the whole recipe.

    python3 bench_perf_analyzer.py input-data CORPUS_DIR images.json   # real JPEGs for perf_analyzer
    python3 bench_perf_analyzer.py run --input-data images.json --admin-token "$TOKEN"

`run` measures, with perf_analyzer's own stability rule (windows until three agree within 10%):
1. the limit: `densenet` alone on the same server (the TensorRT plan, or ONNX Runtime on a CPU
   server) at each --batches size: images/s;
2. `densenet_ensemble` fed the real JPEGs, over each protocol and concurrency;
3. per-model queue and compute times from Triton's statistics API around every run;
4. the ratios; and writes bench.json, bench.md and bench.png in the format of `make bench`.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.benchmarks.bench_report import model_stats, stats_delta, write_reports

# densenet_serve.server's headers (this file runs without the package); Triton prefixes the gRPC one.
ADMIN_HEADER, GRPC_ADMIN_HEADER = "admin-token", "triton-grpc-protocol-admin-token"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


def input_data(images: list[bytes]) -> dict:
    """perf_analyzer's real-input-data JSON: one request per image, cycling, each with its shape."""
    if not images:
        raise SystemExit("no JPEG or PNG files found")
    return {
        "data": [
            {"IMAGE": {"b64": base64.b64encode(image).decode(), "shape": [len(image)]}} for image in images
        ]
    }


def read_images(directory: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(directory.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]


LATENCY_PARTS = (  # perf_analyzer's breakdown of the mean latency, in microseconds
    "Client Send",
    "Network+Server Send/Recv",
    "Server Queue",
    "Server Compute Input",
    "Server Compute Infer",
    "Server Compute Output",
    "Client Recv",
)


def parse_csv(text: str) -> dict:
    """The measured row of perf_analyzer's ``-f`` CSV (latencies in microseconds) as a report point."""
    rows = list(csv.DictReader(line for line in text.splitlines() if line.strip()))
    if not rows:
        raise ValueError("perf_analyzer wrote no measurement row")
    row = rows[-1]
    try:
        # Newer perf_analyzers add "Avg latency"; older ones only give its parts.
        mean_us = (
            float(row["Avg latency"]) if row.get("Avg latency") else sum(float(row[k]) for k in LATENCY_PARTS)
        )
        return {
            "images_per_s": float(row["Inferences/Second"]),
            "mean_ms": mean_us / 1000,
            "p50_ms": float(row["p50 latency"]) / 1000,
            "p95_ms": float(row["p95 latency"]) / 1000,
            "p99_ms": float(row["p99 latency"]) / 1000,
        }
    except KeyError as missing:
        raise ValueError(f"perf_analyzer's CSV has no column {missing}: columns are {list(row)}") from None


class PerfAnalyzer:
    def __init__(
        self, binary: str, interval_ms: int, max_trials: int, stability: int, headers: dict[str, str]
    ) -> None:
        self.binary, self.interval, self.max_trials = binary, interval_ms, max_trials
        self.stability, self.headers = stability, headers

    def command(self, model: str, url: str, protocol: str, concurrency: int, csv_path: Path) -> list[str]:
        command = [
            self.binary,
            "-m", model,
            "-u", url,
            "-i", protocol,
            "--concurrency-range", f"{concurrency}:{concurrency}",
            "--measurement-interval", str(self.interval),
            "--stability-percentage", str(self.stability),
            "--percentile", "99",
            "--max-trials", str(self.max_trials),
            "-f", str(csv_path),
        ]  # fmt: skip
        for key, value in self.headers.items():
            command += ["-H", f"{key}:{value}"]
        return command

    def run(self, command: list[str], timeout_s: float) -> bool:
        """True when perf_analyzer measured; False when it found no stable window (a busy host)."""
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
        output = (done.stdout + done.stderr).strip()
        if done.returncode != 0 and "stable measurement" in output:
            return False
        if done.returncode != 0:
            raise SystemExit(
                f"perf_analyzer failed ({done.returncode}): {' | '.join(output.splitlines()[-5:])}"
            )
        return True


def measure(
    analyzer: PerfAnalyzer,
    admin,
    headers: dict[str, str],
    command: list[str],
    csv_path: Path,
    timeout_s: float,
) -> dict | None:
    """One perf_analyzer run with Triton's per-model statistics around it; None if never stable."""
    csv_path.unlink(missing_ok=True)
    before = model_stats(admin, headers)
    if not analyzer.run(command, timeout_s):
        print(f"  no stable measurement, left out: {' '.join(command[1:9])}", flush=True)
        return None
    after = model_stats(admin, headers)
    point = parse_csv(csv_path.read_text())
    point["models"] = stats_delta(before, after)
    return point


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser("input-data", help="write perf_analyzer input data from a folder of images")
    data.add_argument("images", type=Path, help="folder of JPEG/PNG files (`make bench-corpus` writes one)")
    data.add_argument("output", type=Path)
    run = commands.add_parser("run", help="measure the limit and the ensemble on a running server")
    run.add_argument("--input-data", type=Path, required=True, help="from `input-data`")
    run.add_argument("--http-url", default="localhost:8000")
    run.add_argument("--grpc-url", default="localhost:8001")
    run.add_argument("--protocol", nargs="+", choices=["grpc", "http"], default=["grpc", "http"])
    run.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32])
    run.add_argument("--batches", type=int, nargs="+", default=[1, 8, 16, 32], help="for the limit")
    run.add_argument("--limit-concurrency", type=int, default=2, help="requests in flight for the limit")
    run.add_argument("--measurement-interval", type=int, default=5000, help="ms per window")
    run.add_argument("--stability-percentage", type=int, default=10, help="perf_analyzer's rule: 10%%")
    run.add_argument("--max-trials", type=int, default=20, help="windows before giving up on stability")
    run.add_argument("--admin-token", default="", help="the server's token for the statistics API")
    run.add_argument("--perf-analyzer", default="perf_analyzer")
    run.add_argument("--timeout", type=float, default=600, help="seconds per perf_analyzer run")
    run.add_argument("--output", type=Path, default=Path("bench-results/perf_analyzer"))
    args = parser.parse_args(argv)

    if args.command == "input-data":
        args.output.write_text(json.dumps(input_data(read_images(args.images))))
        print(f"wrote {args.output}")
        return 0

    import tritonclient.http as httpclient

    headers = {ADMIN_HEADER: args.admin_token} if args.admin_token else {}
    # perf_analyzer reads the statistics API too, over the protocol it measures.
    both = {**headers, GRPC_ADMIN_HEADER: args.admin_token} if args.admin_token else {}
    analyzer = PerfAnalyzer(
        args.perf_analyzer, args.measurement_interval, args.max_trials, args.stability_percentage, both
    )
    admin = httpclient.InferenceServerClient(args.http_url, network_timeout=60)
    urls = {"http": args.http_url, "grpc": args.grpc_url}
    protocol = args.protocol[0]
    with tempfile.TemporaryDirectory(prefix="perf-analyzer-") as workdir:
        out = Path(workdir) / "run.csv"
        print("1. limit: densenet alone on the server", flush=True)
        limit_points = []
        for batch in args.batches:
            command = analyzer.command("densenet", urls[protocol], protocol, args.limit_concurrency, out)
            point = measure(analyzer, admin, headers, [*command, "-b", str(batch)], out, args.timeout)
            if point is not None:
                limit_points.append({"options": f"densenet alone ({protocol})", "batch": batch, **point})
                print(f"  limit: batch {batch}: {point['images_per_s']:8.1f} images/s", flush=True)
        if not limit_points:
            raise SystemExit("no stable measurement of densenet alone: raise --measurement-interval")
        limit = {
            "name": "Limit, densenet alone on the server",
            "points": limit_points,
            "best": max(limit_points, key=lambda p: p["images_per_s"]),
        }
        print("2. densenet_ensemble with the real images", flush=True)
        points = []
        for protocol in args.protocol:
            for concurrency in args.concurrency:
                command = analyzer.command("densenet_ensemble", urls[protocol], protocol, concurrency, out)
                command += ["--input-data", str(args.input_data)]
                point = measure(analyzer, admin, headers, command, out, args.timeout)
                if point is None:
                    continue
                points.append({"protocol": protocol, "concurrency": concurrency, "errors": 0, **point})
                print(
                    f"  {protocol:>4} c={concurrency:<3} {point['images_per_s']:8.1f} img/s  "
                    f"p50 {point['p50_ms']:7.1f}  p99 {point['p99_ms']:7.1f} ms",
                    flush=True,
                )
    admin.close()
    if not points:
        raise SystemExit("no stable measurement of densenet_ensemble: raise --measurement-interval")
    table = write_reports(args.output, limit, points, tool="perf_analyzer", input_data=str(args.input_data))
    print("\n" + table)
    print(f"wrote {args.output}/bench.json, bench.md, bench.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
