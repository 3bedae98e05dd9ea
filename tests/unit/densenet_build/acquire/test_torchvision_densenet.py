"""The torch-free converter of torchvision's DenseNet checkpoints, against torch's own outputs.

tests/fixtures/torchvision/ holds a reduced DenseNet made with torchvision's real class by
tests/tools/make_torchvision_fixture.py: the state_dict in torch's legacy format with the released
files' key names (legacy.pth), the same in today's zip format and names (zip.pth), and torch's
logits on seeded inputs (expected.npz).
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from densenet_build.acquire.densenet_graph import DENSENET121, Architecture, build_densenet
from densenet_build.acquire.prepare import prepare
from densenet_build.acquire.torch_checkpoint import load_state_dict
from densenet_build.acquire.torchvision_densenet import (
    ARCHITECTURE_KEY,
    PREPROCESSING,
    CheckpointError,
    convert_checkpoint,
    convert_state_dict,
    infer_architecture,
    torchvision_names,
)
from densenet_build.errors import BuildError
from densenet_build.testmodels.seeded import _SeededWeights, build_seeded_densenet
from densenet_contract.names import INPUT_NAME, OUTPUT_NAME, PREPROCESSING_KEY, WEIGHTS_KEY
from densenet_contract.onnx_metadata import metadata
from preprocess.config import PRESETS
from tests.support.torchvision_fixture import FIXTURE_DIR, expected, onnx_logits

LEGACY, ZIP, EXPECTED = FIXTURE_DIR / "legacy.pth", FIXTURE_DIR / "zip.pth", FIXTURE_DIR / "expected.npz"
# What make_torchvision_fixture.py's REDUCED builds.
REDUCED = Architecture(growth=8, blocks=(2, 3), bn_size=2, init_features=16, classes=1000)
WEIGHTS = "torchvision densenet (test fixture)"


@pytest.mark.parametrize("checkpoint", [LEGACY, ZIP], ids=["legacy", "zip"])
def test_logits_equal_torchs(tmp_path, checkpoint):
    batch, torch_logits = expected(EXPECTED)
    out = tmp_path / "model.onnx"
    convert_checkpoint(checkpoint, out, weights=WEIGHTS)
    logits = onnx_logits(out, batch)
    assert torch_logits.shape == (len(batch), 1000)
    assert torch_logits.std() > 0.1  # a fixture whose logits were all alike would prove little
    np.testing.assert_allclose(logits, torch_logits, rtol=0, atol=1e-3)
    # One image at a time gives the same answers as the batch (the batch dimension is symbolic).
    np.testing.assert_allclose(onnx_logits(out, batch[1:2]), torch_logits[1:2], rtol=0, atol=1e-3)


def test_the_fixtures_are_what_they_claim():
    """legacy.pth: the pre-zip format and the released names; zip.pth: today's format and names."""
    assert not zipfile.is_zipfile(LEGACY)
    assert zipfile.is_zipfile(ZIP)
    legacy, current = load_state_dict(LEGACY), load_state_dict(ZIP)
    assert "features.denseblock1.denselayer1.norm.1.weight" in legacy
    assert not any(key.endswith("num_batches_tracked") for key in legacy)
    assert "features.denseblock1.denselayer1.norm1.weight" in current
    assert any(key.endswith("num_batches_tracked") for key in current)
    renamed = torchvision_names(legacy)
    assert set(renamed) == {k for k in current if not k.endswith("num_batches_tracked")}
    for key, array in renamed.items():
        np.testing.assert_array_equal(array, current[key])
    # Batch-norm statistics that are not the defaults (mean 0, variance 1), or BN would be left untested.
    assert np.abs(renamed["features.norm5.running_mean"]).max() > 0.1
    assert np.abs(renamed["features.norm5.running_var"] - 1).max() > 0.1


def test_interface_and_metadata(tmp_path):
    out = tmp_path / "model.onnx"
    convert_checkpoint(LEGACY, out, weights=WEIGHTS)
    model = onnx.load(str(out))
    (inp,), (outp,) = model.graph.input, model.graph.output
    assert (inp.name, outp.name) == (INPUT_NAME, OUTPUT_NAME) == ("data_0", "fc6_1")
    for value, dims in ((inp, [3, 224, 224]), (outp, [1000, 1, 1])):
        assert value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
        batch, *rest = value.type.tensor_type.shape.dim
        assert batch.dim_param
        assert not batch.dim_value
        assert [d.dim_value for d in rest] == dims
    recorded = metadata(model)
    assert recorded[PREPROCESSING_KEY] == PREPROCESSING == "torchvision"
    assert PREPROCESSING in PRESETS
    assert recorded[WEIGHTS_KEY] == WEIGHTS
    assert recorded[ARCHITECTURE_KEY] == REDUCED.describe()


