"""How a plan is built, as one typed value: what the Python build (:mod:`.build`) and the trtexec
recipe (:mod:`.trtexec`) both read, and what the sidecar records."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HARDWARE_LEVELS = {
    "none": "NONE",
    "ampere_plus": "AMPERE_PLUS",
    "same_compute_capability": "SAME_COMPUTE_CAPABILITY",
}


@dataclass(frozen=True)
class EngineOptions:
    workspace_mib: int = 4096
    timing_cache: Path | None = None
    version_compatible: bool = False
    hardware_compatibility: str = "none"  # a key of HARDWARE_LEVELS
    verbose: bool = False

    def __post_init__(self) -> None:
        if self.hardware_compatibility not in HARDWARE_LEVELS:
            raise ValueError(f"hardware compatibility must be one of {', '.join(HARDWARE_LEVELS)}")


def build_flags(options: EngineOptions) -> list[str]:
    """The sidecar's record of how the plan was built."""
    flags = ["STRONGLY_TYPED", f"WORKSPACE={options.workspace_mib}MiB"]
    if options.timing_cache is not None:
        flags.append("TIMING_CACHE")
    if options.version_compatible:
        flags.append("VERSION_COMPATIBLE")
    if options.hardware_compatibility != "none":
        flags.append(f"HARDWARE_COMPATIBILITY={HARDWARE_LEVELS[options.hardware_compatibility]}")
    return flags
