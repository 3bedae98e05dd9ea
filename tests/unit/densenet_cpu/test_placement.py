import os
import threading
from pathlib import Path

import pytest

from densenet_build.repository.pbtxt import parse_model_config, string_parameters
from densenet_cpu import placement
from densenet_cpu.config import CpuConfig
from densenet_cpu.placement import (
    Placement,
    instance_index,
    ort_session_options,
    pin_process,
    place,
)

CPU_CONFIG = Path(__file__).resolve().parents[3] / "model_repository/densenet/configs/cpu.pbtxt"


def test_one_single_threaded_instance_per_core():
    assert [place([0, 1], 2, 2, i) for i in range(2)] == [Placement(1, (0,)), Placement(1, (1,))]


def test_instances_share_bigger_hosts_in_contiguous_slices():
    cpus = list(range(8, 16))
    assert [place(cpus, 8, 2, i) for i in range(2)] == [
        Placement(4, (8, 9, 10, 11)),
        Placement(4, (12, 13, 14, 15)),
    ]
    assert place(range(5), 5, 2, 1) == Placement(2, (2, 3))  # the odd CPU stays free for the rest


def test_one_instance_takes_every_cpu():
    assert place([0, 1], 2, 1, 0) == Placement(2, (0, 1))


def test_explicit_threads_are_kept():
    assert place([0, 1, 2, 3], 4, 2, 1, threads=3) == Placement(3, (2, 3))


@pytest.mark.parametrize(
    ("cpus", "usable", "instances", "pin", "why"),
    [
        ([0, 1], 2, 3, True, "more instances than CPUs"),
        (list(range(64)), 2, 2, True, "a quota: the CPUs are shared with other containers"),
        ([0, 1], 2, 2, False, "pinning turned off"),
    ],
)
def test_no_pinning_where_it_cannot_give_each_instance_its_own_cpus(cpus, usable, instances, pin, why):
    placement = place(cpus, usable, instances, 0, pin=pin)
    assert placement.cpus is None, why
    assert placement.threads == max(1, usable // instances)


@pytest.mark.parametrize(("instances", "index"), [(0, 0), (2, 2), (2, -1)])
def test_impossible_placements_are_refused(instances, index):
    with pytest.raises(ValueError, match="cannot place"):
        place([0, 1], 2, instances, index)


def test_instance_index_counts_across_groups():
    config = {
        "instance_group": [
            {"name": "densenet_0", "kind": "KIND_CPU", "count": 2},
            {"name": "densenet_1", "kind": "KIND_CPU", "count": 3},
        ]
    }
    assert instance_index(config, "densenet_0_1") == (1, 5)
    assert instance_index(config, "densenet_1_0") == (2, 5)
    assert instance_index(config, "densenet_1_2") == (4, 5)


def test_instance_index_without_group_names():
    assert instance_index({"instance_group": [{"count": 2}]}, "densenet_0_1") == (1, 2)
    assert instance_index({}, "densenet") == (0, 1)


def test_the_cpu_config_on_two_cores_gives_each_instance_one_thread_and_both_when_alone():
    config = parse_model_config(CPU_CONFIG.read_text())
    cpu = CpuConfig.from_parameters(string_parameters(config))
    instances = sum(group.count for group in config.instance_group)
    placements = placement.cpu_instance_placements(cpu, instances, available=((0, 1), 2))
    assert placements == [Placement(1, None, 2), Placement(1, None, 2)]
    # Single-threaded sessions gain nothing from batching: one request per run, behind a bounded queue.
    assert list(config.dynamic_batching.preferred_batch_size) == [1]
    assert config.dynamic_batching.default_queue_policy.max_queue_size > 0


def test_session_options_follow_the_parameters():
    config = CpuConfig.from_parameters({"inter_op_num_threads": "1", "allow_spinning": "false"})
    options = ort_session_options(config, 3)
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (3, 1)
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_pin_process_pins_threads_started_before_and_after():
    seen: dict[str, set[int]] = {}
    started, release = threading.Event(), threading.Event()

    def before():
        started.set()
        release.wait(10)
        seen["before"] = os.sched_getaffinity(0)

    original = os.sched_getaffinity(0)
    target = {min(original)}
    thread = threading.Thread(target=before)
    thread.start()
    started.wait(10)
    try:
        pin_process(target)
        release.set()
        thread.join(10)
        after = threading.Thread(target=lambda: seen.setdefault("after", os.sched_getaffinity(0)))
        after.start()
        after.join(10)
    finally:
        pin_process(original)
    assert seen == {"before": target, "after": target}


def test_pin_process_skips_a_thread_that_exited_after_being_listed(monkeypatch):
    # The race made deterministic: a task id that no longer exists (no pid reaches pid_max) stands
    # for a thread that exited between the listing of /proc/self/task and its sched_setaffinity.
    gone = Path("/proc/sys/kernel/pid_max").read_text().strip()
    with pytest.raises(ProcessLookupError):
        os.sched_setaffinity(int(gone), os.sched_getaffinity(0))
    listdir = os.listdir
    monkeypatch.setattr(
        placement.os, "listdir", lambda path: [*listdir(path), gone] if "task" in str(path) else listdir(path)
    )
    original = os.sched_getaffinity(0)
    try:
        pin_process({min(original)})
        assert os.sched_getaffinity(0) == {min(original)}
    finally:
        pin_process(original)


def test_pin_process_while_many_short_lived_threads_come_and_go():
    original = os.sched_getaffinity(0)
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            batch = [threading.Thread(target=lambda: None) for _ in range(20)]
            for thread in batch:
                thread.start()
            for thread in batch:
                thread.join()

    churners = [threading.Thread(target=churn) for _ in range(4)]
    for thread in churners:
        thread.start()
    try:
        for _ in range(300):
            pin_process(original)
    finally:
        stop.set()
        for thread in churners:
            thread.join(30)
    assert os.sched_getaffinity(0) == original


def test_adaptive_threads_give_a_lone_request_every_cpu_and_pin_nothing():
    config = CpuConfig.from_parameters(
        {"intra_op_num_threads": "0", "pin_instances": "true", "adaptive_threads": "true"}
    )
    placements = placement.cpu_instance_placements(config, 2, available=((0, 1), 2))
    assert [(p.threads, p.cpus, p.solo_threads) for p in placements] == [(1, None, 2), (1, None, 2)]


def test_adaptive_threads_with_one_cpu_have_nothing_to_adapt():
    config = CpuConfig.from_parameters({"adaptive_threads": "true"})
    placements = placement.cpu_instance_placements(config, 2, available=((0,), 1))
    assert [(p.threads, p.solo_threads) for p in placements] == [(1, None), (1, None)]


def test_without_adaptive_threads_the_share_is_fixed():
    config = CpuConfig.from_parameters({"pin_instances": "true"})
    placements = placement.cpu_instance_placements(config, 2, available=((0, 1), 2))
    assert [(p.threads, p.cpus, p.solo_threads) for p in placements] == [(1, (0,), None), (1, (1,), None)]


def test_booleans_read_like_the_other_models():
    assert CpuConfig.from_parameters({"pin_instances": " True ", "adaptive_threads": "off"}).pin_instances
    assert not CpuConfig.from_parameters({"adaptive_threads": "off"}).adaptive_threads
