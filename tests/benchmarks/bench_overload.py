"""``python -m tests.benchmarks.bench_overload``: the server under growing overload, through its edge.

Starts `densenet-serve --host 0.0.0.0` (network mode: nginx in front, its per-client limits off so
Triton's queues decide) on a scratch copy of ./model_repository with the seeded DenseNet, and drives
closed-loop clients from 1 to ``--max-factor`` times the instances that can run an inference at
once, each sending the raw-binary request for one JPEG back to back, a refusal followed at once by
the next request (tests/support/overload.py). Prints, per concurrency: the admitted requests per second,
their p50/p99 latency, how many were refused (503 with Retry-After) and how fast, anything else
(other statuses, timeouts, resets: there should be none) and the RSS of tritonserver and its stubs.
Then the verdict the issue asks for: the admitted p99 at the highest concurrency against its value
at the best concurrency (the most admitted per second), and the RSS against its documented bound.
Figures, not a test (tests/e2e/test_overload.py asserts the behaviour).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from densenet_serve.edge.nginx import find_nginx
from densenet_serve.errors import ServerSetupError
from densenet_serve.ports import free_port
from tests.support import processes, scratch
from tests.support.imagefactory import cat_jpeg
from tests.support.overload import drive, instances, server_rss, summary

TESTS = Path(__file__).resolve().parents[1]

REPO_ROOT = TESTS.parent
RSS_BOUND = 3 << 30  # docs/operating.md, "Overload" (and tests/e2e/test_overload.py)


def start(repository: Path, workdir: Path) -> tuple[subprocess.Popen, int, Path]:
    https, grpc, metrics = free_port(), free_port(), free_port()
    log = workdir / "serve.log"
    command = [
        sys.executable, "-m", "densenet_serve", "--model-repository", str(repository),
        "--host", "0.0.0.0", "--http-port", str(https), "--grpc-port", str(grpc),
        "--metrics-port", str(metrics), "--tls-dir", str(workdir / "tls"),
        "--access-log", str(workdir / "access.log"), "--rate-limit", "0", "--connection-limit", "0",
    ]  # fmt: skip
    with open(log, "wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    processes.wait_for(
        lambda: process.poll() is not None or b"Press Ctrl-C to stop" in log.read_bytes(), 300, "READY"
    )
    if process.poll() is not None:
        sys.exit(f"the launcher exited:\n{log.read_text()[-3000:]}")
    return process, https, workdir / "tls" / "densenet-serve.crt"


HEADER = (
    f"{'clients':>7} {'sent':>5} {'ok':>5} {'ok/s':>6} {'ok p50':>8} {'ok p99':>8} "
    f"{'503':>5} {'503 p50':>8} {'503 p99':>8} {'other':>5} {'RSS MiB':>8}"
)


def row_line(clients: int, row: dict) -> str:
    ms = {key: row[key] * 1e3 for key in row if key.endswith("_s")}
    return (
        f"{clients:>7} {row['requests']:>5} {row['admitted']:>5} {row['admitted_per_s']:>6.1f} "
        f"{ms['admitted_p50_s']:>6.0f}ms {ms['admitted_p99_s']:>6.0f}ms {row['refused']:>5} "
        f"{ms['refused_p50_s']:>6.0f}ms {ms['refused_p99_s']:>6.0f}ms {row['other']:>5} "
        f"{row['rss'] / 2**20:>8.0f}"
    )


def verdict(rows: dict[int, dict], servable: int) -> str:
    best = max(rows, key=lambda c: rows[c]["admitted_per_s"])
    top = max(rows)
    ratio = rows[top]["admitted_p99_s"] / rows[best]["admitted_p99_s"]
    rss = max(row["rss"] for row in rows.values())
    clean = not any(row["other"] for row in rows.values())
    return (
        f"best concurrency {best} ({rows[best]['admitted_per_s']:.1f} admitted/s); at {top} clients "
        f"({top // servable}x the instances) the admitted p99 is {ratio:.2f}x its value at {best} "
        f"({'within' if ratio <= 3 else 'ABOVE'} 3x); every answer 200 or 503: {'yes' if clean else 'NO'}; "
        f"largest RSS {rss / 2**20:.0f} MiB ({'under' if rss < RSS_BOUND else 'ABOVE'} the "
        f"{RSS_BOUND >> 30} GiB bound)"
    )


def run(
    port: int, certificate: Path, pid: int, servable: int, concurrencies: list[int], requests: int
) -> None:
    import ssl

    context = ssl.create_default_context(cafile=str(certificate))
    image = cat_jpeg()
    drive(port, context, image, clients=servable, requests=2)  # warm-up
    print(f"{os.cpu_count()} CPUs; densenet instances: {servable}; one {len(image)}-byte JPEG a request")
    print(HEADER)
    rows = {}
    for clients in concurrencies:
        started = time.monotonic()
        outcomes = drive(port, context, image, clients=clients, requests=max(2, requests // clients))
        rows[clients] = summary(outcomes, time.monotonic() - started) | {"rss": server_rss(pid)}
        print(row_line(clients, rows[clients]), flush=True)
    print(verdict(rows, servable))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-factor", type=int, default=16, help="clients per instance at most (16)")
    parser.add_argument("--requests", type=int, default=160, help="requests per concurrency (160)")
    args = parser.parse_args()
    try:
        find_nginx()
    except ServerSetupError as error:
        sys.exit(f"network mode needs nginx: {error}")
    servable = instances((REPO_ROOT / "model_repository/densenet/configs/cpu.pbtxt").read_text())
    concurrencies = sorted({1, servable, 2 * servable, *(f * servable for f in (4, 8, args.max_factor))})
    with tempfile.TemporaryDirectory(prefix="bench-overload-") as directory:
        workdir = Path(directory)
        repository = scratch.scratch_repository(
            REPO_ROOT / "model_repository",
            workdir / "model_repository",
            scratch.seeded_onnx(REPO_ROOT / ".cache" / "test-models"),
        )
        process, port, certificate = start(repository, workdir)
        try:
            (pid,) = [
                p for p, cmd in processes.descendants(process.pid).items() if "bin/tritonserver " in cmd
            ]
            run(port, certificate, pid, servable, concurrencies, args.requests)
        finally:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(120)
            if process.poll() is None:
                process.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
