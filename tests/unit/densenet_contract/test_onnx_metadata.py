"""An ONNX file's ``metadata_props`` record, read and written in one way."""

import onnx
from onnx import TensorProto, helper

from densenet_contract.onnx_metadata import copy_metadata, metadata, read_metadata, update_metadata


def tiny_model():
    node = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph(
        [node],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    return helper.make_model(graph)


def test_update_sets_and_replaces_keeping_other_keys(tmp_path):
    model = tiny_model()
    update_metadata(model, {"weights": "seeded", "precision": "fp32"})
    update_metadata(model, {"precision": "fp16"})
    assert metadata(model) == {"weights": "seeded", "precision": "fp16"}
    path = tmp_path / "tiny.onnx"
    onnx.save(model, str(path))
    assert read_metadata(path) == {"weights": "seeded", "precision": "fp16"}


def test_copy_gives_exactly_the_source_record():
    source, destination = tiny_model(), tiny_model()
    update_metadata(source, {"weights": "w"})
    update_metadata(destination, {"stale": "x"})
    copy_metadata(source, destination)
    assert metadata(destination) == {"weights": "w"}
