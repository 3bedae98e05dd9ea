"""Where a CPU model instance runs: its share of the server's CPUs and its ONNX Runtime threads.

On a small CPU host one single-threaded ONNX Runtime session per core beats one session whose
intra-op threads span all cores (no barrier between threads, no spinning, a warm cache per
core); tests/benchmarks/bench_layouts.py compares them. These functions are pure so the choice
is unit-tested; the CPU `densenet` model.py applies them in `initialize`.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from densenet_contract.cpus import available_cpus

from .config import CpuConfig

__all__ = [
    "Placement",
    "cpu_instance_placements",
    "instance_index",
    "ort_session_options",
    "pin_process",
    "place",
]


@dataclass(frozen=True)
class Placement:
    threads: int  # ONNX Runtime intra-op threads of this instance's session
    cpus: tuple[int, ...] | None  # CPUs this instance is pinned to; None: not pinned
    # With adaptive threads: the threads of the session used while no other instance runs (every
    # usable CPU); None: this instance always runs with ``threads``.
    solo_threads: int | None = None


def instance_index(model_config: Mapping, instance_name: str) -> tuple[int, int]:
    """(index of this instance among all the model's CPU instances, their number).

    Triton names instances ``<group name>_<index in group>``; groups are numbered in config order.
    """
    groups = [g for g in model_config.get("instance_group", []) if g.get("kind", "KIND_CPU") == "KIND_CPU"]
    total = sum(int(g.get("count", 1)) for g in groups) or 1
    offset = 0
    for group in groups:
        name = group.get("name", "")
        match = re.fullmatch(re.escape(name) + r"_(\d+)", instance_name) if name else None
        if match:
            return offset + int(match.group(1)), total
        offset += int(group.get("count", 1))
    match = re.search(r"_(\d+)$", instance_name)
    return (int(match.group(1)) % total if match else 0), total


def place(
    cpus: Sequence[int], usable: int, instances: int, index: int, threads: int = 0, pin: bool = True
) -> Placement:
    """Share ``usable`` of ``cpus`` equally between ``instances``; ``threads=0`` takes the share.

    Instance ``index`` is pinned to its own slice only when every instance can have one and the
    CPUs are really this process's (no quota narrower than the affinity): pinning to CPUs shared
    with other containers, or two instances to one CPU, only adds contention.
    """
    if not cpus or usable < 1 or instances < 1 or not 0 <= index < instances:
        raise ValueError(f"cannot place instance {index} of {instances} on {usable} of CPUs {list(cpus)}")
    share = max(1, usable // instances)
    threads = threads or share
    exclusive = usable == len(cpus) and instances * share <= len(cpus)
    if not (pin and exclusive):
        return Placement(threads, None)
    return Placement(threads, tuple(cpus[index * share : (index + 1) * share]))


def pin_process(cpus: Sequence[int]) -> None:
    """Pin every thread of this process (ONNX Runtime's pool is created later and inherits it).

    A thread listed in /proc/self/task may exit before it is pinned (ESRCH): it needs no pinning.
    """
    for task in os.listdir("/proc/self/task"):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(task), set(cpus))


def cpu_instance_placements(
    config: CpuConfig, instances: int, available: tuple[Sequence[int], int] | None = None
) -> list[Placement]:
    """Every instance's placement as the CPU config asks (``intra_op_num_threads``,
    ``pin_instances``, ``adaptive_threads``), on the CPUs this process may use (``available``:
    the CPUs and how many may be busy, default this process's).

    ``adaptive_threads``: a request that finds every other instance idle runs on all usable CPUs
    (a lone request is not held to one core); under load each instance keeps to its share. The
    instances then share the CPUs, so none is pinned.
    """
    cpus, usable = available if available is not None else available_cpus()
    adaptive = config.adaptive_threads
    pin = config.pin_instances and not adaptive
    placements = [
        place(cpus, usable, instances, i, threads=config.intra_op_num_threads, pin=pin)
        for i in range(instances)
    ]
    if not adaptive:
        return placements
    return [Placement(p.threads, None, usable if usable > p.threads else None) for p in placements]


def ort_session_options(config: CpuConfig, threads: int):  # type: ignore[no-untyped-def]
    """ONNX Runtime session options for one CPU instance of ``config``."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = config.inter_op_num_threads
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    spinning = "1" if config.allow_spinning else "0"
    options.add_session_config_entry("session.intra_op.allow_spinning", spinning)
    options.add_session_config_entry("session.inter_op.allow_spinning", spinning)
    return options
