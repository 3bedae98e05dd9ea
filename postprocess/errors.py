"""The exceptions of the postprocessing package."""

from __future__ import annotations


class PostprocessError(Exception):
    """Base of every error raised by this package."""


class LabelsError(PostprocessError, ValueError):
    """The labels file does not match the model (wrong count, empty lines)."""


class InvalidTopKError(PostprocessError, ValueError):
    """A request asked for a ``top_k`` that is not an integer in [1, number of classes]."""