def test_the_conversion_passes_prepare(tmp_path):
    """densenet-build's preparation (interface check, full ONNX check) takes the file as it is."""
    batch, torch_logits = expected(EXPECTED)
    convert_checkpoint(LEGACY, tmp_path / "converted.onnx", weights=WEIGHTS)
    prepared = prepare(tmp_path / "converted.onnx", tmp_path / "prepared.onnx")
    assert metadata(onnx.load(str(prepared)))[PREPROCESSING_KEY] == PREPROCESSING
    np.testing.assert_allclose(onnx_logits(prepared, batch), torch_logits, rtol=0, atol=1e-3)


def test_no_weights_description_when_none_is_given(tmp_path):
    out = tmp_path / "model.onnx"
    convert_checkpoint(ZIP, out)
    assert WEIGHTS_KEY not in metadata(onnx.load(str(out)))


def test_architecture_is_read_off_the_shapes():
    assert infer_architecture(torchvision_names(load_state_dict(LEGACY))) == REDUCED


class _Recording(_SeededWeights):
    """The seeded model's weights, kept under torchvision's names as they are handed out."""

    def __init__(self) -> None:
        super().__init__(np.random.default_rng(121))
        self.state: dict[str, np.ndarray] = {}

    def conv(self, name, shape):
        self.state[f"{name}.weight"] = weight = super().conv(name, shape)
        return weight

    def batch_norm(self, name, channels):
        parts = super().batch_norm(name, channels)
        for part, array in zip(("weight", "bias", "running_mean", "running_var"), parts, strict=True):
            self.state[f"{name}.{part}"] = array
        return parts

    def linear(self, name, classes, features):
        weight, bias = super().linear(name, classes, features)
        self.state[f"{name}.weight"], self.state[f"{name}.bias"] = weight, bias
        return weight, bias


@pytest.fixture(scope="module")
def densenet121_state() -> dict[str, np.ndarray]:
    """A full-size DenseNet-121 state_dict (the seeded weights under torchvision's names), legacy keys."""
    recording = _Recording()
    build_densenet(recording, DENSENET121, name="x", producer="x", metadata={})
    legacy = {
        key.replace("norm1.", "norm.1.").replace("conv2.", "conv.2."): v for key, v in recording.state.items()
    }
    return legacy


def test_full_size_densenet121_converts_to_the_seeded_graph(densenet121_state):
    """Full DenseNet-121 shapes, through the same code: the very weights and topology of the seeded model."""
    # 121 batch norms x 4 + 120 convolutions + the classifier's 2: densenet121's state_dict without
    # num_batches_tracked
    assert len(densenet121_state) == 606
    model = convert_state_dict(densenet121_state)
    assert metadata(model)[ARCHITECTURE_KEY] == DENSENET121.describe()
    seeded = build_seeded_densenet()
    assert [t.raw_data for t in model.graph.initializer] == [t.raw_data for t in seeded.graph.initializer]
    assert [(n.op_type, list(n.input)) for n in model.graph.node] == [
        (n.op_type, list(n.input)) for n in seeded.graph.node
    ]
    x = np.random.default_rng(5).standard_normal((1, 3, 224, 224), dtype=np.float32)
    ours = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    theirs = ort.InferenceSession(seeded.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(ours.run(None, {"data_0": x})[0], theirs.run(None, {"data_0": x})[0])


@pytest.fixture
def state() -> dict[str, np.ndarray]:
    return load_state_dict(ZIP)


def _without(state, key):
    return {k: v for k, v in state.items() if k != key}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: _without(s, "features.norm5.running_var"), r"no tensor features\.norm5\.running_var"),
        (
            lambda s: _without(s, "features.conv0.weight"),
            r"no tensor features\.conv0\.weight: not a torchvision D",
        ),
        (lambda s: {"_conv_stem.weight": np.zeros((32, 3, 3, 3), np.float32)}, "not a torchvision DenseNet"),
        (
            lambda s: {**s, "features.conv0.weight": s["features.conv0.weight"][:, :, :5, :5].copy()},
            r"features\.conv0\.weight has shape \(16, 3, 5, 5\); a DenseNet growth 8.* needs \(16, 3, 7, 7\)",
        ),
        (
            lambda s: {**s, "features.denseblock2.denselayer2.conv1.weight": np.zeros((16, 25, 1, 1), "f4")},
            r"denselayer2\.conv1\.weight has shape \(16, 25, 1, 1\); .* needs \(16, 24, 1, 1\)",
        ),
        (
            lambda s: {**s, "features.extra.weight": np.zeros(3, "f4")},
            r"does not have, e\.g\. features\.extra",
        ),
        (
            lambda s: {
                **s,
                "classifier.weight": s["classifier.weight"][:10],
                "classifier.bias": s["classifier.bias"][:10],
            },
            "10 classes; the served model must have the 1000",
        ),
        (
            lambda s: {**s, "features.norm0.weight": np.full(16, np.nan, np.float32)},
            r"features\.norm0\.weight holds NaN",
        ),
        (
            lambda s: {**s, "features.norm0.running_var": -np.ones(16, np.float32)},
            "negative variances",
        ),
        (
            lambda s: {**s, "features.conv0.weight": s["features.conv0.weight"].astype(np.int64)},
            "holds int64, not floating-point",
        ),
        (
            lambda s: {**s, "features.denseblock1.denselayer1.norm.1.weight": s["features.norm0.weight"]},
            "appears twice",
        ),
    ],
    ids=[
        "missing",
        "no-stem",
        "other-network",
        "stem-shape",
        "wrong-shape",
        "extra",
        "classes",
        "nan",
        "variance",
        "integer",
        "duplicate",
    ],
)
def test_wrong_tensors_are_named(state, change, message):
    with pytest.raises(CheckpointError, match=message) as caught:
        convert_state_dict(change(state), source="x.pth")
    assert str(caught.value).startswith("x.pth: ")
    assert isinstance(caught.value, BuildError)


