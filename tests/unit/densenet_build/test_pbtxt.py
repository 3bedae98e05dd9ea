import pytest

from densenet_build.errors import BuildError
from densenet_build.pbtxt import parse_model_config, set_string_parameter, update_parameters

CONFIG = """# a comment that must survive
name: "densenet"
backend: "python"
max_batch_size: 8
parameters { key: "weights" value: { string_value: "old" } }
"""


def test_replaces_an_existing_parameter_and_keeps_comments():
    text = set_string_parameter(CONFIG, "weights", 'new "quoted" value')
    assert "# a comment that must survive" in text
    assert parse_model_config(text).parameters["weights"].string_value == 'new "quoted" value'
    assert text.count("weights") == 1


def test_appends_a_missing_parameter(tmp_path):
    path = tmp_path / "config.pbtxt"
    path.write_text(CONFIG)
    update_parameters(path, {"source_sha256": "abc"})
    config = parse_model_config(path.read_text())
    assert config.parameters["source_sha256"].string_value == "abc"
    assert config.parameters["weights"].string_value == "old"


def test_invalid_config_is_reported():
    with pytest.raises(BuildError, match="not a valid Triton model config"):
        parse_model_config("name: densenet {")
