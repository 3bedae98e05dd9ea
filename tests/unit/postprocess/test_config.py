from postprocess.config import PostprocessConfig


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
