"""The densenet_* answer metrics the postprocess model writes (docs/quality.md)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from densenet_contract.metrics import Metrics
from densenet_contract.monitoring import (
    DRIFT_NOISE_FLOOR,
    DRIFT_SCORE,
    DRIFT_WINDOW_ANSWERS,
    LOW_CONFIDENCE_ANSWERS,
    LOW_CONFIDENCE_THRESHOLD,
    PREDICTIONS,
    SERVED_WEIGHTS_INFO,
    TOP1_PROBABILITY,
)

from .confidence import CONFIDENCE_BUCKETS, batch_quality
from .config import PostprocessConfig
from .drift import Distribution, DriftWindow, drift, noise_floor


class AnswerMetrics:
    """The densenet_* answer metrics (docs/quality.md), made through ``metrics`` (the model passes
    ``Metrics.of(pb_utils.MetricFamily)``); :meth:`write` runs on the model's metrics writer thread."""

    def __init__(
        self,
        metrics: Metrics,
        config: PostprocessConfig,
        labels: Sequence[str],
        reference: Distribution | None,
    ) -> None:
        self._metrics = metrics  # keeps the families alive: a collected family takes its series away
        self.top1 = metrics.histogram(
            TOP1_PROBABILITY, "Top-1 softmax probability of each answer", CONFIDENCE_BUCKETS
        )
        self.low = metrics.counter(
            LOW_CONFIDENCE_ANSWERS, "Answers whose top-1 probability is below the threshold"
        )
        threshold = config.low_confidence_threshold
        metrics.gauge(LOW_CONFIDENCE_THRESHOLD, "The low-confidence threshold").set(threshold)
        self.classes = [
            metrics.counter(PREDICTIONS, "Answers per top-1 class", class_id=str(i), label=label)
            for i, label in enumerate(labels)
        ]
        weights = {
            "weights": config.weights,
            "sha256": config.source_sha256,
            "preprocessing": config.preprocessing,
            "source": config.source,
        }
        metrics.gauge(SERVED_WEIGHTS_INFO, "The weights served (always 1)", **weights).set(1)
        self.threshold = threshold
        self.reference = reference
        if reference is not None:
            self.window = DriftWindow(config.drift_window, len(labels))
            self.score = metrics.gauge(DRIFT_SCORE, "Drift of the recent answers from the reference")
            self.score.set(float("nan"))  # until the window is full
            self.window_answers = metrics.gauge(DRIFT_WINDOW_ANSWERS, "Answers in the drift window")
            self.window_answers.set(0)
            floor = "The drift score 99% of windows drawn from the reference itself stay below"
            metrics.gauge(DRIFT_NOISE_FLOOR, floor).set(noise_floor(reference, config.drift_window))

    def write(self, batches: list[np.ndarray]) -> None:
        """On the writer thread: the probabilities [B, C] of the answers of each execution, in order."""
        quality = batch_quality(np.concatenate(batches), self.threshold)
        self.top1.add(quality.top1_scores)
        if quality.low_confidence:
            self.low.increment(quality.low_confidence)
        for class_id, count in quality.class_counts.items():
            self.classes[class_id].increment(count)
        if self.reference is not None:
            filling = self.window.answers < self.window.size
            self.window.add(quality.top1_ids, quality.top1_scores)
            if filling:
                self.window_answers.set(self.window.answers)
            if self.window.answers == self.window.size:  # a partial window is mostly noise
                self.score.set(drift(self.window.distribution, self.reference).score)
