"""The one strict reader of a Triton model's ``parameters {}``, used by all three python models.

Every value arrives as a string (``string_value``). An unknown key is refused, so a misspelt key
fails the load instead of silently leaving a default in place; a bad value names the key and what
is allowed. Each model passes its own :class:`~.errors.ParameterError` subclass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any, TypeVar

from .errors import ParameterError

E = TypeVar("E", bound=Enum)
V = TypeVar("V")

BOOLEANS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
}


def config_parameters(model_config: Mapping[str, Any]) -> dict[str, str]:
    """A model configuration's (``args["model_config"]`` as JSON) parameters as ``{key: string_value}``."""
    return {key: value.get("string_value", "") for key, value in model_config.get("parameters", {}).items()}


class Parameters:
    """Typed, validated access to ``{key: string_value}``; values are read with surrounding spaces removed.

    Parameters
    ----------
    values
        The parameters (see :func:`config_parameters`).
    known
        Every key the model understands.
    error
        The exception raised, called as ``error(key, problem)``.

    Raises
    ------
    ParameterError
        (``error``) For the first unknown key, listing the known ones.
    """

    def __init__(
        self, values: Mapping[str, str], known: Iterable[str], error: type[ParameterError] = ParameterError
    ) -> None:
        self.known = frozenset(known)
        self.error = error
        unknown = sorted(set(values) - self.known)
        if unknown:
            raise error(unknown[0], f"unknown parameter (known: {', '.join(sorted(self.known))})")
        self.values = {key: value.strip() for key, value in values.items()}

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def text(self, key: str, default: str = "") -> str:
        self._check_known(key)
        return self.values.get(key, default)

    def integer(self, key: str, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
        return self._numeric(key, default, int, "an integer", minimum, maximum)

    def number(
        self, key: str, default: float, minimum: float | None = None, maximum: float | None = None
    ) -> float:
        return self._numeric(key, default, float, "a number", minimum, maximum)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.text(key, str(default))
        try:
            return BOOLEANS[value.lower()]
        except KeyError:
            raise self.error(key, f"'{value}' is not a boolean (true/false)") from None

    def enum(self, key: str, default: E, enum: type[E], normalize=str.lower) -> E:  # type: ignore[no-untyped-def]
        value = self.text(key, default.value)
        try:
            return enum(normalize(value))
        except ValueError:
            raise self.error(key, f"'{value}' is not one of {', '.join(m.value for m in enum)}") from None

    def choice(self, key: str, default: str, choices: Mapping[str, V]) -> V:
        value = self.text(key, default)
        try:
            return choices[value.lower()]
        except KeyError:
            raise self.error(key, f"'{value}' is not one of {', '.join(choices)}") from None

    def _check_known(self, key: str) -> None:
        if key not in self.known:  # a programming error: the model reads a key it did not declare
            raise KeyError(f"'{key}' is not one of the declared parameters")

    def _numeric(self, key, default, convert, what, minimum, maximum):  # type: ignore[no-untyped-def]
        value = self.text(key, str(default))
        try:
            number = convert(value)
        except ValueError:
            raise self.error(key, f"'{value}' is not {what}") from None
        if minimum is not None and number < minimum:
            raise self.error(key, f"{number} is below the minimum {minimum}")
        if maximum is not None and number > maximum:
            raise self.error(key, f"{number} is above the maximum {maximum}")
        return number
