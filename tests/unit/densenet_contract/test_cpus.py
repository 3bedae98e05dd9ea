"""The project's one CPU-count rule: the affinity, capped by a cgroup v2 CPU quota."""

import os

import pytest

from densenet_contract.cpus import available_cpus, cpu_quota


@pytest.mark.parametrize(
    ("line", "expected"),
    [("max 100000", None), ("200000 100000", 2), ("150000 100000", 2), ("50000 100000", 1), ("max", None)],
)
def test_cpu_quota_rounds_up_to_whole_cpus(line, expected):
    assert cpu_quota(line + "\n") == expected


def test_available_cpus_is_capped_by_the_quota_not_the_affinity():
    assert available_cpus(range(64), "400000 100000") == (tuple(range(64)), 4)
    assert available_cpus([3, 1], "max 100000") == ((1, 3), 2)
    cpus, usable = available_cpus()
    assert set(cpus) == os.sched_getaffinity(0)
    assert 1 <= usable <= len(cpus)
