"""The one rule for ``top_k``: a whole number from 1 to the number of classes (default 5)."""

from __future__ import annotations

import numbers

from .errors import InvalidTopK
from .names import NUM_CLASSES

DEFAULT_TOP_K = 5
MAX_TOP_K = NUM_CLASSES


def invalid_top_k(value: object, classes: int = MAX_TOP_K) -> InvalidTopK:
    """The one refusal of a ``top_k``, naming the value and the allowed range."""
    return InvalidTopK(f"top_k must be a whole number from 1 to {classes}, not {value!r}")


def parse_top_k(value: object, classes: int = MAX_TOP_K, *, text: bool = True) -> int:
    """``value`` as a ``top_k`` for a model of ``classes`` classes.

    Parameters
    ----------
    value
        An integer, an integral float (JSON numbers arrive as either) or, with ``text``, a decimal string.
    classes
        The largest ``top_k`` allowed.
    text
        Whether a string is accepted (request parameters, command lines) or refused (Python callers).

    Raises
    ------
    InvalidTopK
        Naming the value and the allowed range.
    """
    number: object = value
    if isinstance(value, str) and text and value.strip().lstrip("+").isdigit():
        number = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, numbers.Integral) or not 1 <= number <= classes:
        raise invalid_top_k(value, classes)
    return int(number)
