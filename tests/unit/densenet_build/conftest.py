"""Small models and image folders for the build pipeline's tests (fast: no full DenseNet needed)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from densenet_build.acquire.download import sha256_of
from densenet_build.engine.sidecar import PlanInfo, sidecar_path, write_sidecar
from densenet_build.images.samples import write_samples
from densenet_build.repository.pbtxt import parse_model_config

REPOSITORY = Path(__file__).resolve().parents[3] / "model_repository"


def tiny_classifier(
    *,
    batch: int | str = "batch",
    opset: int = 13,
    ir_version: int = 8,
    initializers_as_inputs: bool = False,
    near_tie: bool = False,
    seed: int = 0,
) -> onnx.ModelProto:
    """A 4-node classifier with densenet's interface: Conv 3x3 → Relu → GlobalAveragePool → Conv 1x1.

    ``near_tie``: classes 0 and 1 lead every image with the same weights and biases 100 and 100.001,
    which fp32 tells apart (class 1) and fp16 cannot (both round to 100, a tie, so class 0): fp16
    then disagrees with fp32 on every image.
    """
    rng = np.random.default_rng(seed)
    classifier = rng.standard_normal((1000, 8, 1, 1)).astype(np.float32)
    bias = rng.standard_normal(1000).astype(np.float32) * 0.1
    if near_tie:
        classifier[1] = classifier[0]
        bias[:2] = (100.0, 100.001)
    weights = [
        numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32) * 0.5, "w1"),
        numpy_helper.from_array(classifier, "w2"),
        numpy_helper.from_array(bias, "b2"),
    ]
    nodes = [
        helper.make_node("Conv", ["data_0", "w1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("GlobalAveragePool", ["r1"], ["pooled"]),
        helper.make_node("Conv", ["pooled", "w2", "b2"], ["fc6_1"], kernel_shape=[1, 1]),
    ]
    inputs = [helper.make_tensor_value_info("data_0", TensorProto.FLOAT, [batch, 3, 224, 224])]
    if initializers_as_inputs:  # how IR-3 exporters (densenet-7's) wrote weights
        inputs += [helper.make_tensor_value_info(w.name, w.data_type, list(w.dims)) for w in weights]
    graph = helper.make_graph(
        nodes,
        "tiny",
        inputs,
        [helper.make_tensor_value_info("fc6_1", TensorProto.FLOAT, [batch, 1000, 1, 1])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir_version
    return model


@pytest.fixture
def write_onnx(tmp_path: Path):
    """``write_onnx(model, name)``: the model saved as ``tmp_path/name.onnx``."""

    def write(model: onnx.ModelProto, name: str) -> Path:
        path = tmp_path / f"{name}.onnx"
        onnx.save(model, str(path))
        return path

    return write


@pytest.fixture
def tiny_onnx(write_onnx) -> Path:
    return write_onnx(tiny_classifier(), "tiny")


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight real photographs (uncropped) as JPEGs."""
    folder = tmp_path_factory.mktemp("samples")
    write_samples(folder, 8, seed=0)
    return folder


@pytest.fixture(scope="session")
def make_tiny():
    """:func:`tiny_classifier`, for tests that vary its format."""
    return tiny_classifier


def placeholder_plan_info(**changes) -> PlanInfo:
    """The sidecar of an fp16 plan built for an A10 with TensorRT 10.13.3, changed by ``changes``."""
    info = PlanInfo(
        plan_file="model_fp16.plan",
        plan_sha256="0" * 64,
        tensorrt_version="10.13.3.9",
        gpu_name="NVIDIA A10",
        compute_capability="8.6",
        precision="fp16",
        profile={
            "input": "data_0",
            "min": [1, 3, 224, 224],
            "opt": [16, 3, 224, 224],
            "max": [32, 3, 224, 224],
        },
        onnx_file="model_fp16.onnx",
        onnx_sha256="1" * 64,
        weights="seeded",
        build_flags=["STRONGLY_TYPED"],
        version_compatible=False,
        hardware_compatibility="none",
        builder="tensorrt-python",
        built_at="2026-01-01T00:00:00+00:00",
        build_seconds=60.0,
    )
    return replace(info, **changes)


def placeholder_plan(folder: Path, name: str = "model_fp16.plan", **changes) -> Path:
    """A plan file with placeholder bytes and the sidecar the engine step would write for it.

    Install and check only copy, hash and describe plans, so they need no real engine.
    """
    folder.mkdir(parents=True, exist_ok=True)
    plan = folder / name
    plan.write_bytes(b"placeholder plan " + name.encode())
    info = placeholder_plan_info(plan_file=name, plan_sha256=sha256_of(plan), **changes)
    write_sidecar(info, sidecar_path(plan))
    return plan


@pytest.fixture
def model_dir(tmp_path) -> Path:
    """A densenet model folder with the repository's config.pbtxt and an empty version folder."""
    target = tmp_path / "densenet"
    (target / "1").mkdir(parents=True)
    shutil.copy(REPOSITORY / "densenet" / "config.pbtxt", target / "config.pbtxt")
    return target


@pytest.fixture
def cc_filenames(model_dir):
    """``cc_filenames()``: the ``cc_model_filenames`` that ``model_dir``'s config lists now."""
    return lambda: dict(parse_model_config((model_dir / "config.pbtxt").read_text()).cc_model_filenames)


@pytest.fixture
def make_plan():
    return placeholder_plan


@pytest.fixture
def make_plan_info():
    return placeholder_plan_info
