"""How many requests each deployment's queues hold: a wait budget times what the deployment serves,
bounded by the memory the pending requests may take (docs/operating.md, "Overload").

A queue smaller than what the server can serve within the budget refuses load it could carry; a
larger one lets admitted requests wait longer than the budget. So, per deployment:

    queue = ceil(wait budget x service rate), at most what the memory bound allows

where the service rate is the CPU densenet's instances times one instance's measured rate, or the
GPU densenet's instances times a full batch (``max_batch_size``) per batch time. ``preprocess`` holds
as many as ``densenet`` (it never refuses what densenet would still queue), so N closed-loop
clients, N up to the queue, are never refused. ``densenet-build queues`` writes the sizes into the
configs: the one place an operator sets the budget (``--wait-budget``) or a measured rate.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from tritonclient.grpc import model_config_pb2

from densenet_contract.names import INPUT_DIMS
from preprocess import PreprocessConfig

from ..errors import ConfigError
from .configs import DEFAULT_REPOSITORY, read_config
from .pbtxt import parse_model_config

# How long an admitted request may wait in a queue before its turn (seconds).
WAIT_BUDGET_S = 0.5
# Images/s one CPU densenet instance serves with its share of preprocessing: the default 2-instance
# layout carried 16.5-18.3 images/s on the 2-core development machine (`make bench-overload`'s
# capacity, the host nearly idle); the slower end, rounded, so that the queues hold the budget there.
CPU_IMAGES_PER_S = 9.0
# Seconds a GPU densenet instance takes for a full batch (``max_batch_size`` images): an assumption
# for a small inference GPU (DenseNet-121 fp16, 32 images); measure yours (docs/benchmarks.md).
GPU_FULL_BATCH_S = 0.04

MIB = 1 << 20
# What pending requests may take (docs/operating.md): the edge's body limit per encoded request (one
# image at preprocess's max_bytes and its JSON header: densenet_serve.edge.config.MAX_BODY_BYTES, which
# this package may not import; test_queues keeps the two equal), one row of pixels, a decoded image at
# preprocess's max_pixels (one per decode thread), and the server's own resident memory before any
# request.
BODY_BYTES = PreprocessConfig.max_bytes + MIB
ROW_BYTES = math.prod(INPUT_DIMS) * 4
DECODED_BYTES = PreprocessConfig.max_pixels * 3
SERVER_BYTES = 650 * MIB


@dataclass(frozen=True)
class Deployment:
    """One way the repository is served: which configs hold its two queues, and what bounds them."""

    name: str
    preprocess: str  # config path relative to the repository
    densenet: str
    memory_bound: int  # bytes tritonserver and its stubs may hold while overloaded
    decoders: int | None  # images decoded at once on the host; None: one per densenet instance

    def paths(self, repository: Path) -> tuple[Path, Path]:
        return repository / self.preprocess, repository / self.densenet


DEPLOYMENTS = (
    # The embedded default (`make serve`): python preprocess + ONNX Runtime densenet on the CPUs.
    Deployment("cpu", "preprocess/config.pbtxt", "densenet/configs/cpu.pbtxt", 3 << 30, None),
    # A GPU host: DALI preprocess (decoding on the GPU) + the TensorRT densenet.
    Deployment("gpu", "preprocess/configs/dali.pbtxt", "densenet/config.pbtxt", 8 << 30, 0),
)


@dataclass(frozen=True)
class QueuePlan:
    """A deployment's derived queue and the figures it came from."""

    deployment: str
    instances: int
    max_batch_size: int
    rate_per_s: float
    wanted: int  # budget x rate
    memory_cap: int  # the most the memory bound allows
    worst_bytes: int  # the memory bound's arithmetic at the chosen size

    @property
    def size(self) -> int:
        return min(self.wanted, self.memory_cap)


