"""The contract's exceptions: both are ``ValueError`` so callers that predate them keep working."""

from __future__ import annotations


class ContractError(ValueError):
    """Base of every error raised by this package."""


class ParameterError(ContractError):
    """A model configuration parameter is unknown or has a bad value; fails the model's load.

    Each package raises its own subclass (``PreprocessConfigError``, ``PostprocessConfigError``,
    ``CpuConfigError``), so the message says which model's parameter it is.
    """

    model = "model"

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__(f"{self.model} parameter '{parameter}': {problem}")
        self.parameter = parameter


class InvalidTopK(ContractError):
    """A ``top_k`` that is not a whole number from 1 to the number of classes."""
