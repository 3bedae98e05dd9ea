import pytest

from postprocess.config import PostprocessConfig
from postprocess.errors import PostprocessConfigError


def test_defaults():
    config = PostprocessConfig.from_parameters({}, classes=1000)
    assert config.top_k == 5
    assert config.quality_metrics is True
    assert config.low_confidence_threshold == 0.5
    assert config.drift_reference == ""
    assert config.drift_window == 1000


def test_values_are_parsed():
    config = PostprocessConfig.from_parameters(
        {
            "top_k": " 3 ",
            "quality_metrics": "false",
            "low_confidence_threshold": "0.25",
            "drift_reference": "ref.json",
            "drift_window": "500",
            "weights": "w",
            "source_sha256": "abc",
            "preprocessing": "densenet_caffe",
        },
        classes=1000,
    )
    assert (config.top_k, config.quality_metrics, config.low_confidence_threshold) == (3, False, 0.25)
    assert (config.drift_reference, config.drift_window) == ("ref.json", 500)
    assert (config.weights, config.source_sha256, config.preprocessing) == ("w", "abc", "densenet_caffe")


@pytest.mark.parametrize(
    ("parameters", "key"),
    [
        ({"top_kk": "5"}, "top_kk"),
        ({"top_k": "0"}, "top_k"),
        ({"quality_metrics": "maybe"}, "quality_metrics"),
        ({"low_confidence_threshold": "0"}, "low_confidence_threshold"),
        ({"low_confidence_threshold": "1.5"}, "low_confidence_threshold"),
        ({"low_confidence_threshold": "half"}, "low_confidence_threshold"),
        ({"drift_window": "0"}, "drift_window"),
        ({"drift_window": "many"}, "drift_window"),
    ],
)
def test_bad_parameters_fail_naming_the_key(parameters, key):
    with pytest.raises(PostprocessConfigError, match=f"'{key}'") as raised:
        PostprocessConfig.from_parameters(parameters, classes=1000)
    assert raised.value.parameter == key
