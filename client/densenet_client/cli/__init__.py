"""The ``densenet-client`` command line: what only the CLI needs (file discovery, rendering, the curl
printer, labelled data sets and accuracy) lives here, apart from the SDK it drives."""

from .main import main

__all__ = ["main"]
