"""The exceptions of the build pipeline; each message says what is wrong and what to do."""

from __future__ import annotations


class BuildError(Exception):
    """Base of every error raised by ``densenet_build``."""


class DownloadError(BuildError):
    """The model could not be downloaded (network, HTTP status, timeout) after all retries."""


class ChecksumError(BuildError):
    """A file's sha256 or size differs from the expected one."""


class ModelMismatchError(BuildError):
    """An ONNX model does not match the interface the repository's ``densenet`` config expects."""
