"""What the three command lines (densenet-build, densenet-serve, densenet-client) share: exit codes
and the argparse validators whose messages say what was wrong and what is allowed."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

from .errors import InvalidTopK
from .topk import MAX_TOP_K, parse_top_k

N = TypeVar("N", int, float)

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
    return _checked(text, int, lambda n: n >= 1, "a whole number of at least 1")


def non_negative_int(text: str) -> int:
    """A whole number of at least 0 (retries, "0 turns it off")."""
    return _checked(text, int, lambda n: n >= 0, "a whole number of at least 0")


def positive_float(text: str) -> float:
    """A number above 0 (seconds)."""
    return _checked(text, float, lambda n: n > 0, "a number > 0")  # nan is not > 0


def fraction(text: str) -> float:
    """A number from 0 to 1."""
    return _checked(text, float, lambda n: 0.0 <= n <= 1.0, "a fraction from 0 to 1")


def _checked(text: str, convert: Callable[[str], N], accept: Callable[[N], bool], what: str) -> N:
    try:
        number = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, not {text!r}") from None
    if not accept(number):
        raise argparse.ArgumentTypeError(f"must be {what}, not {text!r}")
    return number
