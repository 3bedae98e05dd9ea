"""The launcher's check that the preprocess config feeds the weights what they were trained with."""

from __future__ import annotations

from densenet_serve.preprocessing_check import preprocessing_problems


def _config(**parameters: str) -> dict:
    return {"parameters": {k: {"string_value": v} for k, v in parameters.items()}}


def test_matching_configs_pass():
    assert preprocessing_problems(_config(preprocessing="densenet_caffe"), _config()) == []
    assert preprocessing_problems(_config(preprocessing="inception"), _config(preset="inception")) == []


def test_a_mismatch_names_each_difference():
    problems = preprocessing_problems(
        _config(preprocessing="efficientnet_lite"), _config(preset="densenet_caffe")
    )
    assert "channel_order is BGR, efficientnet_lite needs RGB" in problems
    assert any(p.startswith("mean is (123.68, 116.78, 103.94)") for p in problems)


def test_an_override_beside_the_right_preset_is_caught():
    problems = preprocessing_problems(
        _config(preprocessing="densenet_caffe"), _config(preset="densenet_caffe", channel_order="RGB")
    )
    assert problems == ["channel_order is RGB, densenet_caffe needs BGR"]


def test_unrecorded_weights_and_invalid_configs_are_problems():
    assert "does not record" in preprocessing_problems(_config(), _config())[0]
    assert (
        "invalid" in preprocessing_problems(_config(preprocessing="densenet_caffe"), _config(preset="x"))[0]
    )


def test_torchvision_weights_need_the_torchvision_preset():
    """What `densenet-build model --source torchvision` records, checked against each preprocess config."""
    weights = _config(preprocessing="torchvision", source="torchvision", weights="torchvision densenet121")
    assert preprocessing_problems(weights, _config(preset="torchvision")) == []
    problems = preprocessing_problems(weights, _config(preset="densenet_caffe"))
    assert "channel_order is BGR, torchvision needs RGB" in problems
    assert any(p.startswith("mean is (123.68, 116.78, 103.94)") for p in problems)
