"""What the prediction-quality metrics record about the images preprocess sees (pure, no Triton).

Each refused image is counted under one fixed reason (never the message, which quotes the input),
and each image's size goes into bucketed histograms with the upper bounds below.
"""

from __future__ import annotations

from .config import PreprocessConfig
from .errors import (
    CorruptImageError,
    EmptyImageError,
    FormatNotAllowedError,
    ImageError,
    ImageTooLargeError,
    TooManyPixelsError,
)

# The reason label of `densenet_images_refused_total`: a fixed set, one per kind of ImageError.
REFUSAL_REASONS: dict[type[ImageError], str] = {
    EmptyImageError: "empty",
    ImageTooLargeError: "too_large",
    FormatNotAllowedError: "format",
    TooManyPixelsError: "too_many_pixels",  # the decompression-bomb guard
    CorruptImageError: "corrupt",
}
OTHER_REASON = "other"  # an ImageError subclass without its own reason (none today)

# Upper bounds (Prometheus `le`) of the input-size histograms; +Inf is added by the histogram.
BYTES_BUCKETS: tuple[float, ...] = (
    16 * 1024,
    64 * 1024,
    256 * 1024,
    1024 * 1024,
    4 * 1024 * 1024,
    16 * 1024 * 1024,
)
PIXELS_BUCKETS: tuple[float, ...] = (65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 40_000_000)


def refusal_reason(error: ImageError) -> str:
    """The bounded label for why an image was refused."""
    for kind, reason in REFUSAL_REASONS.items():
        if isinstance(error, kind):
            return reason
    return OTHER_REASON


def all_reasons() -> tuple[str, ...]:
    """Every value the reason label can take, so each series exists (at 0) from the start."""
    return (*REFUSAL_REASONS.values(), OTHER_REASON)


def preprocessing_labels(config: PreprocessConfig) -> dict[str, str]:
    """The labels of the info gauge that says which preprocessing is served (one series per server)."""
    height, width = config.output_size
    return {
        "preset": config.preset,
        "resize_mode": config.resize_mode.value,
        "resize_size": str(config.resize_size),
        "output_size": f"{height}x{width}",
        "interpolation": config.interpolation.name.lower(),
        "channel_order": config.channel_order.value,
        "mean": ",".join(f"{v:g}" for v in config.mean),
        "std": ",".join(f"{v:g}" for v in config.std),
        "resampling_mode": config.resampling_mode.value,
    }
