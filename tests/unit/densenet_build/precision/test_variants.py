import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, numpy_helper

from densenet_build.acquire.download import sha256_of
from densenet_build.acquire.prepare import prepare
from densenet_build.errors import PrecisionError
from densenet_build.images.folder import load_tensors
from densenet_build.images.samples import write_samples
from densenet_build.precision.int8 import Int8Options
from densenet_build.precision.metadata import read_precision
from densenet_build.precision.onnx_runtime import run_onnx
from densenet_build.precision.variants import evaluate, make_variants
from densenet_build.repository.configs import load_preprocess_config
from preprocess import PreprocessConfig


def _initializers(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


@pytest.fixture
def variants(tiny_onnx, sample_dir, tmp_path):
    calibration, _ = load_tensors(sample_dir, PreprocessConfig())
    # Every layer int8, calibrated on all the images: the Q/DQ form (test_int8 tests the search).
    every_layer = Int8Options(target_agreement=0.0, held_out=0.0)
    return make_variants(tiny_onnx, tmp_path / "out", ["fp16", "int8"], calibration, int8=every_layer)


def test_fp16_keeps_fp32_io_and_converts_the_inside(variants):
    model = onnx.load(str(variants["fp16"]))
    assert read_precision(model) == "fp16"
    io_types = [v.type.tensor_type.elem_type for v in (*model.graph.input, *model.graph.output)]
    assert io_types == [TensorProto.FLOAT, TensorProto.FLOAT]  # the Triton config stays as it is
    conv_weight = next(t for t in model.graph.initializer if t.name == "w1")
    assert conv_weight.data_type == TensorProto.FLOAT16
    assert {n.op_type for n in model.graph.node} >= {"Cast", "Conv"}


def test_int8_is_symmetric_per_channel_qdq_in_an_fp16_graph(variants):
    model = onnx.load(str(variants["int8"]))
    onnx.checker.check_model(model, full_check=True)
    assert read_precision(model) == "int8"
    assert {o.domain for o in model.opset_import} <= {"", "ai.onnx"}  # nothing TensorRT must not know
    assert max(o.version for o in model.opset_import) >= 19  # float16 scales
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("QuantizeLinear") == 2  # one per Conv input activation: weighted layers only
    producers = {out: n for n in model.graph.node for out in n.output}
    assert producers["fc6_1"].op_type == "Cast"  # fp16 logits, then fp32 at the output
    assert producers[producers["fc6_1"].input[0]].op_type == "Conv"  # the logits are not quantized
    initializers = _initializers(model)
    dequantize = [n for n in model.graph.node if n.op_type == "DequantizeLinear"]
    int8_weights = [n for n in dequantize if n.input[0] in initializers]
    assert len(int8_weights) == 2
    for node in int8_weights:
        assert initializers[node.input[0]].dtype == np.int8
        scale = initializers[node.input[1]]
        assert scale.shape == (initializers[node.input[0]].shape[0],)  # one scale per output channel
        assert {a.name: a.i for a in node.attribute}.get("axis", 1) == 0
    for node in model.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            assert initializers[node.input[1]].dtype == np.float16  # strongly typed: fp16 around int8
            zero_point = initializers[node.input[2]]
            assert zero_point.dtype == np.int8
            assert not zero_point.any()
    assert initializers["b2"].dtype == np.float16  # float, not int32: TensorRT does not dequantize int32
    io_types = [v.type.tensor_type.elem_type for v in (*model.graph.input, *model.graph.output)]
    assert io_types == [TensorProto.FLOAT, TensorProto.FLOAT]


def test_variants_run_and_are_compared_with_fp32(variants, sample_dir):
    tensors, _ = load_tensors(sample_dir, PreprocessConfig())
    rows, reference = evaluate(variants, tensors)
    assert [r.name for r in rows] == ["fp32", "fp16", "int8"]
    assert rows[0].max_abs_diff == 0.0
    assert rows[1].top1_agreement == 1.0
    assert 0 < rows[1].max_abs_diff < 0.05
    assert 0 < rows[2].max_abs_diff < 1.0
    assert reference.shape == (8, 1000, 1, 1)
    for path in variants.values():  # every file loads in the installed onnxruntime
        ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_int8_without_calibration_and_unknown_precisions_are_refused(tiny_onnx, tmp_path):
    with pytest.raises(PrecisionError, match="int8 needs calibration images"):
        make_variants(tiny_onnx, tmp_path, ["int8"])
    with pytest.raises(PrecisionError, match=r"unknown precision \['bf16'\]"):
        make_variants(tiny_onnx, tmp_path, ["bf16"])


def test_seeded_densenet_through_fp16_and_int8(seeded_onnx, tmp_path):
    """The real DenseNet-121 topology, a handful of real photographs, the server's preprocessing."""
    prepared = prepare(seeded_onnx, tmp_path / "model.onnx", "seeded", sha256_of(seeded_onnx))
    config = load_preprocess_config()
    calibration, _ = load_tensors(write_samples(tmp_path / "calibration", 6, seed=1)[0].parent, config)
    samples, _ = load_tensors(write_samples(tmp_path / "samples", 6, seed=2)[0].parent, config)
    every_layer = Int8Options(target_agreement=0.0, held_out=0.0)  # the search has its own tests
    paths = make_variants(prepared, tmp_path / "variants", ["fp16", "int8"], calibration, int8=every_layer)
    rows, _ = evaluate(paths, samples)
    by_name = {r.name: r for r in rows}
    assert by_name["fp16"].top1_agreement == 1.0
    assert by_name["fp16"].max_abs_diff < 0.1
    assert by_name["int8"].top5_overlap >= 0.6  # random weights: a sanity bound, not a quality claim
    logits = run_onnx(paths["int8"], samples[:2], "data_0")
    assert logits.shape == (2, 1000, 1, 1)
    assert np.isfinite(logits).all()
