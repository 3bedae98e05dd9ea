"""What the three command lines (densenet-build, densenet-serve, densenet-client) share: exit codes
and the argparse validators whose messages say what was wrong and what is allowed."""

from __future__ import annotations

import argparse

from .errors import InvalidTopK
from .topk import MAX_TOP_K, parse_top_k

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and something it checked or did failed (some images, a build step)
EXIT_UNUSABLE = 2  # it could not run: bad arguments or settings, nothing to work on, server unreachable
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


def top_k(text: str) -> int:
    """``--top-k``: a whole number from 1 to ``MAX_TOP_K``."""
    try:
        return parse_top_k(text)
    except InvalidTopK:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 1 to {MAX_TOP_K}, not {text!r}"
        ) from None


def positive_int(text: str) -> int:
    """A whole number of at least 1 (counts, sizes)."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return number


def non_negative_int(text: str) -> int:
    """A whole number of at least 0 (retries, "0 turns it off")."""
    try:
        number = int(text)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 0, not {text!r}")
    return number


def positive_float(text: str) -> float:
    """A number above 0 (seconds)."""
    try:
        number = float(text)
    except ValueError:
        number = 0.0
    if not number > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be a number > 0, not {text!r}")
    return number


def fraction(text: str) -> float:
    """A number from 0 to 1."""
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a fraction from 0 to 1, not {text!r}")
    return number
