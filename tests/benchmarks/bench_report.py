"""Reports shared by the benchmarks: stability rule, Triton statistics, ratios, Markdown, plot.

Needs only numpy and tritonclient (matplotlib for the plot, skipped without it), so the GPU recipe
(bench_perf_analyzer.py) runs it inside the NGC SDK image as well.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TARGETS = {
    # a lone request: the ensemble (decoding included) against one in-process ONNX Runtime run
    "latency_over_in_process_at_c1": 1.15,
    # under load (concurrency >= 4): the ensemble against the best in-process throughput
    "throughput_over_limit": 1.0,
    "p99_over_p50_at_best": 1.3,
    "overhead_ms_at_c1": 1.5,
}
LOADED = 4  # "under load": concurrency from here on
MODELS = ("densenet_ensemble", "preprocess", "densenet", "postprocess")  # names fixed by docs/design.md
STEPS = MODELS[1:]  # the ensemble's three models, in order


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


def summarize(limit: dict, points: list[dict]) -> dict:
    loaded = [p for p in points if p["concurrency"] >= LOADED] or points
    best = max(loaded, key=lambda p: p["images_per_s"])
    batch1 = [p for p in limit["points"] if p["batch"] == 1]
    single = next((p for p in batch1 if p["options"] == "default options"), batch1[0] if batch1 else None)
    lone = [p for p in points if p["concurrency"] == 1]
    summary = {
        "in_process_single_request_ms": 1000 / single["images_per_s"] if single else float("nan"),
        "limit_images_per_s": limit["best"]["images_per_s"],
        "best_point": {k: best[k] for k in ("protocol", "concurrency", "images_per_s", "p50_ms", "p99_ms")},
        "throughput_over_limit": best["images_per_s"] / limit["best"]["images_per_s"],
        "p99_over_p50_at_best": best["p99_ms"] / best["p50_ms"],
        "overhead_ms_at_c1": {},
    }
    for p in points:
        if p["concurrency"] == 1:
            compute = sum(p["models"][m]["compute_ms_per_request"] for m in STEPS)
            # Triton's statistics are means over the requests between two snapshots: compare them
            # with the mean latency of the same requests.
            summary["overhead_ms_at_c1"][p["protocol"]] = p.get("stats_mean_ms", p["mean_ms"]) - compute
    if "config_layout" in limit:
        # Not a target: the pipeline's cost against the same densenet layout without a server.
        summary["throughput_over_config_layout"] = (
            best["images_per_s"] / limit["config_layout"]["images_per_s"]
        )
    overhead = min(summary["overhead_ms_at_c1"].values()) if summary["overhead_ms_at_c1"] else float("nan")
    # Both means: back-to-back runs in-process, back-to-back requests at concurrency 1.
    c1_ms = min(p["mean_ms"] for p in lone) if lone else float("nan")
    summary["latency_over_in_process_at_c1"] = c1_ms / summary["in_process_single_request_ms"]
    interleaved = limit.get("lone_interleaved")
    if interleaved:
        # Measured in alternating blocks: the fair comparison on a shared machine, preferred.
        summary["in_process_single_request_ms"] = interleaved["model_ms"]
        summary["latency_over_in_process_at_c1"] = interleaved["ensemble_ms"] / interleaved["model_ms"]
        summary["latency_over_in_process_pipeline_at_c1"] = (
            interleaved["ensemble_ms"] / interleaved["pipeline_ms"]
        )
    summary["targets"] = {
        "latency_over_in_process_at_c1": (
            summary["latency_over_in_process_at_c1"],
            "<=",
            TARGETS["latency_over_in_process_at_c1"],
        ),
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
        f"{limit['name']}: **{summary['limit_images_per_s']:.1f} images/s** "
        f"({limit['best']['options']}, batch {limit['best']['batch']}); one request alone: "
        f"**{summary['in_process_single_request_ms']:.1f} ms** (default options, batch 1"
        f"{', interleaved with the ensemble below' if 'lone_interleaved' in limit else ''})",
        "",
        f"Targets: concurrency 1 against one in-process run (the ensemble decodes the JPEG too); the best "
        f"point at concurrency >= {LOADED} against the limit, and its p99/p50.",
        "",
    ]
    interleaved = limit.get("lone_interleaved")
    if interleaved:
        lines += [
            f"Concurrency 1, in alternating blocks over the corpus ({interleaved['rounds']} rounds; each "
            f"image's median, averaged): one ONNX Runtime run {interleaved['model_ms']:.1f} ms, decoding + "
            f"that run in one process {interleaved['pipeline_ms']:.1f} ms, one ensemble request over HTTP "
            f"{interleaved['ensemble_ms']:.1f} ms: {summary['latency_over_in_process_at_c1']:.2f} times "
            f"the run (the target), {summary['latency_over_in_process_pipeline_at_c1']:.2f} times "
            "decoding + the run (not a target).",
            "",
        ]
        m = {name: model["compute_ms_per_request"] for name, model in interleaved["models"].items()}
        rest = interleaved["ensemble_mean_ms"] - sum(m[step] for step in STEPS)
        decoding = interleaved["pipeline_ms"] - interleaved["model_ms"]
        total, run = interleaved["ensemble_mean_ms"], interleaved["model_ms"]
        lines += [
            f"Where those ensemble requests spent their time (means over them, {total:.1f} ms in all; "
            f"Triton's statistics): preprocess {m['preprocess']:.1f} ms (decoding in-process: "
            f"{decoding:.1f} ms), densenet {m['densenet']:.1f} ms (the in-process run: {run:.1f} ms), "
            f"postprocess {m['postprocess']:.1f} ms, and {rest:.1f} ms "
            "in HTTP and the ensemble's hand-offs.",
            "",
        ]
    if "config_layout" in limit:
        lines += [
            f"Not the limit: the CPU config's layout in-process ({limit['config_layout']['layout']}): "
            f"{limit['config_layout']['images_per_s']:.1f} images/s; the best ensemble point reaches "
            f"{summary['throughput_over_config_layout']:.2f} of it (preprocessing shares the same cores).",
            "",
        ]
    lines += [
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
    left.axhline(limit["best"]["images_per_s"], color="black", linestyle="--", label=limit["name"])
    if "config_layout" in limit:
        layout = limit["config_layout"]["images_per_s"]
        left.axhline(layout, color="gray", linestyle=":", label="CPU config layout in-process")
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


def write_reports(output: Path, limit: dict, points: list[dict], **extra: object) -> str:
    """bench.json, bench.md and bench.png (when matplotlib is there) in ``output``; returns the table."""
    output.mkdir(parents=True, exist_ok=True)
    summary = summarize(limit, points)
    machine = machine_description()
    report = {"machine": machine, "limit": limit, "points": points, "summary": summary, **extra}
    (output / "bench.json").write_text(json.dumps(report, indent=2))
    table = markdown(machine, limit, points, summary)
    (output / "bench.md").write_text(table)
    try:
        plot(output / "bench.png", limit, points)
    except ImportError:
        print("matplotlib is not installed: no bench.png")
    return table
