"""Launch the real Triton server (from the pinned nvidia-pytriton wheel) on this repository."""

from .distribution import TritonDistribution, find_distribution
from .errors import ServeError, ServerExitedError, ServerSetupError, ServerTimeoutError
from .server import MODELS, ServerOptions, TritonServer

__all__ = [
    "MODELS",
    "ServeError",
    "ServerExitedError",
    "ServerOptions",
    "ServerSetupError",
    "ServerTimeoutError",
    "TritonDistribution",
    "TritonServer",
    "find_distribution",
]
