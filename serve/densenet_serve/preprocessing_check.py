"""Do the served weights get the preprocessing they were trained with? Checked on the live configs.

``densenet``'s config records the preset its weights expect (``preprocessing``, written by
``densenet-build model``); the ``preprocess`` model's parameters say what it does. A mismatch gives
every answer wrong labels with no error anywhere, so the launcher refuses to serve it unless told to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from densenet_contract.names import PREPROCESSING_KEY
from densenet_contract.parameters import config_parameters
from preprocess import PreprocessConfig, PreprocessConfigError


def preprocessing_problems(
    densenet_config: Mapping[str, Any], preprocess_config: Mapping[str, Any]
) -> list[str]:
    """Why the preprocess config does not feed the weights what they expect (empty when it does).

    Both arguments are model configs as Triton's ``/v2/models/<name>/config`` returns them.
    """
    expected = config_parameters(densenet_config).get(PREPROCESSING_KEY)
    if not expected:
        return [
            "the densenet config does not record which preprocessing its weights need "
            "(install the model with `densenet-build model`, which records it)"
        ]
    try:
        actual = PreprocessConfig.from_parameters(config_parameters(preprocess_config))
    except PreprocessConfigError as error:
        return [f"the preprocess config is invalid: {error}"]
    return actual.mismatches(expected)
