"""The exceptions of the launcher."""

from __future__ import annotations


class ServeError(Exception):
    """Base of every launcher error."""


class ServerSetupError(ServeError):
    """Something the server needs is missing (wheel, stub, model repository, model file)."""


class ServerExitedError(ServeError):
    """tritonserver exited before all models were READY (its log says why)."""


class ServerTimeoutError(ServeError):
    """The models did not become READY in time."""
