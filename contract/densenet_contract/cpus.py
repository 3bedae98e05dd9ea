"""How many CPUs this process may keep busy: the one rule every thread pool of the project follows.

In a container limited by a CPU quota (Kubernetes `limits.cpu`, cgroup v2 ``cpu.max``) the
affinity still lists every host CPU; sizing a pool by it would oversubscribe the quota many times
over. Standard library only, so both the preprocess model and the launcher's placement use it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def cpu_quota(cpu_max: str) -> int | None:
    """Whole CPUs allowed by a cgroup v2 ``cpu.max`` line ("max 100000" or "150000 100000")."""
    quota, _, period = cpu_max.strip().partition(" ")
    if quota == "max" or not period:
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def available_cpus(
    affinity: Sequence[int] | None = None, cpu_max: str | None = None
) -> tuple[tuple[int, ...], int]:
    """The CPUs this process may run on, and how many of them it may keep busy at once."""
    if affinity is None:
        try:
            affinity = sorted(os.sched_getaffinity(0))
        except AttributeError:  # not Linux: no affinity, no cgroup
            affinity = range(os.cpu_count() or 1)
    cpus = tuple(sorted(affinity))
    if cpu_max is None:
        try:
            cpu_max = CGROUP_CPU_MAX.read_text()
        except OSError:
            cpu_max = "max"
    quota = cpu_quota(cpu_max)
    return cpus, min(len(cpus), quota) if quota else len(cpus)


def usable_cpus() -> int:
    """How many threads of work this process can run at once (affinity, capped by the quota)."""
    return available_cpus()[1]
