"""CPU layouts of `densenet` compared on this host: `python -m tests.benchmarks.bench_layouts`.

Serves the ensemble with each variant of `densenet/configs/cpu.pbtxt` in turn, repeated and
interleaved (so a noisy host shifts all variants alike), and prints images/s, p50/p99 and the CPU
each process used (from /proc) at each concurrency over HTTP. docs/benchmarks.md quotes it.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from densenet_serve import ServerOptions, TritonServer
from densenet_serve.ports import free_port
from tests.benchmarks.bench_ensemble import ClosedLoop, client_worker, corpus, prepared_repository
from tests.benchmarks.bench_report import machine_description
from tests.support import processes

# name: (instances, intra-op threads per instance (0: an equal share of the CPUs), pin, dynamic
# batching, spinning, adaptive threads)
COMMITTED = "2-instances-adaptive"  # configs/cpu.pbtxt as committed
LAYOUTS = {
    "1-instance-batching": (1, 0, False, True, True, False),  # the first CPU config
    "2-instances": (2, 0, False, False, False, False),
    "2-instances-pinned": (2, 0, True, False, False, False),
    "2-instances-pinned-batching": (2, 0, True, True, False, False),
    "2-instances-2-threads": (2, 2, False, False, False, False),
    "3-instances": (3, 0, True, False, False, False),  # on 2 CPUs: 1 thread each, no pinning
    "2-instances-adaptive": (2, 0, False, False, False, True),  # all CPUs for a lone request
}


def set_parameter(config: str, key: str, value: str) -> str:
    pattern = rf'(parameters \{{ key: "{key}" value: \{{ string_value: )"[^"]*"'
    if not re.search(pattern, config):
        raise ValueError(f"cpu.pbtxt has no parameter {key}")
    return re.sub(pattern, rf'\g<1>"{value}"', config)


def layout_config(
    config: str, instances: int, threads: int, pin: bool, batching: bool, spin: bool, adaptive: bool
) -> str:
    """``config`` (configs/cpu.pbtxt's text) with the given layout."""
    config = re.sub(r"^(instance_group \[ \{ count: )\d+", rf"\g<1>{instances}", config, flags=re.MULTILINE)
    # The committed config runs one request per instance (preferred_batch_size 1) behind a bounded
    # queue; batching drops that line, keeping the queue policy.
    single = "  preferred_batch_size: [ 1 ]\n"
    if single not in config:
        raise ValueError("cpu.pbtxt's dynamic_batching has no 'preferred_batch_size: [ 1 ]' line")
    if batching:
        config = config.replace(single, "")
    config = set_parameter(config, "intra_op_num_threads", str(threads))
    config = set_parameter(config, "pin_instances", str(pin).lower())
    config = set_parameter(config, "adaptive_threads", str(adaptive).lower())
    return set_parameter(config, "allow_spinning", str(spin).lower())


def cpu_seconds(server_pid: int) -> dict[str, float]:
    """CPU seconds used so far by this server's processes (stubs by instance name) and this one."""
    processes_ = {server_pid: "tritonserver", os.getpid(): "load generator"}
    for pid, command in processes.descendants(server_pid).items():
        match = re.search(r" (\w+_\d+_\d+) ", command)
        processes_[pid] = match.group(1) if match else command.split(" ", 1)[0]
    used: dict[str, float] = {}
    for pid, name in processes_.items():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        used[name] = used.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def measure(server_pid: int, url: str, images: list[bytes], concurrency: int, window_s: float) -> dict:
    with ClosedLoop([client_worker("http", url, images, i) for i in range(concurrency)]) as load:
        load.window(2.0)
        before, started = cpu_seconds(server_pid), time.perf_counter()
        windows = [load.window(window_s) for _ in range(3)]
        after, elapsed = cpu_seconds(server_pid), time.perf_counter() - started
    latencies = [x for w in windows for x in w.latencies_ms]
    return {
        "images_per_s": statistics.median(w.images_per_s for w in windows),
        "p50_ms": float(np.percentile(latencies, 50)),
        "p99_ms": float(np.percentile(latencies, 99)),
        "cores": {k: (v - before.get(k, 0.0)) / elapsed for k, v in sorted(after.items())},
        "errors": load.errors + len(load.failures),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--layouts", nargs="+", choices=list(LAYOUTS), default=list(LAYOUTS))
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--window", type=float, default=4.0)
    parser.add_argument("--publish", type=Path, metavar="FILE", help="also write the table here (Markdown)")
    args = parser.parse_args(argv)
    images = corpus()
    rows: list[str] = []
    print("layout                       rep  c   images/s  p50 ms  p99 ms  p99/p50  CPU cores by process")
    with tempfile.TemporaryDirectory(prefix="densenet-layouts-") as workdir:
        repositories = {}
        for name in args.layouts:
            (Path(workdir) / name).mkdir()
            repositories[name] = prepared_repository(Path(workdir) / name)
            config = repositories[name] / "densenet" / "configs" / "cpu.pbtxt"
            config.write_text(layout_config(config.read_text(), *LAYOUTS[name]))
        for repeat in range(1, args.repeats + 1):
            for name in args.layouts:
                options = ServerOptions(
                    repositories[name], http_port=free_port(), grpc_port=free_port(), metrics_port=free_port()
                )
                with TritonServer(options, log_path=Path(workdir) / f"{name}.log") as server:
                    server.wait_ready(300)
                    for c in args.concurrency:
                        url = f"127.0.0.1:{options.http_port}"
                        r = measure(server.process.pid, url, images, c, args.window)
                        cores = " ".join(f"{k} {v:.2f}" for k, v in r["cores"].items())
                        errors = f"  ERRORS {r['errors']}" if r["errors"] else ""
                        print(
                            f"{name:<28} {repeat:>3} {c:>2} {r['images_per_s']:>10.1f} {r['p50_ms']:>7.1f} "
                            f"{r['p99_ms']:>7.1f} {r['p99_ms'] / r['p50_ms']:>8.2f}  {cores}{errors}",
                            flush=True,
                        )
                        rows.append(
                            f"| {name} | {repeat} | {c} | {r['images_per_s']:.1f} | {r['p50_ms']:.1f} "
                            f"| {r['p99_ms']:.1f} | {r['p99_ms'] / r['p50_ms']:.2f} | {cores}{errors} |"
                        )
    if args.publish:
        command = " ".join(["python -m tests.benchmarks.bench_layouts", *(argv or sys.argv[1:])])
        header = [
            f"Command: `{command}` (HTTP; {machine_description()})",
            "",
            "| layout | repetition | concurrency | images/s | p50 ms | p99 ms | p99/p50 "
            "| CPU cores by process |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        args.publish.parent.mkdir(parents=True, exist_ok=True)
        args.publish.write_text("\n".join(header + rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