def pending_bytes(queue: int, instances: int, max_batch_size: int, decoders: int) -> int:
    """The worst case the server holds with both queues at ``queue`` (docs/operating.md, "Overload").

    preprocess: ``queue`` waiting plus a batch of at most ``queue + 1``, each a body at the edge's
    limit; densenet: ``queue`` waiting plus one running per instance, each ``max_batch_size`` rows of
    pixels; both twice (the python backend's shared-memory copy); ``decoders`` images decoded at once;
    and the server itself.
    """
    encoded = (2 * queue + 1) * BODY_BYTES
    pixels = (queue + instances) * max_batch_size * ROW_BYTES
    return SERVER_BYTES + decoders * DECODED_BYTES + 2 * (encoded + pixels)


def plan(
    deployment: Deployment,
    instances: int,
    max_batch_size: int,
    wait_budget_s: float = WAIT_BUDGET_S,
    cpu_images_per_s: float = CPU_IMAGES_PER_S,
    gpu_full_batch_s: float = GPU_FULL_BATCH_S,
) -> QueuePlan:
    """The queue of ``deployment`` whose densenet runs ``instances`` instances of ``max_batch_size``."""
    if wait_budget_s <= 0 or cpu_images_per_s <= 0 or gpu_full_batch_s <= 0:
        raise ConfigError("the wait budget, the CPU rate and the GPU batch time must be > 0")
    if deployment.decoders is None:
        rate = instances * cpu_images_per_s
        decoders = instances
    else:
        rate = instances * max_batch_size / gpu_full_batch_s
        decoders = deployment.decoders
    wanted = max(1, math.ceil(wait_budget_s * rate - 1e-9))
    cap = 0
    while pending_bytes(cap + 1, instances, max_batch_size, decoders) <= deployment.memory_bound:
        cap += 1
    if cap < 1:
        raise ConfigError(f"{deployment.name}: not even one request fits the memory bound")
    size = min(wanted, cap)
    worst = pending_bytes(size, instances, max_batch_size, decoders)
    return QueuePlan(deployment.name, instances, max_batch_size, rate, wanted, cap, worst)


def instances_of(config: model_config_pb2.ModelConfig) -> int:
    """The model instances a parsed config runs (the sum of its instance_group counts)."""
    return sum(group.count or 1 for group in config.instance_group) or 1


def plan_repository(repository: Path = DEFAULT_REPOSITORY, **rates: float) -> list[QueuePlan]:
    """Every deployment's queue, from its densenet config in ``repository`` (``rates``: as ``plan``)."""
    plans = []
    for deployment in DEPLOYMENTS:
        config = read_config(deployment.paths(repository)[1])
        plans.append(plan(deployment, instances_of(config), config.max_batch_size, **rates))
    return plans


_MAX_QUEUE_SIZE = re.compile(r"(default_queue_policy\s*\{[^{}]*max_queue_size:\s*)(\d+)")


def set_max_queue_size(text: str, size: int) -> str:
    """Set ``dynamic_batching { default_queue_policy { max_queue_size } }``; comments stay."""
    updated, count = _MAX_QUEUE_SIZE.subn(lambda m: f"{m[1]}{size}", text)
    if count != 1:
        raise ConfigError(f"expected one default_queue_policy with max_queue_size, found {count}")
    if parse_model_config(updated).dynamic_batching.default_queue_policy.max_queue_size != size:
        raise ConfigError("could not set max_queue_size")
    return updated


def configured_sizes(repository: Path, deployment: Deployment) -> tuple[int, int]:
    """The (preprocess, densenet) max_queue_size the deployment's configs hold now."""
    return tuple(  # type: ignore[return-value]
        read_config(path).dynamic_batching.default_queue_policy.max_queue_size
        for path in deployment.paths(repository)
    )


def write_queues(repository: Path, plans: list[QueuePlan]) -> list[Path]:
    """Write each plan's size into its deployment's two configs; returns the files that changed."""
    changed = []
    by_name = {d.name: d for d in DEPLOYMENTS}
    for queue_plan in plans:
        for path in by_name[queue_plan.deployment].paths(repository):
            text = path.read_text(encoding="utf-8")
            updated = set_max_queue_size(text, queue_plan.size)
            if updated != text:
                path.write_text(updated, encoding="utf-8")
                changed.append(path)
    return changed
