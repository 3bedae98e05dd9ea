"""The densenet_* input metrics the preprocess model writes (docs/quality.md), and what they record
about the images preprocess sees (pure, no Triton).

Each refused image is counted under one fixed reason (never the message, which quotes the input),
and each image's size goes into bucketed histograms with the upper bounds below.
"""

from __future__ import annotations

from collections import Counter

from densenet_contract.metrics import Metrics
from densenet_contract.monitoring import IMAGE_BYTES, IMAGE_PIXELS, IMAGES_REFUSED, PREPROCESSING_INFO

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


class InputMetrics:
    """The densenet_* input metrics (docs/quality.md), made through ``metrics`` (the model passes
    ``Metrics.of(pb_utils.MetricFamily)``); :meth:`write` runs on the model's metrics writer thread."""

    def __init__(self, metrics: Metrics, config: PreprocessConfig) -> None:
        self._metrics = metrics  # keeps the families alive: a collected family takes its series away
        refused = "Images refused by preprocess, by reason"
        self.refused = {r: metrics.counter(IMAGES_REFUSED, refused, reason=r) for r in all_reasons()}
        # Its _count is every image received.
        self.bytes = metrics.histogram(IMAGE_BYTES, "Encoded bytes of each image received", BYTES_BUCKETS)
        self.pixels = metrics.histogram(IMAGE_PIXELS, "Width x height of each accepted image", PIXELS_BUCKETS)
        labels = preprocessing_labels(config)
        metrics.gauge(PREPROCESSING_INFO, "The preprocessing served (always 1)", **labels).set(1)

    def write(self, batches: list[tuple[list[str], list[tuple[int, int]]]]) -> None:
        """On the writer thread: batches of (refusal reasons, (bytes, pixels) per image)."""
        for reason, count in Counter(reason for reasons, _ in batches for reason in reasons).items():
            self.refused[reason].increment(count)
        sizes = [size for _, batch in batches for size in batch]
        self.bytes.add([encoded for encoded, _ in sizes])
        self.pixels.add([pixels for _, pixels in sizes if pixels])
