"""Queue sizes from a wait budget and the service rate, bounded by memory (repository.queues)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from densenet_build.__main__ import main
from densenet_build.errors import ConfigError
from densenet_build.repository.configs import read_config
from densenet_build.repository.queues import (
    BODY_BYTES,
    DEPLOYMENTS,
    SERVER_BYTES,
    configured_sizes,
    pending_bytes,
    plan,
    plan_repository,
    set_max_queue_size,
)

REPO = Path(__file__).resolve().parents[4] / "model_repository"
CPU, GPU = DEPLOYMENTS


def test_the_committed_configs_hold_the_derived_sizes():
    """What `densenet-build queues` writes by default is what is served: change one, rerun it."""
    for queue_plan, deployment in zip(plan_repository(REPO), DEPLOYMENTS, strict=True):
        assert configured_sizes(REPO, deployment) == (queue_plan.size, queue_plan.size), deployment.name
    assert main(["queues", "--repository", str(REPO), "--check"]) == 0


def test_the_memory_arithmetic_uses_the_edges_body_limit():
    from densenet_serve.edge.config import MAX_BODY_BYTES

    assert BODY_BYTES == MAX_BODY_BYTES == 17 << 20


def test_the_default_cpu_queue_admits_eight_closed_loop_clients():
    """N closed-loop clients are never refused while N is at most both queues (each request waits
    in at most one of them at a time, and no more than N are anywhere): the issue's 8 clients."""
    preprocess, densenet = configured_sizes(REPO, CPU)
    assert min(preprocess, densenet) >= 8


def test_the_cpu_queue_is_the_budget_times_the_instances_rate():
    assert plan(CPU, instances=2, max_batch_size=32, wait_budget_s=0.5, cpu_images_per_s=11).size == 11
    four = plan(CPU, instances=4, max_batch_size=32, wait_budget_s=0.5, cpu_images_per_s=11)
    assert four.wanted == 22
    assert four.size == four.memory_cap == 17  # 4 instances' pending pixels: the 3 GiB bound decides
    assert plan(CPU, instances=2, max_batch_size=32, wait_budget_s=0.25, cpu_images_per_s=11).size == 6
    assert plan(CPU, instances=1, max_batch_size=32, wait_budget_s=0.01, cpu_images_per_s=11).size == 1


def test_the_gpu_queue_follows_the_batch_size_until_memory_bounds_it():
    small = plan(GPU, instances=1, max_batch_size=8, wait_budget_s=0.05, gpu_full_batch_s=0.02)
    assert small.rate_per_s == 400
    assert small.size == small.wanted == 20
    large = plan(GPU, instances=1, max_batch_size=32, wait_budget_s=0.5, gpu_full_batch_s=0.04)
    assert large.wanted == 400
    assert large.size == large.memory_cap < large.wanted


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=lambda d: d.name)
@pytest.mark.parametrize("budget", [0.1, 0.5, 1.0, 5.0])
def test_the_worst_case_stays_within_the_memory_bound(deployment, budget):
    queue_plan = plan(deployment, instances=2, max_batch_size=32, wait_budget_s=budget)
    assert SERVER_BYTES < queue_plan.worst_bytes <= deployment.memory_bound
    decoders = 2 if deployment.decoders is None else deployment.decoders
    assert pending_bytes(queue_plan.memory_cap + 1, 2, 32, decoders) > deployment.memory_bound


def test_bad_rates_are_refused():
    with pytest.raises(ConfigError, match="must be > 0"):
        plan(CPU, instances=2, max_batch_size=32, wait_budget_s=0)


def test_setting_the_size_keeps_the_comments_and_needs_one_policy():
    text = (REPO / "densenet/configs/cpu.pbtxt").read_text()
    updated = set_max_queue_size(text, 17)
    assert updated.replace("max_queue_size: 17", "") == text.replace(
        f"max_queue_size: {configured_sizes(REPO, CPU)[1]}", ""
    )
    with pytest.raises(ConfigError, match="found 0"):
        set_max_queue_size('name: "x"\n', 3)


def test_the_command_writes_the_budget_into_both_configs_of_each_deployment(tmp_path, capsys):
    repository = tmp_path / "model_repository"
    shutil.copytree(REPO, repository, ignore=shutil.ignore_patterns("*.onnx", "*.plan"))
    assert main(["queues", "--repository", str(repository), "--wait-budget", "0.25"]) == 0
    assert configured_sizes(repository, CPU) == (5, 5)  # 0.25 s x 18 images/s
    assert main(["queues", "--repository", str(repository), "--check"]) == 1  # the default budget differs
    assert "max_queue_size 5 (set by the budget" in capsys.readouterr().out
    assert read_config(repository / "densenet/configs/cpu.pbtxt").dynamic_batching.preferred_batch_size == [1]
