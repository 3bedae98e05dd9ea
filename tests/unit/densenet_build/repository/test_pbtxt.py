import pytest

from densenet_build.errors import BuildError
from densenet_build.repository.pbtxt import parse_model_config, set_string_parameter, update_parameters

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


# --- cc_model_filenames, rewritten as plans come and go ------------------------------------------

from pathlib import Path  # noqa: E402

from densenet_build.repository.pbtxt import set_cc_model_filenames  # noqa: E402

DENSENET_CONFIG = Path(__file__).resolve().parents[4] / "model_repository" / "densenet" / "config.pbtxt"


def test_entries_are_added_to_the_real_config_keeping_comments():
    text = DENSENET_CONFIG.read_text()
    updated = set_cc_model_filenames(text, {"8.6": "model_sm86.plan", "7.5": "model_sm75.plan"})
    config = parse_model_config(updated)
    assert dict(config.cc_model_filenames) == {"7.5": "model_sm75.plan", "8.6": "model_sm86.plan"}
    assert config.platform == "tensorrt_plan"
    assert [line for line in text.splitlines() if line.startswith("#")] == [
        line for line in updated.splitlines() if line.startswith("#")
    ]
    assert updated.index('"7.5"') < updated.index('"8.6"')  # sorted by compute capability


def test_existing_entries_are_replaced_in_place_in_any_layout():
    text = """name: "densenet"
platform: "tensorrt_plan"
max_batch_size: 8
# plans per GPU:
cc_model_filenames { key: "7.5" value: "old_t4.plan" }  # a T4
cc_model_filenames {
  key: "8.0"
  value: "old_a100.plan"
}
cc_model_filenames: [ { key: "9.0" value: "old_h100.plan" } ]
# cc_model_filenames { key: "6.1" value: "commented.plan" }
dynamic_batching { }
"""
    updated = set_cc_model_filenames(text, {"8.6": "model_sm86.plan"})
    assert dict(parse_model_config(updated).cc_model_filenames) == {"8.6": "model_sm86.plan"}
    assert "old_" not in updated
    assert updated.index("# plans per GPU:") < updated.index("model_sm86") < updated.index("dynamic_batching")
    assert '# cc_model_filenames { key: "6.1" value: "commented.plan" }' in updated


def test_no_plans_means_no_entries():
    text = 'name: "d"\ncc_model_filenames { key: "8.6" value: "model_sm86.plan" }\nmax_batch_size: 8\n'
    updated = set_cc_model_filenames(text, {})
    assert dict(parse_model_config(updated).cc_model_filenames) == {}
    assert set_cc_model_filenames(updated, {}) == updated
