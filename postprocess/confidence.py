"""What the prediction-quality metrics count about a batch of answers (pure numpy, no Triton).

The postprocess model observes each answer's top-1 probability in a histogram with the upper bounds
below, counts the answers below the low-confidence threshold, and counts answers per top-1 class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Upper bounds (Prometheus `le`) of the top-1 probability histogram; +Inf is added by the histogram.
CONFIDENCE_BUCKETS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


@dataclass(frozen=True)
class BatchQuality:
    """What one batch of answers adds to the metrics."""

    top1_ids: np.ndarray  # int64 [B]: the top-1 class of each answer
    top1_scores: np.ndarray  # float32 [B]: its softmax probability
    low_confidence: int  # answers whose top-1 probability is below the threshold
    class_counts: dict[int, int]  # top-1 class id -> answers in this batch (only classes that occur)


def batch_quality(probabilities: np.ndarray, threshold: float) -> BatchQuality:
    """The top-1 class and probability of each row of ``probabilities`` [B, C], and their counts.

    Ties go to the lower class id, as in :func:`postprocess.top_k`.
    """
    ids = np.argmax(probabilities, axis=1)
    scores = probabilities[np.arange(len(ids)), ids].astype(np.float32)
    classes, counts = np.unique(ids, return_counts=True)
    return BatchQuality(
        top1_ids=ids.astype(np.int64),
        top1_scores=scores,
        low_confidence=int(np.count_nonzero(scores < threshold)),
        class_counts={int(c): int(n) for c, n in zip(classes, counts, strict=True)},
    )


def confidence_bins(scores: np.ndarray, bounds: tuple[float, ...] = CONFIDENCE_BUCKETS) -> np.ndarray:
    """The histogram bucket of each score: ``i`` is the first bound >= score, ``len(bounds)`` is +Inf.

    The same rule as Prometheus' ``le`` buckets, so bin counts and the exported buckets agree.
    """
    return np.searchsorted(np.asarray(bounds, dtype=np.float64), np.asarray(scores, dtype=np.float64))
