"""Each python model's ``parameters {}``: a bad one fails the model's load, and the error names the key.

All three read them through ``densenet_contract.parameters``; tests/e2e/test_model_parameters.py
shows the same failures on the real server.
"""

import pytest

from densenet_contract.errors import ParameterError
from densenet_cpu.config import CpuConfig
from postprocess.config import PostprocessConfig
from preprocess import PreprocessConfig

PARSERS = {
    "preprocess": PreprocessConfig.from_parameters,
    "postprocess": lambda parameters: PostprocessConfig.from_parameters(parameters, classes=1000),
    "densenet": CpuConfig.from_parameters,
}


# Every model: a misspelt key (refused, never ignored) and a bad boolean, with the reason.
EACH_MODEL = [
    (model, {key: value}, f"'{key}': {reason}")
    for model, boolean in (
        ("preprocess", "jpeg_draft"),
        ("postprocess", "quality_metrics"),
        ("densenet", "pin_instances"),
    )
    for key, value, reason in (
        (boolean + "s", "true", "unknown parameter (known: "),
        (boolean, "ture", "'ture' is not a boolean (true/false)"),
    )
]


@pytest.mark.parametrize(("model", "parameters", "reason"), EACH_MODEL)
def test_each_model_refuses_a_misspelt_key_and_a_bad_boolean(model, parameters, reason):
    with pytest.raises(ParameterError) as raised:
        PARSERS[model](parameters)
    assert str(raised.value).startswith(f"{model} parameter {reason}")


@pytest.mark.parametrize(
    ("model", "parameters", "key"),
    [
        ("preprocess", {"resize_mod": "stretch"}, "resize_mod"),
        ("preprocess", {"resize_mode": "squash"}, "resize_mode"),
        ("preprocess", {"output_size": "224,224,3"}, "output_size"),
        ("preprocess", {"output_size": "abc"}, "output_size"),
        ("preprocess", {"interpolation": "cubic-ish"}, "interpolation"),
        ("preprocess", {"scaling": "tf"}, "scaling"),
        ("preprocess", {"preset": "vgg"}, "preset"),
        ("preprocess", {"scaling": "inception", "mean": "1"}, "scaling"),
        ("preprocess", {"scaling": "custom", "mean": "1"}, "scaling"),
        ("preprocess", {"mean": "1,2", "std": "1"}, "mean"),
        ("preprocess", {"mean": "0", "std": "0"}, "std"),
        ("preprocess", {"channel_order": "GRB"}, "channel_order"),
        ("preprocess", {"allowed_formats": "JPEG,HEIC"}, "allowed_formats"),
        ("preprocess", {"allowed_formats": " , "}, "allowed_formats"),
        ("preprocess", {"max_bytes": "0"}, "max_bytes"),
        ("preprocess", {"max_pixels": "-5"}, "max_pixels"),
        ("preprocess", {"decode_threads": "two"}, "decode_threads"),
        ("preprocess", {"jpeg_draft": "maybe"}, "jpeg_draft"),
        ("preprocess", {"resampling_mode": "quick"}, "resampling_mode"),
        ("preprocess", {"resize_mode": "shorter_side_crop", "resize_size": "100"}, "resize_size"),
        ("postprocess", {"top_kk": "5"}, "top_kk"),
        ("postprocess", {"top_k": "0"}, "top_k"),
        ("postprocess", {"quality_metrics": "maybe"}, "quality_metrics"),
        ("postprocess", {"low_confidence_threshold": "0"}, "low_confidence_threshold"),
        ("postprocess", {"low_confidence_threshold": "1.5"}, "low_confidence_threshold"),
        ("postprocess", {"low_confidence_threshold": "half"}, "low_confidence_threshold"),
        ("postprocess", {"drift_window": "0"}, "drift_window"),
        ("postprocess", {"drift_window": "many"}, "drift_window"),
        ("densenet", {"pin_instance": "true"}, "pin_instance"),
        ("densenet", {"adaptive_threads": "ture"}, "adaptive_threads"),
        ("densenet", {"allow_spinning": "maybe"}, "allow_spinning"),
        ("densenet", {"intra_op_num_threads": "two"}, "intra_op_num_threads"),
        ("densenet", {"intra_op_num_threads": "-1"}, "intra_op_num_threads"),
        ("densenet", {"inter_op_num_threads": "0"}, "inter_op_num_threads"),
    ],
)
def test_a_bad_parameter_fails_naming_the_model_and_the_key(model, parameters, key):
    with pytest.raises(ParameterError, match=f"^{model} parameter '{key}'") as raised:
        PARSERS[model](parameters)
    assert raised.value.parameter == key
