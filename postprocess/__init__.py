"""Postprocessing for the DenseNet ensemble: logits → softmax → top-k labels. Never imports Triton."""

from .errors import InvalidTopKError, LabelsError, PostprocessError
from .labels import load_labels
from .topk import label_array, parse_top_k, softmax, top_k

__all__ = [
    "InvalidTopKError",
    "LabelsError",
    "PostprocessError",
    "label_array",
    "load_labels",
    "parse_top_k",
    "softmax",
    "top_k",
]
