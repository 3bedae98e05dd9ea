import numpy as np
import onnx
import onnxruntime as ort

from densenet_build.acquire.download import sha256_of
from densenet_build.testmodels.seeded import SEEDED_WEIGHTS, build_seeded_densenet, write_seeded_densenet
from densenet_contract.names import WEIGHTS_KEY


def test_interface_matches_densenet7(seeded_onnx):
    model = onnx.load(str(seeded_onnx))
    (inp,), (out,) = model.graph.input, model.graph.output
    assert inp.name == "data_0"
    assert out.name == "fc6_1"
    assert [d.dim_value for d in inp.type.tensor_type.shape.dim] == [1, 3, 224, 224]
    assert [d.dim_value for d in out.type.tensor_type.shape.dim] == [1, 1000, 1, 1]
    assert {p.key: p.value for p in model.metadata_props}[WEIGHTS_KEY] == SEEDED_WEIGHTS


def test_topology_is_densenet121(seeded_onnx):
    model = onnx.load(str(seeded_onnx))
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    # 1 stem + 2 per dense layer (58 layers) + 3 transitions + 1 classifier = 121 weighted layers with the FC
    assert len(convs) == 1 + 2 * (6 + 12 + 24 + 16) + 3 + 1
    trainable = sum(
        int(np.prod(t.dims))
        for t in model.graph.initializer
        if "bn_mean" not in t.name and "bn_var" not in t.name
    )
    assert trainable == 7_978_856  # torchvision densenet121's parameter count


# The seeded model's sha256 as model_repository's configs and docs/quality.md record it.
SEEDED_SHA256 = "8f374f0d8a55ac1f33ab3f4af09a80697ed56780094eab4163198e111172c101"


def test_generation_is_deterministic(tmp_path, seeded_onnx):
    again = write_seeded_densenet(tmp_path / "again.onnx")
    assert sha256_of(again) == sha256_of(seeded_onnx) == SEEDED_SHA256


def test_runs_and_logits_are_spread(seeded_onnx):
    session = ort.InferenceSession(str(seeded_onnx), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32)
    logits = session.run(None, {"data_0": x})[0]
    assert logits.shape == (1, 1000, 1, 1)
    assert np.isfinite(logits).all()
    assert 0.3 < logits.std() < 20  # neither collapsed nor saturating the softmax


def test_other_seeds_give_other_weights():
    a = build_seeded_densenet(1).graph.initializer[0]
    b = build_seeded_densenet(2).graph.initializer[0]
    assert a.raw_data != b.raw_data
