"""Postprocessing for the DenseNet ensemble: logits → softmax → top-k labels. Never imports Triton."""

from .errors import LabelsError, PostprocessError
from .labels import load_labels
from .topk import label_array, softmax, top_k

__all__ = [
    "LabelsError",
    "PostprocessError",
    "label_array",
    "load_labels",
    "softmax",
    "top_k",
]
