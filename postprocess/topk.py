"""Logits → softmax probabilities → the k best classes, vectorized over a batch."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from densenet_contract.topk import invalid_top_k


def softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis, in float32. Any [B, C, 1, 1] is flattened to [B, C]."""
    x = np.asarray(logits, dtype=np.float32).reshape(len(logits), -1)
    shifted = x - x.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def top_k(probabilities: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best classes of each row, best first; ties go to the lower class id.

    Returns ``(class_ids int32 [B, k], scores float32 [B, k])``.
    """
    batch, classes = probabilities.shape
    if not 1 <= k <= classes:
        raise invalid_top_k(k, classes)
    if k < classes:
        candidates = np.argpartition(-probabilities, k - 1, axis=1)[:, :k]
    else:
        candidates = np.broadcast_to(np.arange(classes), (batch, classes))
    values = np.take_along_axis(probabilities, candidates, axis=1)
    # lexsort: last key is primary -> descending score, then ascending id.
    order = np.lexsort((candidates, -values), axis=1)
    ids = np.take_along_axis(candidates, order, axis=1).astype(np.int32)
    return ids, np.take_along_axis(values, order, axis=1).astype(np.float32)


def label_array(class_ids: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    """Class ids [B, k] → UTF-8 labels as a numpy object array [B, k] (Triton BYTES)."""
    encoded = np.array([label.encode("utf-8") for label in labels], dtype=object)
    return encoded[class_ids]
