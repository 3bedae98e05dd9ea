"""``make bench-overload``: the default server below, at and beyond its capacity, as traffic arrives.

Starts `densenet-serve` as `make serve` does (loopback HTTP; ``--edge``: network mode, nginx in front
with its per-client limits off, so Triton's queues decide) on a scratch copy of ./model_repository
with the seeded DenseNet (the same graph and cost as the real one), and sends one 500x375 JPEG per
request over keep-alive connections (tests/support/overload.py):

1. capacity: 2 closed-loop clients (each sends the next request when one is answered), repeated
   until two runs in a row agree within 10%;
2. closed loop with 8 and 32 clients; a client that is refused waits the Retry-After (1 s without
   one) as docs/client.md tells raw clients (``--harsh``: it sends again at once);
3. open loop at 0.8x and 2x the capacity: requests arrive at a fixed rate whatever the answers, as
   real traffic does; their seconds count from when each was due.

Prints per run: admitted/s and goodput / capacity, admitted p50/p99, refusals (503/429) and their
p99, anything else (other statuses, timeouts, resets), the client's lateness, and the peak RSS of
tritonserver and its stubs; then each target of docs/operating.md ("Overload") met or not, and
whether the server is ready afterwards. Figures, not a test (tests/e2e/test_overload.py asserts the
behaviour). On a GPU host use perf_analyzer's ``--request-rate-range`` (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from densenet_build.repository.queues import DEPLOYMENTS, configured_sizes
from densenet_serve.edge.nginx import find_nginx
from densenet_serve.errors import ServerSetupError
from densenet_serve.ports import free_port
from tests.support import processes, scratch
from tests.support.imagefactory import sized_jpeg
from tests.support.overload import Arrivals, PeakRss, drive, summary

TESTS = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS.parent
CPU = DEPLOYMENTS[0]  # the default `make serve`


def start(repository: Path, workdir: Path, edge: bool) -> tuple[subprocess.Popen, int, ssl.SSLContext | None]:
    http, grpc, metrics = free_port(), free_port(), free_port()
    log = workdir / "serve.log"
    command = [
        sys.executable, "-m", "densenet_serve", "--model-repository", str(repository),
        "--http-port", str(http), "--grpc-port", str(grpc), "--metrics-port", str(metrics),
    ]  # fmt: skip
    if edge:
        command += [
            "--host", "0.0.0.0", "--tls-dir", str(workdir / "tls"),
            "--access-log", str(workdir / "access.log"), "--rate-limit", "0", "--connection-limit", "0",
        ]  # fmt: skip
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    processes.wait_for(
        lambda: process.poll() is not None or b"Press Ctrl-C to stop" in log.read_bytes(), 300, "READY"
    )
    if process.poll() is not None:
        sys.exit(f"the launcher exited:\n{log.read_text()[-3000:]}")
    context = ssl.create_default_context(cafile=str(workdir / "tls" / "densenet-serve.crt")) if edge else None
    return process, http, context


HEADER = (
    f"{'run':<22} {'sent':>5} {'ok':>5} {'ok/s':>6} {'of cap':>6} {'ok p50':>8} {'ok p99':>8} "
    f"{'refused':>7} {'ref p99':>8} {'other':>5} {'late p99':>8} {'RSS MiB':>8}"
)


def row_line(name: str, row: dict, capacity: float) -> str:
    ms = {key: row[key] * 1e3 for key in row if key.endswith("_s")}
    return (
        f"{name:<22} {row['requests']:>5} {row['admitted']:>5} {row['admitted_per_s']:>6.1f} "
        f"{row['admitted_per_s'] / capacity:>6.2f} "
        f"{ms['admitted_p50_s']:>6.0f}ms {ms['admitted_p99_s']:>6.0f}ms "
        f"{row['refused']:>7} {ms['refused_p99_s']:>6.0f}ms {row['other']:>5} {ms['late_p99_s']:>6.0f}ms "
        f"{row['rss'] / 2**20:>8.0f}"
    )


def verdicts(rows: dict[str, dict], capacity: float, ready: bool) -> list[tuple[str, bool]]:
    """docs/operating.md's targets, each with whether this run met it."""
    eight, below, over = rows["closed 8"], rows["open 0.8x"], rows["open 2x"]
    refused_below = below["refused"] / max(1, below["requests"])
    peak = max(row["rss"] for row in rows.values())
    return [
        (f"8 closed-loop clients: no refusal ({eight['refused']})", eight["refused"] == 0),
        (
            f"8 closed-loop clients: >= 0.9 of capacity ({eight['admitted_per_s'] / capacity:.2f})",
            eight["admitted_per_s"] >= 0.9 * capacity,
        ),
        (f"open loop 0.8x: <= 1% refused ({100 * refused_below:.1f}%)", refused_below <= 0.01),
        (
            f"open loop 2x: goodput >= 0.85 of capacity ({over['admitted_per_s'] / capacity:.2f})",
            over["admitted_per_s"] >= 0.85 * capacity,
        ),
        (
            f"open loop 2x: admitted p99 <= 1.0 s ({over['admitted_p99_s']:.2f} s)",
            over["admitted_p99_s"] <= 1.0,
        ),
        (
            f"open loop 2x: refusals within 0.1 s (p99 {over['refused_p99_s']:.3f} s; none: not overloaded)",
            over["refused_p99_s"] <= 0.1,
        ),
        ("nothing but 200/503/429", not any(row["other"] for row in rows.values())),
        ("ready afterwards", ready),
        (
            f"peak RSS within {CPU.memory_bound >> 30} GiB ({peak / 2**20:.0f} MiB)",
            0 < peak <= CPU.memory_bound,
        ),
    ]


