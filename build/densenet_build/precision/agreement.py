"""How closely a lower-precision model (ONNX variant or TensorRT plan) follows the fp32 reference.

Shared by the precision step (ONNX Runtime) and the verify step (TensorRT): the same metrics, the
same table, the same JSON, the same threshold.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..errors import PrecisionError

TOP_K = 5


@dataclass(frozen=True)
class Agreement:
    """One candidate against the reference over the same images."""

    name: str
    images: int
    top1_agreement: float  # fraction of images whose best class is the reference's
    top5_overlap: float  # mean fraction of the reference's top 5 found in the candidate's top 5
    max_abs_diff: float  # largest absolute logit difference over every image and class
    mean_abs_diff: float

    def passes(self, min_top1: float) -> bool:
        return self.top1_agreement >= min_top1


def _top_k(logits: np.ndarray, k: int) -> np.ndarray:
    return np.argpartition(-logits, k - 1, axis=1)[:, :k]


def compare(name: str, reference: np.ndarray, candidate: np.ndarray) -> Agreement:
    """Metrics of ``candidate`` logits against ``reference`` logits (any shape with batch first)."""
    ref = np.asarray(reference, np.float64).reshape(len(reference), -1)
    cand = np.asarray(candidate, np.float64).reshape(len(candidate), -1)
    if ref.shape != cand.shape:
        raise PrecisionError(f"{name}: output shape {cand.shape} differs from the reference's {ref.shape}")
    if not len(ref):
        raise PrecisionError(f"{name}: no images to compare")
    k = min(TOP_K, ref.shape[1])
    if not np.isfinite(cand).all():
        # NaN/inf logits (fp16 overflow, say) agree with nothing; argmax would pick them silently.
        return Agreement(name, len(ref), 0.0, 0.0, math.inf, math.inf)
    ref_top, cand_top = _top_k(ref, k), _top_k(cand, k)
    overlap = np.mean([len(set(a) & set(b)) / k for a, b in zip(ref_top, cand_top, strict=True)])
    diff = np.abs(cand - ref)
    return Agreement(
        name,
        len(ref),
        float(np.mean(ref.argmax(1) == cand.argmax(1))),
        float(overlap),
        float(diff.max()),
        float(diff.mean()),
    )


def format_table(rows: Sequence[Agreement], min_top1: float | None = None, reference: str = "fp32") -> str:
    """A fixed-width table, one row per candidate, with a verdict against ``min_top1``."""
    header = (
        f"{'model':<22} {'images':>6} {'top-1 agree':>11} {'top-5 overlap':>13} "
        f"{'max |Δlogit|':>12} {'mean |Δlogit|':>13}  verdict"
    )
    lines = [f"agreement with {reference} (ONNX Runtime CPU reference)", header, "-" * len(header)]
    for row in rows:
        if row.name == reference:
            verdict = "reference"
        elif min_top1 is None:
            verdict = ""
        else:
            verdict = "ok" if row.passes(min_top1) else f"FAIL (< {min_top1:.1%})"
        lines.append(
            f"{row.name:<22} {row.images:>6} {row.top1_agreement:>11.1%} {row.top5_overlap:>13.1%} "
            f"{row.max_abs_diff:>12.4f} {row.mean_abs_diff:>13.4f}  {verdict}"
        )
    return "\n".join(lines)


def _finite_or_none(value: object) -> object:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def write_report(path: str | Path, rows: Sequence[Agreement], **context: object) -> Path:
    """Write the rows (and any context: thresholds, files, weights) as JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {
        **context,
        "results": [{k: _finite_or_none(v) for k, v in asdict(row).items()} for row in rows],
    }
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return path


def require(rows: Sequence[Agreement], min_top1: float, reference: str = "fp32") -> None:
    """Raise :class:`PrecisionError` naming every candidate below ``min_top1`` top-1 agreement."""
    failing = [row for row in rows if row.name != reference and not row.passes(min_top1)]
    if failing:
        names = ", ".join(f"{row.name} ({row.top1_agreement:.1%})" for row in failing)
        raise PrecisionError(
            f"top-1 agreement with {reference} below {min_top1:.1%}: {names}. Use more or more "
            "representative calibration images, another --calibration-method, or a higher precision"
        )
