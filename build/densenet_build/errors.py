"""The exceptions of the build pipeline; each message says what is wrong and what to do."""

from __future__ import annotations


class BuildError(Exception):
    """Base of every error raised by ``densenet_build``."""


class DownloadError(BuildError):
    """The model could not be downloaded (network, HTTP status, timeout) after all retries."""


class NotTheFileError(DownloadError):
    """The server answered 200 with something else than the file: an LFS pointer, a web page, a JSON error."""


class ChecksumError(BuildError):
    """A file's sha256 or size differs from the expected one."""


class ModelMismatchError(BuildError):
    """An ONNX model does not match the interface the repository's ``densenet`` config expects."""


class UnsupportedModelError(BuildError):
    """An ONNX model's IR version or opset is outside what ONNX Runtime or TensorRT can read."""


class ConfigError(BuildError):
    """A model config in the repository is missing, unreadable or inconsistent."""


class ImageFolderError(BuildError):
    """A folder of sample or calibration images is missing, empty or unreadable."""


class PrecisionError(BuildError):
    """A precision variant could not be made, or agrees too little with fp32."""


class TensorRTUnavailableError(BuildError):
    """TensorRT (or a GPU) is needed for this step and is not available here."""


class EngineBuildError(BuildError):
    """TensorRT could not parse the ONNX model or build the engine."""


class PlanMismatchError(BuildError):
    """A plan does not fit the TensorRT, GPU or config it is meant to run with."""
