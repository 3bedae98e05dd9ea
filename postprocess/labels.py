"""Reading the class-name file that sits next to the model (one label per line, class id = line number)."""

from __future__ import annotations

from pathlib import Path

from .errors import LabelsError


def load_labels(path: str | Path, expected: int | None = None) -> tuple[str, ...]:
    """Read ``labels.txt``; with ``expected``, insist on exactly that many non-empty labels."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    labels = tuple(line.strip() for line in lines)
    if any(not label for label in labels):
        raise LabelsError(f"{Path(path).name}: line {labels.index('') + 1} is empty")
    if expected is not None and len(labels) != expected:
        raise LabelsError(f"{Path(path).name} has {len(labels)} labels, the model has {expected} classes")
    return labels
