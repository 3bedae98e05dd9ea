"""Output tensors -> typed predictions; model metadata from either protocol's JSON."""

from __future__ import annotations

import numpy as np
import pytest

from densenet_client import ModelMetadata, Prediction, ServerError, TensorMetadata
from densenet_client.predictions import parse_predictions, predictions_from


def test_rows_become_predictions_best_first_as_sent():
    labels = np.array([[b"tabby, tabby cat", b"tiger cat"], [b"espresso", b"cup"]], dtype=object)
    scores = np.array([[0.6, 0.3], [0.9, 0.05]], np.float32)
    ids = np.array([[281, 282], [967, 968]], np.int32)
    rows = parse_predictions(labels, scores, ids)
    assert rows[0] == [
        Prediction("tabby, tabby cat", pytest.approx(0.6), 281),
        Prediction("tiger cat", pytest.approx(0.3), 282),
    ]
    assert rows[1][0].label == "espresso"
    assert type(rows[1][0].probability) is float
    assert type(rows[1][0].class_id) is int


def test_str_is_readable():
    assert str(Prediction("tabby, tabby cat", 0.4123, 281)) == "tabby, tabby cat (41.2%)"


def test_mismatched_outputs_are_a_server_error():
    labels = np.array([[b"a", b"b"]], dtype=object)
    with pytest.raises(ServerError, match="do not match"):
        parse_predictions(labels, np.zeros((1, 3), np.float32), np.zeros((1, 2), np.int32))
    with pytest.raises(ServerError, match="do not match"):
        parse_predictions(np.array([b"a"], dtype=object), np.zeros(1, np.float32), np.zeros(1, np.int32))


class _Result:
    def __init__(self, **arrays):
        self.arrays = arrays

    def as_numpy(self, name):
        return self.arrays.get(name)


def test_a_missing_output_is_named():
    result = _Result(LABELS=np.array([[b"a"]], dtype=object), SCORES=np.ones((1, 1), np.float32))
    with pytest.raises(ServerError, match="no CLASS_IDS output"):
        predictions_from(result)


def test_metadata_is_the_same_from_http_and_grpc_json():
    http = {
        "name": "densenet_ensemble",
        "versions": ["1"],
        "platform": "ensemble",
        "inputs": [{"name": "IMAGE", "datatype": "UINT8", "shape": [-1, -1]}],
        "outputs": [{"name": "SCORES", "datatype": "FP32", "shape": [-1, -1]}],
    }
    grpc = {**http, "inputs": [{"name": "IMAGE", "datatype": "UINT8", "shape": ["-1", "-1"]}]}
    grpc["outputs"] = [{"name": "SCORES", "datatype": "FP32", "shape": ["-1", "-1"]}]
    assert ModelMetadata.from_json(http) == ModelMetadata.from_json(grpc)
    meta = ModelMetadata.from_json(grpc)
    assert meta.inputs == (TensorMetadata("IMAGE", "UINT8", (-1, -1)),)
    assert meta.versions == ("1",)