def is_ready(port: int, context: ssl.SSLContext | None) -> bool:
    scheme = "https" if context else "http"
    try:
        with urllib.request.urlopen(
            f"{scheme}://127.0.0.1:{port}/v2/health/ready", timeout=10, context=context
        ) as r:
            return r.status == 200
    except OSError:
        return False


def run(
    port: int, context: ssl.SSLContext | None, pid: int | None, args: argparse.Namespace, queues: tuple
) -> bool:
    image = sized_jpeg(500, 375)
    seconds = args.seconds
    drive(port, context, image, clients=2, requests=10)  # warm-up
    load = os.getloadavg()
    print(
        f"{os.cpu_count()} CPUs (load average {load[0]:.1f} before); queues (preprocess, densenet): "
        f"{queues}; one {len(image)}-byte 500x375 JPEG a request; {seconds:g} s a run"
    )
    print(HEADER)
    rows: dict[str, dict] = {}

    def measure(name: str, send) -> dict:
        with PeakRss(pid) if pid else contextlib.nullcontext() as rss:
            started = time.monotonic()
            outcomes = send()
            row = summary(outcomes, time.monotonic() - started) | {"rss": rss.peak if rss else 0}
        rows[name] = row
        return row

    big = 10**6  # closed loops stop at the deadline
    # The capacity, as perf_analyzer stabilises: runs until two in a row agree within 10% (at most 4).
    previous = 0.0
    for _ in range(4):
        capacity_row = measure("closed 2 (capacity)", lambda: drive(port, context, image, 2, big, seconds))
        capacity = capacity_row["admitted_per_s"]
        print(row_line("closed 2 (capacity)", capacity_row, capacity), flush=True)
        if abs(capacity - previous) <= 0.1 * capacity:
            break
        previous = capacity
    polite = not args.harsh
    for clients in (8, 32):
        name = f"closed {clients}"
        row = measure(name, lambda c=clients: drive(port, context, image, c, big, seconds, backoff=polite))
        print(row_line(name, row, capacity), flush=True)
    for factor in (0.8, 2.0):
        name = f"open {factor:g}x"
        row = measure(name, lambda f=factor: Arrivals(port, context, image).run(f * capacity, seconds))
        print(row_line(f"{name} ({factor * capacity:.1f}/s)", row, capacity), flush=True)
    ready = is_ready(port, context)
    load = os.getloadavg()
    print(f"load average after: {load[0]:.1f} (1 min), {load[1]:.1f} (5 min)")
    met = True
    for text, ok in verdicts(rows, capacity, ready):
        print(f"  {'met    ' if ok else 'NOT MET'} {text}")
        met &= ok
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15, help="length of each run (default 15)")
    parser.add_argument("--edge", action="store_true", help="through network mode's nginx (HTTPS)")
    parser.add_argument("--harsh", action="store_true", help="closed-loop clients resend at once after a 503")
    parser.add_argument(
        "--port",
        type=int,
        help="an already running server's HTTP port on 127.0.0.1 (a GPU host's, say) instead of starting "
        "one; its memory is not measured",
    )
    args = parser.parse_args(argv)
    if args.port:
        met = run(args.port, None, None, args, ("?", "?"))
        print("every target met" if met else "some targets NOT met")
        return 0
    if args.edge:
        try:
            find_nginx()
        except ServerSetupError as error:
            sys.exit(f"--edge needs nginx: {error}")
    with tempfile.TemporaryDirectory(prefix="bench-overload-") as directory:
        workdir = Path(directory)
        repository = scratch.scratch_repository(
            REPO_ROOT / "model_repository",
            workdir / "model_repository",
            scratch.seeded_onnx(REPO_ROOT / ".cache" / "test-models"),
        )
        process, port, context = start(repository, workdir, args.edge)
        try:
            (pid,) = [
                p for p, cmd in processes.descendants(process.pid).items() if "bin/tritonserver " in cmd
            ]
            met = run(port, context, pid, args, configured_sizes(repository, CPU))
        finally:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(120)
            if process.poll() is None:
                process.kill()
    print(
        "every target met" if met else "some targets NOT met (a busy shared host lowers them: see the load)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
