from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from densenet_build.acquire.prepare import check_interface, make_batch_dynamic, prepare
from densenet_build.errors import ModelMismatchError
from densenet_contract.names import SOURCE_SHA256_KEY, WEIGHTS_KEY

REPO = Path(__file__).resolve().parents[4] / "model_repository"


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


# --- opset/IR checks, densenet-7's old format, interface read from the config -------------------

from densenet_build.acquire.onnx_versions import RuntimeLimits, check_versions, onnxruntime_limits  # noqa: E402
from densenet_build.acquire.prepare import prepare_model  # noqa: E402
from densenet_build.errors import UnsupportedModelError  # noqa: E402
from densenet_build.repository.configs import load_interface  # noqa: E402


def test_old_opset_and_ir3_weights_as_inputs_are_upgraded_and_run(make_tiny, tmp_path):
    """densenet-7 is opset 7, IR 3, weights listed as graph inputs, batch fixed to 1."""
    source = tmp_path / "zoo-like.onnx"
    onnx.save(make_tiny(batch=1, opset=7, ir_version=3, initializers_as_inputs=True), str(source))
    out = prepare(source, tmp_path / "model.onnx", "zoo-like", "abc")
    model = onnx.load(str(out))
    assert [o.version for o in model.opset_import if o.domain == ""] == [13]
    assert [i.name for i in model.graph.input] == ["data_0"]  # weights are no longer inputs
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["data_0"]
    x = np.random.default_rng(1).uniform(-1, 1, (3, 3, 224, 224)).astype(np.float32)
    original = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"])
    expected = np.concatenate([original.run(None, {"data_0": x[i : i + 1]})[0] for i in range(3)])
    np.testing.assert_allclose(session.run(None, {"data_0": x})[0], expected, rtol=1e-4, atol=1e-5)


def test_interface_comes_from_the_config_file_and_the_message_names_it(make_tiny, tmp_path):
    config = tmp_path / "config.pbtxt"
    text = (REPO / "densenet" / "config.pbtxt").read_text()
    config.write_text(text.replace('name: "data_0"', 'name: "input_1"'))
    interface = load_interface(config)
    with pytest.raises(
        ModelMismatchError, match=rf"inputs are \['data_0'\], {config} expects exactly \['input_1'\]"
    ):
        prepare_model(make_tiny(), interface)


def test_config_dims_are_enforced(make_tiny, tmp_path):
    config = tmp_path / "config.pbtxt"
    text = (REPO / "densenet" / "config.pbtxt").read_text()
    config.write_text(text.replace("dims: [ 1000, 1, 1 ]", "dims: [ 1000 ]"))
    with pytest.raises(
        ModelMismatchError, match=r"'fc6_1' has dims \[1000, 1, 1\] after the batch, .* expects \[1000\]"
    ):
        prepare_model(make_tiny(), load_interface(config))


def test_installed_onnxruntime_limits_are_real(make_tiny):
    limits = onnxruntime_limits()
    ok = make_tiny(ir_version=limits.max_ir_version)
    ort.InferenceSession(ok.SerializeToString(), providers=["CPUExecutionProvider"])
    too_new = make_tiny(ir_version=limits.max_ir_version + 1)
    with pytest.raises(Exception, match="IR version"):
        ort.InferenceSession(too_new.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ({"ir_version": 12}, "IR version 12; the installed onnxruntime 1.0 reads IR versions up to 10"),
        ({"opset": 22}, "opset 22; the installed onnxruntime 1.0 reads opsets up to 21"),
        ({"opset": 8}, "opset 8; TensorRT's ONNX parser reads opset 9 and later"),
    ],
)
def test_unsupported_versions_are_refused_with_the_reason(make_tiny, kind, message):
    with pytest.raises(UnsupportedModelError, match=message):
        check_versions(make_tiny(**kind), RuntimeLimits("1.0", max_ir_version=10, max_opset=21))


def test_new_opsets_warn_that_older_tensorrt_may_not_read_them(make_tiny):
    warnings = check_versions(make_tiny(opset=21), RuntimeLimits("1.0", 10, 25))
    assert any("newer than 20" in w for w in warnings)
    assert check_versions(make_tiny(), RuntimeLimits("1.0", 10, 25)) == []


def test_simplify_folds_constant_subgraphs(make_tiny, tmp_path):
    model = make_tiny()
    # Relu(c1) * (2 + 3): a constant branch GraphSurgeon folds into one initializer.
    two = helper.make_tensor("two", TensorProto.FLOAT, [], [2.0])
    three = helper.make_tensor("three", TensorProto.FLOAT, [], [3.0])
    model.graph.initializer.extend([two, three])
    model.graph.node[1].output[0] = "r0"
    model.graph.node.insert(2, helper.make_node("Add", ["two", "three"], ["five"]))
    model.graph.node.insert(3, helper.make_node("Mul", ["r0", "five"], ["r1"]))
    source = tmp_path / "const.onnx"
    onnx.save(model, str(source))
    plain = prepare(source, tmp_path / "plain.onnx")
    simplified = prepare(source, tmp_path / "simple.onnx", simplify=True)
    ops = [n.op_type for n in onnx.load(str(simplified)).graph.node]
    assert "Add" not in ops
    assert len(ops) == len(onnx.load(str(plain)).graph.node) - 1
    x = np.random.default_rng(2).uniform(-1, 1, (2, 3, 224, 224)).astype(np.float32)
    run = {
        p: ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, {"data_0": x})[0]
        for p in (plain, simplified)
    }
    np.testing.assert_allclose(run[plain], run[simplified], rtol=1e-5, atol=1e-6)


def test_full_densenet_in_densenet7s_format_upgrades_without_changing_outputs(seeded_onnx, tmp_path):
    """The seeded DenseNet re-saved as densenet-7 is (opset 7, IR 3, weights as inputs, batch 1):
    every op type of the real file goes through the opset upgrade."""
    model = onnx.load(str(seeded_onnx))
    del model.opset_import[:]
    model.opset_import.extend([helper.make_opsetid("", 7)])
    model.ir_version = 3
    model.graph.input.extend(
        helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in model.graph.initializer
    )
    onnx.checker.check_model(model)
    source = tmp_path / "densenet7-format.onnx"
    onnx.save(model, str(source))
    out = prepare(source, tmp_path / "model.onnx", "seeded", "x")
    assert [o.version for o in onnx.load(str(out)).opset_import] == [13]
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 224, 224)).astype(np.float32)
    original = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"])
    expected = np.concatenate([original.run(None, {"data_0": x[i : i + 1]})[0] for i in range(2)])
    prepared = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(prepared.run(None, {"data_0": x})[0], expected, rtol=1e-5, atol=1e-5)


def test_without_onnxruntime_the_versions_are_still_checked_for_tensorrt(make_tiny, monkeypatch):
    # The model-tools image prepares models without onnxruntime installed.
    monkeypatch.setattr("densenet_build.acquire.onnx_versions.onnxruntime_limits", lambda: None)
    assert check_versions(make_tiny()) == [
        "onnxruntime is not installed: the IR version and opset were not checked against it"
    ]
    with pytest.raises(UnsupportedModelError, match="TensorRT's ONNX parser reads opset 9"):
        check_versions(make_tiny(opset=8))
