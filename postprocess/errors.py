"""The exceptions of the postprocessing package."""

from __future__ import annotations


class PostprocessError(Exception):
    """Base of every error raised by this package."""


class LabelsError(PostprocessError, ValueError):
    """The labels file does not match the model (wrong count, empty lines)."""


class InvalidTopKError(PostprocessError, ValueError):
    """A request asked for a ``top_k`` that is not an integer in [1, number of classes]."""


class PostprocessConfigError(PostprocessError, ValueError):
    """A postprocess parameter in the model configuration is unknown or invalid; fails the load."""

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__(f"postprocess parameter '{parameter}': {problem}")
        self.parameter = parameter


class DriftReferenceError(PostprocessError, ValueError):
    """A drift reference file cannot be used (unreadable, wrong format, classes out of range)."""
