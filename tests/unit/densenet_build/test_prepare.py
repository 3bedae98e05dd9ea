import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from densenet_build.constants import SOURCE_SHA256_KEY, WEIGHTS_KEY
from densenet_build.errors import ModelMismatchError
from densenet_build.prepare import check_interface, make_batch_dynamic, prepare


def tiny_model(inp="data_0", out="fc6_1", in_dims=(1, 3, 224, 224), out_dims=(1, 1000, 1, 1), reshape=None):
    """A 2-node stand-in with densenet's interface: GlobalAveragePool over a 1x1 conv."""
    weight = helper.make_tensor("w", TensorProto.FLOAT, [1000, 3, 1, 1], np.ones(3000, np.float32))
    nodes = [
        helper.make_node("Conv", [inp, "w"], ["c"], kernel_shape=[1, 1]),
        helper.make_node("GlobalAveragePool", ["c"], ["pooled" if reshape else out]),
    ]
    initializers = [weight]
    if reshape:
        initializers.append(helper.make_tensor("shape", TensorProto.INT64, [len(reshape)], reshape))
        nodes.append(helper.make_node("Reshape", ["pooled", "shape"], [out]))
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info(inp, TensorProto.FLOAT, list(in_dims))],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, list(out_dims))],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # what the installed ONNX Runtime reads, like densenet-7's files
    return model


def test_batch_becomes_dynamic_and_runs_with_any_batch(tmp_path):
    source = tmp_path / "tiny.onnx"
    onnx.save(tiny_model(), str(source))
    out = prepare(source, tmp_path / "out" / "model.onnx", "tiny weights", "abc123")
    model = onnx.load(str(out))
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert model.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    props = {p.key: p.value for p in model.metadata_props}
    assert props[WEIGHTS_KEY] == "tiny weights"
    assert props[SOURCE_SHA256_KEY] == "abc123"
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for batch in (1, 3):
        result = session.run(None, {"data_0": np.ones((batch, 3, 224, 224), np.float32)})[0]
        assert result.shape == (batch, 1000, 1, 1)


def test_seeded_model_prepares_and_batches(tmp_path, seeded_onnx):
    out = prepare(seeded_onnx, tmp_path / "model.onnx", "seeded", "x")
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 224, 224)).astype(np.float32)
    batched = session.run(None, {"data_0": x})[0]
    single = session.run(None, {"data_0": x[1:]})[0]
    np.testing.assert_allclose(batched[1:], single, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (tiny_model(inp="input"), r"inputs are \['input'\]"),
        (tiny_model(out="logits"), r"outputs are \['logits'\]"),
        (tiny_model(in_dims=(1, 3, 299, 299)), r"'data_0' has dims \[3, 299, 299\]"),
        (tiny_model(out_dims=(1, 1000)), r"'fc6_1' has dims \[1000\]"),
    ],
)
def test_interface_mismatch_is_refused_with_a_message(model, message):
    with pytest.raises(ModelMismatchError, match=message):
        check_interface(model)


def test_hard_coded_batch_in_reshape_is_refused():
    model = tiny_model(reshape=[1, 1000, 1, 1])
    with pytest.raises(ModelMismatchError, match="hard-codes batch 1"):
        make_batch_dynamic(model)
