"""The exceptions of the preprocessing package.

``ImageError`` and its subclasses describe a bad *input*: the serving glue turns them into an
``INVALID_ARG`` error (HTTP 400) for the one request that carried the image. Their messages are
written for the client: they never contain paths, tracebacks or library internals.
``PreprocessConfigError`` describes a bad model configuration and fails the model at load time.
"""

from __future__ import annotations

from densenet_contract.errors import ParameterError


class PreprocessError(Exception):
    """Base of every error raised by this package."""


class PreprocessConfigError(PreprocessError, ParameterError):
    """A preprocessing parameter in the model configuration is missing or invalid."""

    model = "preprocess"


class ImageError(PreprocessError, ValueError):
    """An input image cannot be classified; the message says why."""


class EmptyImageError(ImageError):
    """The image row holds no bytes (or only zero padding)."""


class ImageTooLargeError(ImageError):
    """The encoded image is larger than the configured byte limit."""


class FormatNotAllowedError(ImageError):
    """The bytes are not one of the allowed image formats."""


class TooManyPixelsError(ImageError):
    """The image declares more pixels than the configured limit (decompression-bomb guard)."""


class CorruptImageError(ImageError):
    """The image is truncated or its data cannot be decoded."""
