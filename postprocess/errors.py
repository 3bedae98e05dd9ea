"""The exceptions of the postprocessing package."""

from __future__ import annotations

from densenet_contract.errors import ParameterError


class PostprocessError(Exception):
    """Base of every error raised by this package."""


class LabelsError(PostprocessError, ValueError):
    """The labels file does not match the model (wrong count, empty lines)."""


class PostprocessConfigError(PostprocessError, ParameterError):
    """A postprocess parameter in the model configuration is unknown or invalid; fails the load."""

    model = "postprocess"


class DriftReferenceError(PostprocessError, ValueError):
    """A drift reference file cannot be used (unreadable, wrong format, classes out of range)."""
