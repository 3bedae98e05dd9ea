"""``densenet-build queues``: size every deployment's queues from a wait budget and its service rate.

Each deployment's preprocess and densenet queues (``max_queue_size``) become the wait budget times
what its densenet serves (the CPU config: instances x one instance's rate; the GPU config: instances
x max_batch_size per full-batch time), at most what the memory bound of docs/operating.md allows.
The one place to change how long admitted requests may wait under overload; restart the server after.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from densenet_contract.cli import EXIT_FAILED, EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..repository.configs import DEFAULT_REPOSITORY
    from ..repository.queues import CPU_IMAGES_PER_S, GPU_FULL_BATCH_S, WAIT_BUDGET_S

    parser.add_argument("--repository", type=Path, default=DEFAULT_REPOSITORY)
    parser.add_argument(
        "--wait-budget",
        type=float,
        default=WAIT_BUDGET_S,
        help="seconds an admitted request may wait in a queue (default %(default)s)",
    )
    parser.add_argument(
        "--cpu-rate",
        type=float,
        default=CPU_IMAGES_PER_S,
        help="images/s one CPU densenet instance serves, as `make bench-overload` measured "
        "(its capacity / instances; default %(default)s)",
    )
    parser.add_argument(
        "--gpu-batch-ms",
        type=float,
        default=GPU_FULL_BATCH_S * 1000,
        help="milliseconds the GPU densenet takes for a full batch (default %(default)g)",
    )
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a config differs from the sizes"
    )


def run(args: argparse.Namespace) -> int:
    from ..repository.queues import DEPLOYMENTS, configured_sizes, plan_repository, write_queues

    plans = plan_repository(
        args.repository,
        wait_budget_s=args.wait_budget,
        cpu_images_per_s=args.cpu_rate,
        gpu_full_batch_s=args.gpu_batch_ms / 1000,
    )
    differ = False
    for plan, deployment in zip(plans, DEPLOYMENTS, strict=True):
        now = configured_sizes(args.repository, deployment)
        differ |= now != (plan.size, plan.size)
        bound = "memory bound" if plan.memory_cap < plan.wanted else "budget"
        print(
            f"{plan.deployment}: {plan.instances} instance(s) x max batch {plan.max_batch_size}, "
            f"{plan.rate_per_s:g} images/s x {args.wait_budget:g} s = {plan.wanted}; memory allows "
            f"{plan.memory_cap} -> max_queue_size {plan.size} (set by the {bound}; worst case "
            f"{plan.worst_bytes / 2**30:.1f} of {deployment.memory_bound / 2**30:g} GiB); "
            f"{deployment.preprocess} and {deployment.densenet} now hold {now[0]} and {now[1]}"
        )
    if args.check:
        return EXIT_FAILED if differ else EXIT_OK
    for path in write_queues(args.repository, plans):
        print(f"wrote {path}")
    return EXIT_OK