def _legacy_file(path: Path, payload: object) -> Path:
    """The legacy format's three headers, then ``payload`` pickled as the object."""
    with open(path, "wb") as out:
        for header in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(header, out, protocol=2)
        pickle.dump(payload, out, protocol=2)
        pickle.dump([], out, protocol=2)
    return path


class _System:
    """Unpickles as os.system(command): what a hostile checkpoint does to torch.load(weights_only=False)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


@pytest.mark.parametrize("container", ["legacy", "legacy-header", "zip"])
def test_a_pickle_calling_os_system_is_refused(tmp_path, container):
    marker = tmp_path / "pwned"
    payload = {"features.conv0.weight": _System(f"touch {marker}")}
    path = tmp_path / "evil.pth"
    if container == "legacy":
        _legacy_file(path, payload)
    elif container == "legacy-header":  # where the magic number belongs, read before anything is checked
        path.write_bytes(pickle.dumps(_System(f"touch {marker}"), protocol=2))
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("archive/data.pkl", pickle.dumps(payload, protocol=2))
    out = tmp_path / "model.onnx"
    refused = r"refusing to unpickle (posix|os|nt)\.system: only tensors are read"
    with pytest.raises(CheckpointError, match=refused):
        convert_checkpoint(path, out)
    assert not marker.exists()
    assert not out.exists()
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html><body>Not Found</body></html>", "not a readable PyTorch checkpoint"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n", "not a readable PyTorch"),
        (b"", "not a readable PyTorch checkpoint"),
        (pickle.dumps({"a": 1}), "bad magic number"),
        (b"PK\x03\x04 broken zip", "not a readable PyTorch checkpoint"),
    ],
    ids=["html", "lfs-pointer", "empty", "plain-pickle", "broken-zip"],
)
def test_files_that_are_not_checkpoints(tmp_path, content, message):
    path = tmp_path / "x.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        convert_checkpoint(path, tmp_path / "model.onnx")


def test_a_pickle_of_no_tensors(tmp_path):
    with pytest.raises(CheckpointError, match="expected a dict of named tensors"):
        convert_checkpoint(_legacy_file(tmp_path / "x.pth", {"a": 1}), tmp_path / "model.onnx")


def test_a_truncated_checkpoint_leaves_the_old_model_in_place(tmp_path):
    path = tmp_path / "cut.pth"
    path.write_bytes(LEGACY.read_bytes()[:-1000])
    out = tmp_path / "model.onnx"
    out.write_bytes(b"the previous model")
    with pytest.raises(CheckpointError, match="truncated"):
        convert_checkpoint(path, out)
    assert out.read_bytes() == b"the previous model"


def test_a_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        convert_checkpoint(tmp_path / "absent.pth", tmp_path / "model.onnx")
