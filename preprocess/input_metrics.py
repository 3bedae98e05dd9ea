"""The densenet_* input metrics the preprocess model writes (docs/quality.md)."""

from __future__ import annotations

from collections import Counter

from densenet_contract.metrics import Metrics
from densenet_contract.monitoring import IMAGE_BYTES, IMAGE_PIXELS, IMAGES_REFUSED, PREPROCESSING_INFO

from .config import PreprocessConfig
from .quality import BYTES_BUCKETS, PIXELS_BUCKETS, all_reasons, preprocessing_labels


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
