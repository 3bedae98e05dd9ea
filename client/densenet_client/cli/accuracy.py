"""Accuracy of a labelled run: top-1/top-5 with Wilson 95 % intervals and per-class misses."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

Z_95 = 1.959963984540054


def wilson_interval(successes: int, total: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for a proportion (sound for small n and for 0 % or 100 %)."""
    if total <= 0:
        return 0.0, 1.0
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Rate:
    hits: int
    total: int

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.hits, self.total)

    def as_dict(self) -> dict[str, float | int]:
        low, high = self.interval
        return {"hits": self.hits, "total": self.total, "rate": self.value, "ci95": [low, high]}


@dataclass(frozen=True)
class ClassMisses:
    class_id: int
    missed: int  # top-1 misses
    total: int
    predicted: tuple[tuple[int, int], ...]  # (class id, count) of the wrong top-1 answers, most first


@dataclass
class Accuracy:
    """Tallies of ``add(true class, predicted class ids best first)`` calls."""

    k: int = 5
    top1: int = 0
    topk: int = 0
    total: int = 0
    _per_class: dict[int, list[int]] = field(default_factory=dict)  # class -> [total, top-1 misses]
    _wrong: dict[int, Counter[int]] = field(default_factory=dict)

    def add(self, truth: int, predicted: Sequence[int]) -> None:
        if len(predicted) < self.k:
            raise ValueError(f"need the top-{self.k} predictions, got {len(predicted)}")
        self.total += 1
        counts = self._per_class.setdefault(truth, [0, 0])
        counts[0] += 1
        if predicted[0] == truth:
            self.top1 += 1
        else:
            counts[1] += 1
            self._wrong.setdefault(truth, Counter())[predicted[0]] += 1
        if truth in predicted[: self.k]:
            self.topk += 1

    @property
    def top1_rate(self) -> Rate:
        return Rate(self.top1, self.total)

    @property
    def topk_rate(self) -> Rate:
        return Rate(self.topk, self.total)

    @property
    def classes(self) -> int:
        return len(self._per_class)

    def misses(self) -> list[ClassMisses]:
        """Classes with a top-1 miss, the most missed (then the lowest id) first."""
        rows = [
            ClassMisses(c, missed, total, tuple(self._wrong[c].most_common()))
            for c, (total, missed) in self._per_class.items()
            if missed
        ]
        return sorted(rows, key=lambda m: (-m.missed, -m.missed / m.total, m.class_id))
