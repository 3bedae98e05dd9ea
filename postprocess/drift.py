"""A drift signal that needs no labels: recent answers against a reference set of answers.

The reference is a file of answers (top-1 class id and probability per image) captured by
``densenet-client baseline`` on images that look like normal traffic. The score compares the most
recent ``window`` answers with it on two distributions: the top-1 class mix (C classes) and the
top-1 probability histogram (the buckets of :data:`postprocess.quality.CONFIDENCE_BUCKETS`). Each
comparison is the Jensen-Shannon divergence in bits, 0 (the same distribution) to 1 (no overlap);
the score is the larger of the two.

Limits: a finite window of answers differs from the reference by chance alone (the fewer answers
per class, the more: about 0.25 with 1000 equally likely classes and 1000 answers), so the score of a window
drawn from the reference itself is above 0. :func:`noise_floor` measures that chance level for the
configured window (windows sampled from the reference); compare the score with it, not with 0. It
samples from the reference's own counts, so a small reference understates the floor. It sees what
the model answers, never whether the answers are right: a change the model answers with the same
class mix and confidence is invisible, and a legitimate change of traffic (a new client, another
season) moves it as much as a broken camera.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from densenet_contract.monitoring import DRIFT_REFERENCE_FORMAT

from .confidence import CONFIDENCE_BUCKETS, confidence_bins
from .errors import DriftReferenceError


@dataclass(frozen=True)
class Distribution:
    """A class mix and a top-1 probability histogram, each as counts."""

    classes: np.ndarray  # float64 [C]
    confidence: np.ndarray  # float64 [len(CONFIDENCE_BUCKETS) + 1]

    @classmethod
    def of(cls, class_ids: np.ndarray, scores: np.ndarray, classes: int) -> Distribution:
        bins = confidence_bins(scores)
        return cls(
            np.bincount(np.asarray(class_ids, dtype=np.int64), minlength=classes).astype(np.float64),
            np.bincount(bins, minlength=len(CONFIDENCE_BUCKETS) + 1).astype(np.float64),
        )


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence of two count (or probability) vectors, in bits: 0 to 1.

    Empty vectors (all zero) have no distribution: the divergence is NaN.
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    if p.sum() <= 0 or q.sum() <= 0:
        return float("nan")
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / m[mask])))

    return min(1.0, max(0.0, (kl(p) + kl(q)) / 2))


@dataclass(frozen=True)
class DriftScore:
    classes: float  # JS divergence of the top-1 class mix
    confidence: float  # JS divergence of the top-1 probability histogram

    @property
    def score(self) -> float:
        """The single drift score: the larger divergence (NaN while there is nothing to compare)."""
        return max(self.classes, self.confidence)


def drift(recent: Distribution, reference: Distribution) -> DriftScore:
    return DriftScore(
        js_divergence(recent.classes, reference.classes),
        js_divergence(recent.confidence, reference.confidence),
    )


def load_reference(path: str | Path, classes: int) -> Distribution:
    """The reference distribution from a ``densenet-client baseline`` file; refuses a bad file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DriftReferenceError(f"cannot read drift reference {path.name}: {error}") from None
    if not isinstance(data, dict) or data.get("format") != DRIFT_REFERENCE_FORMAT:
        raise DriftReferenceError(f"{path.name} is not a drift reference (format {DRIFT_REFERENCE_FORMAT})")
    ids, scores = data.get("class_ids"), data.get("top1_probabilities")
    if not isinstance(ids, list) or not isinstance(scores, list) or len(ids) != len(scores) or not ids:
        raise DriftReferenceError(
            f"{path.name}: needs equally long, non-empty class_ids and top1_probabilities"
        )
    try:
        id_array = np.asarray(ids, dtype=np.int64)
        score_array = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError):
        raise DriftReferenceError(
            f"{path.name}: class_ids must be integers, top1_probabilities numbers"
        ) from None
    if id_array.ndim != 1 or id_array.min() < 0 or id_array.max() >= classes:
        raise DriftReferenceError(f"{path.name}: class ids must be in 0..{classes - 1}")
    if not np.all((score_array >= 0) & (score_array <= 1)):
        raise DriftReferenceError(f"{path.name}: top-1 probabilities must be in [0, 1]")
    return Distribution.of(id_array, score_array, classes)


class DriftWindow:
    """The most recent ``size`` answers (class id and confidence bucket), with running counts."""

    def __init__(self, size: int, classes: int) -> None:
        self.size = size
        self._ids = np.zeros(size, dtype=np.int64)
        self._bins = np.zeros(size, dtype=np.int64)
        self._next = 0  # where the next answer goes
        self.answers = 0  # how many answers the window holds (at most size)
        self._classes = np.zeros(classes, dtype=np.float64)
        self._confidence = np.zeros(len(CONFIDENCE_BUCKETS) + 1, dtype=np.float64)

    def add(self, class_ids: np.ndarray, scores: np.ndarray) -> None:
        """Append a batch of answers, dropping the oldest beyond ``size``."""
        ids = np.asarray(class_ids, dtype=np.int64)[-self.size :]
        bins = confidence_bins(scores)[-self.size :]
        slots = (self._next + np.arange(len(ids))) % self.size
        full = slots < self.answers if self.answers < self.size else np.ones(len(ids), dtype=bool)
        np.subtract.at(self._classes, self._ids[slots[full]], 1)
        np.subtract.at(self._confidence, self._bins[slots[full]], 1)
        self._ids[slots], self._bins[slots] = ids, bins
        np.add.at(self._classes, ids, 1)
        np.add.at(self._confidence, bins, 1)
        self._next = int((self._next + len(ids)) % self.size)
        self.answers = min(self.size, self.answers + len(ids))

    @property
    def distribution(self) -> Distribution:
        return Distribution(self._classes.copy(), self._confidence.copy())


def noise_floor(
    reference: Distribution, window: int, rounds: int = 200, quantile: float = 0.99, seed: int = 0
) -> float:
    """The score that ``quantile`` of windows of ``window`` answers drawn from the reference stay below.

    Each round samples a class mix and a confidence histogram of ``window`` answers from the
    reference's own proportions (independently: the score compares the two separately) and scores
    them against the reference. Deterministic for a given ``seed``.
    """
    rng = np.random.default_rng(seed)
    classes = reference.classes / reference.classes.sum()
    confidence = reference.confidence / reference.confidence.sum()
    scores = [
        drift(
            Distribution(
                rng.multinomial(window, classes).astype(np.float64),
                rng.multinomial(window, confidence).astype(np.float64),
            ),
            reference,
        ).score
        for _ in range(rounds)
    ]
    return float(np.quantile(scores, quantile))
