from dataclasses import replace
from pathlib import Path

import pytest
from onnx import TensorProto

from densenet_build.errors import ConfigError
from densenet_build.repository.configs import DEFAULT_INTERFACE, load_interface, load_preprocess_config

REPO = Path(__file__).resolve().parents[4] / "model_repository"
CONFIG = REPO / "densenet" / "config.pbtxt"


def test_interface_is_read_from_the_densenet_config():
    interface = load_interface(CONFIG)
    assert interface.input.name == "data_0"
    assert interface.input.elem_type == TensorProto.FLOAT
    assert interface.input.dims == (3, 224, 224)
    assert interface.output.name == "fc6_1"
    assert interface.output.dims == (1000, 1, 1)
    assert interface.max_batch_size > 0
    assert interface.source == str(CONFIG)
    # The contract in docs/design.md and the config agree, batch sizes included.
    assert replace(interface, source=DEFAULT_INTERFACE.source) == DEFAULT_INTERFACE


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    text = CONFIG.read_text()
    assert old in text
    path = tmp_path / "config.pbtxt"
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("max_batch_size: 32", "max_batch_size: 0", "max_batch_size must be > 0"),
        (
            "preferred_batch_size: [ 8, 16 ]",
            "preferred_batch_size: [ 8, 64 ]",
            r"preferred_batch_size \[64\]",
        ),
        ("data_type: TYPE_FP32", "data_type: TYPE_STRING", "TYPE_STRING, which the build does not handle"),
        ("max_batch_size: 32", "max_batch_size 32 {", "not a valid Triton model config"),
    ],
)
def test_bad_configs_are_refused_naming_the_file(tmp_path, old, new, message):
    path = _edited(tmp_path, old, new)
    with pytest.raises(ConfigError, match=message) as raised:
        load_interface(path)
    assert str(path) in str(raised.value)


def test_missing_config_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="cannot read model config"):
        load_interface(tmp_path / "nope.pbtxt")


def test_preprocessing_is_parsed_from_the_preprocess_config(tmp_path):
    config = load_preprocess_config(REPO / "preprocess" / "config.pbtxt")
    assert config.output_size == (224, 224)
    bad = tmp_path / "config.pbtxt"
    bad.write_text(
        (REPO / "preprocess" / "config.pbtxt").read_text().replace('"densenet_caffe"', '"nonsense"')
    )
    with pytest.raises(ConfigError, match="preprocess parameter 'preset'"):
        load_preprocess_config(bad)
