"""The one strict reader of model ``parameters {}`` that all three python models use."""

from enum import Enum

import pytest

from densenet_contract.errors import ParameterError
from densenet_contract.parameters import Parameters, config_parameters


class Colour(str, Enum):
    RED = "red"
    BLUE = "blue"


class DemoError(ParameterError):
    model = "demo"


def read(**values):
    return Parameters(values, {"count", "ratio", "flag", "colour", "size", "name"}, DemoError)


def test_config_parameters_reduces_a_model_config_to_strings():
    config = {"parameters": {"a": {"string_value": "1"}, "b": {"string_value": " x "}}}
    assert config_parameters(config) == {"a": "1", "b": " x "}
    assert config_parameters({}) == {}


def test_values_are_typed_and_stripped_and_defaults_fill_the_rest():
    p = read(count=" 3 ", ratio="0.25", flag="Yes", colour="BLUE")
    assert (p.integer("count", 1), p.number("ratio", 0.5), p.boolean("flag", False)) == (3, 0.25, True)
    assert p.enum("colour", Colour.RED, Colour) is Colour.BLUE
    assert (p.integer("size", 7), p.text("name", "n"), p.boolean("flag", False)) == (7, "n", True)
    assert "count" in p
    assert "size" not in p


def test_a_misspelt_key_is_refused_naming_it_and_the_known_ones():
    with pytest.raises(
        DemoError, match=r"demo parameter 'cuont': unknown parameter \(known: colour, count,"
    ) as e:
        read(cuont="3")
    assert e.value.parameter == "cuont"


@pytest.mark.parametrize(
    ("values", "read_it", "message"),
    [
        (
            {"flag": "ture"},
            lambda p: p.boolean("flag", False),
            "'flag': 'ture' is not a boolean (true/false)",
        ),
        ({"count": "2.5"}, lambda p: p.integer("count", 1), "'count': '2.5' is not an integer"),
        ({"count": "0"}, lambda p: p.integer("count", 1, minimum=1), "'count': 0 is below the minimum 1"),
        ({"count": "9"}, lambda p: p.integer("count", 1, maximum=8), "'count': 9 is above the maximum 8"),
        ({"ratio": "half"}, lambda p: p.number("ratio", 0.5), "'ratio': 'half' is not a number"),
        (
            {"colour": "green"},
            lambda p: p.enum("colour", Colour.RED, Colour),
            "'green' is not one of red, blue",
        ),
        ({"size": "xl"}, lambda p: p.choice("size", "s", {"s": 1, "m": 2}), "'xl' is not one of s, m"),
    ],
)
def test_a_bad_value_names_the_key_and_what_is_allowed(values, read_it, message):
    with pytest.raises(DemoError) as raised:
        read_it(read(**values))
    assert message in str(raised.value)
    assert str(raised.value).startswith("demo parameter '")
    assert isinstance(raised.value, ValueError)


def test_reading_an_undeclared_key_is_a_programming_error():
    with pytest.raises(KeyError, match="declared"):
        read().text("colour_of_sky")
