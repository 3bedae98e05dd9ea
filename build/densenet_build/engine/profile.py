"""The TensorRT optimization profile, derived from the ``densenet`` config's batching.

Triton sends the plan every batch size from 1 to ``max_batch_size``, so the profile must cover
exactly that range (a smaller max makes Triton refuse the plan at load time). Under load the
dynamic batcher forms its largest preferred batch size, so that is where TensorRT should tune its
kernels (``opt``); without preferred sizes, ``max_batch_size``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from ..repository.configs import ModelInterface


@dataclass(frozen=True)
class BatchProfile:
    min: int
    opt: int
    max: int

    def shapes(self, dims: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        """min/opt/max input shapes: the batch dimension followed by ``dims``."""
        return {"min": (self.min, *dims), "opt": (self.opt, *dims), "max": (self.max, *dims)}


def batch_profile(
    interface: ModelInterface, *, min_batch: int | None = None, opt_batch: int | None = None
) -> BatchProfile:
    """min 1, opt the largest preferred batch size (else max), max ``max_batch_size``."""
    preferred = interface.preferred_batch_sizes
    profile = BatchProfile(
        min=1 if min_batch is None else min_batch,
        opt=opt_batch
        if opt_batch is not None
        else (max(preferred) if preferred else interface.max_batch_size),
        max=interface.max_batch_size,
    )
    check_profile(profile, interface)
    return profile


def check_profile(profile: BatchProfile, interface: ModelInterface) -> None:
    """Refuse a profile Triton could not use with this config, saying why."""
    if not 1 <= profile.min <= profile.opt <= profile.max:
        raise ConfigError(
            f"batch profile min {profile.min} / opt {profile.opt} / max {profile.max} must satisfy "
            "1 <= min <= opt <= max"
        )
    if profile.min != 1:
        raise ConfigError(f"the profile's min batch is {profile.min}, but Triton sends batches of 1 too")
    if profile.max < interface.max_batch_size:
        raise ConfigError(
            f"the profile's max batch {profile.max} is below max_batch_size {interface.max_batch_size} "
            f"in {interface.source}; Triton would refuse the plan"
        )
