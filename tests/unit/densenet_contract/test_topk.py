"""The one ``top_k`` rule: request parameters, the SDK and the command line all go through it."""

import re

import pytest

from densenet_contract.errors import InvalidTopK
from densenet_contract.topk import MAX_TOP_K, parse_top_k


@pytest.mark.parametrize(
    ("value", "expected"), [(5, 5), ("7", 7), (" 3 ", 3), (1000, 1000), (2.0, 2), ("+4", 4)]
)
def test_accepts_whole_numbers_and_their_text(value, expected):
    assert parse_top_k(value, 1000) == expected


@pytest.mark.parametrize("value", [0, -1, 1001, "abc", "", "2.5", 2.5, True, None, [3], "1e3"])
def test_refuses_everything_else_naming_the_value_and_the_range(value):
    with pytest.raises(
        InvalidTopK, match=re.escape(f"top_k must be a whole number from 1 to 1000, not {value!r}")
    ):
        parse_top_k(value, 1000)


def test_python_callers_may_not_pass_text():
    assert parse_top_k(3, text=False) == 3
    with pytest.raises(InvalidTopK):
        parse_top_k("3", text=False)


def test_the_bound_is_the_number_of_classes():
    assert parse_top_k(MAX_TOP_K) == 1000
    assert parse_top_k(7, classes=7) == 7
    with pytest.raises(InvalidTopK, match="from 1 to 7"):
        parse_top_k(8, classes=7)
