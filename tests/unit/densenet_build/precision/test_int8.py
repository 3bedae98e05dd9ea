"""int8 that stays right: calibration on any image count, and a search that finds the fragile layer."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from densenet_build.errors import PrecisionError
from densenet_build.images.folder import load_tensors
from densenet_build.images.samples import write_samples
from densenet_build.precision.calibration import CALIBRATION_METHODS, calibrate
from densenet_build.precision.int8 import Int8Options, build_int8, float_layers, layer_macs, weighted_layers
from densenet_build.precision.metadata import read_precision
from densenet_build.precision.onnx_runtime import run_onnx
from densenet_build.precision.sensitivity import _smallest_passing
from preprocess import PreprocessConfig

FRAGILE = "fragile"  # the layer whose input int8 cannot represent
# Quantized, FRAGILE leaves almost nothing right; any other layer costs at most a near tie or two
# (the targets leave room for them: a near tie may fall either way on another CPU).
SEARCH = Int8Options(target_agreement=0.8, held_out=0.5)


def fragile_classifier(seed: int = 0) -> onnx.ModelProto:
    """Conv 3x3 → Relu → Conv 1x1 (FRAGILE) → Relu → GlobalAveragePool → Conv 1x1 (logits).

    The first conv's channel 0 is huge (thousands) and FRAGILE ignores it (zero weights), reading
    only channels of order 1. int8 gives FRAGILE's input one scale per tensor, set by channel 0, so
    every other channel rounds to 0 and the logits collapse to the biases: quantized, FRAGILE
    destroys the answer; every other layer quantizes harmlessly. Ten classes compete, with clear
    margins; the other 990 sit far below.
    """
    rng = np.random.default_rng(seed)
    first = rng.standard_normal((8, 3, 3, 3)).astype(np.float32) * 0.5
    first[0] = 100.0
    fragile = rng.standard_normal((16, 8, 1, 1)).astype(np.float32)
    fragile[:, 0] = 0.0
    logits = np.zeros((1000, 16, 1, 1), np.float32)
    logits[:10] = rng.standard_normal((10, 16, 1, 1)) * 2
    bias = np.full(1000, -1000.0, np.float32)
    bias[:10] = rng.standard_normal(10) * 0.1
    weights = [
        numpy_helper.from_array(first, "w1"),
        numpy_helper.from_array(fragile, "w2"),
        numpy_helper.from_array(logits, "w3"),
        numpy_helper.from_array(bias, "b3"),
    ]
    nodes = [
        helper.make_node("Conv", ["data_0", "w1"], ["c1"], "first", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], "relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], FRAGILE, kernel_shape=[1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"], "relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["pooled"], "pool"),
        helper.make_node("Conv", ["pooled", "w3", "b3"], ["fc6_1"], "classifier", kernel_shape=[1, 1]),
    ]
    graph = helper.make_graph(
        nodes,
        "fragile",
        [helper.make_tensor_value_info("data_0", TensorProto.FLOAT, ["batch", 3, 224, 224])],
        [helper.make_tensor_value_info("fc6_1", TensorProto.FLOAT, ["batch", 1000, 1, 1])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    """Twenty real photographs and crops of them, through the server's preprocessing."""
    folder = tmp_path_factory.mktemp("photos")
    write_samples(folder, 20, seed=3)
    tensors, _ = load_tensors(folder, PreprocessConfig())
    return tensors


@pytest.fixture
def fragile_onnx(write_onnx) -> Path:
    return write_onnx(fragile_classifier(), "fragile")


def test_quantizing_the_fragile_layer_breaks_the_answers(fragile_onnx, photos, tmp_path):
    """The premise of the next test: every layer int8 disagrees with fp32."""
    options = Int8Options(target_agreement=0.0)
    result = build_int8(fragile_onnx, tmp_path / "int8.onnx", photos, options=options)
    assert result.search.kept == []
    reference = run_onnx(fragile_onnx, photos, "data_0").reshape(len(photos), -1)
    quantized = run_onnx(result.path, photos, "data_0").reshape(len(photos), -1)
    assert np.mean(reference.argmax(1) == quantized.argmax(1)) < 0.5


def test_the_search_keeps_exactly_the_fragile_layer_in_fp16(fragile_onnx, photos, tmp_path):
    options = replace(SEARCH, cache_dir=tmp_path / "cache")
    result = build_int8(fragile_onnx, tmp_path / "int8.onnx", photos, options=options, show=print)
    search = result.search
    assert search.full.top1_agreement < 0.5
    assert search.ranking[0].name == FRAGILE  # measured the most harmful
    assert search.kept == [FRAGILE]
    assert search.final().top1_agreement >= 0.8
    assert 0.0 < search.int8_mac_share() < 1.0
    model = onnx.load(str(result.path))
    assert read_precision(model) == "int8"
    assert float_layers(result.path) == [FRAGILE]
    fragile = next(n for n in model.graph.node if n.name == FRAGILE)
    producers = {out: n.op_type for n in model.graph.node for out in n.output}
    assert producers[fragile.input[0]] == "Relu"  # fp16 input, no DequantizeLinear
    assert {i.name: i.data_type for i in model.graph.initializer}["w2"] == TensorProto.FLOAT16
    quantized = {n.name for n in model.graph.node if n.op_type == "Conv"} - {FRAGILE}
    for node in (n for n in model.graph.node if n.name in quantized):
        assert [producers[i] for i in node.input[:2]] == ["DequantizeLinear", "DequantizeLinear"]
    # the held-out images were not used to calibrate; the others agree too
    reference = run_onnx(fragile_onnx, photos, "data_0").reshape(len(photos), -1)
    logits = run_onnx(result.path, photos, "data_0").reshape(len(photos), -1)
    assert np.mean(reference.argmax(1) == logits.argmax(1)) >= 0.8

    again = build_int8(fragile_onnx, tmp_path / "again.onnx", photos, options=options)
    assert again.search.cached
    assert again.search.kept == [FRAGILE]
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "cache").iterdir()) == ["ranges", "search"]


def test_no_split_reaching_the_target_is_an_error_recommending_fp16(make_tiny, photos, tmp_path):
    """near_tie: fp16 itself disagrees with fp32 on every image, so no int8/fp16 split can agree."""
    path = tmp_path / "tie.onnx"
    onnx.save(make_tiny(near_tie=True), str(path))
    (tmp_path / "int8.onnx").write_bytes(b"an int8 variant from an earlier run")
    with pytest.raises(PrecisionError, match=r"no int8/fp16 split reaches 97\.0%.*use fp16"):
        build_int8(path, tmp_path / "int8.onnx", photos[:8])
    assert not (tmp_path / "int8.onnx").exists()


@pytest.mark.parametrize("method", CALIBRATION_METHODS)
@pytest.mark.parametrize("count", [1, 7, 100])
def test_every_method_calibrates_on_any_number_of_images(tiny_onnx, method, count):
    """7 and 100 leave a last batch smaller than the others, which onnxruntime's percentile calibrator
    alone cannot stack."""
    rng = np.random.default_rng(count)
    tensors = rng.standard_normal((count, 3, 224, 224)).astype(np.float32)
    ranges = calibrate(tiny_onnx, tensors, "data_0", method)
    lowest, highest = ranges.data["c1"].range_value
    assert lowest < 0 < highest
    assert np.isfinite([lowest, highest]).all()


@pytest.mark.parametrize("method", CALIBRATION_METHODS)
def test_the_int8_variant_builds_from_one_image(tiny_onnx, photos, method, tmp_path, caplog):
    result = build_int8(tiny_onnx, tmp_path / "int8.onnx", photos[:1], options=Int8Options(method=method))
    assert result.path.exists()
    assert result.held_out_images == 1
    assert "none can be held out" in result.notes[0]
    assert "calibrating int8 on 1 image(s)" in caplog.text


@pytest.mark.parametrize(
    ("tensors", "message"),
    [
        (np.zeros((0, 3, 224, 224), np.float32), "at least one calibration image"),
        (np.full((2, 3, 224, 224), np.nan, np.float32), "NaN or infinite"),
    ],
)
def test_unusable_calibration_tensors_are_refused(tiny_onnx, tmp_path, tensors, message):
    with pytest.raises(PrecisionError, match=message):
        build_int8(tiny_onnx, tmp_path / "int8.onnx", tensors)


def test_unknown_calibration_method_is_refused(tiny_onnx, photos, tmp_path):
    with pytest.raises(PrecisionError, match="calibration method must be one of minmax, percentile"):
        build_int8(tiny_onnx, tmp_path / "int8.onnx", photos[:2], options=Int8Options(method="entropy"))


def test_layers_and_their_multiply_accumulates():
    model = fragile_classifier()
    assert weighted_layers(model) == ["first", FRAGILE, "classifier"]
    assert layer_macs(model) == {
        "first": 8 * 224 * 224 * 3 * 3 * 3,
        FRAGILE: 16 * 224 * 224 * 8,
        "classifier": 1000 * 16,
    }


@pytest.mark.parametrize("threshold", [1, 2, 3, 5, 8, 13, 100])
def test_the_smallest_passing_count_is_found(threshold):
    tried = []

    def passes(count: int) -> bool:
        tried.append(count)
        return count >= threshold

    found = _smallest_passing(100, passes)
    assert found == min(threshold, 100)
    assert len(tried) <= 2 * 7 + 1  # doubling then bisecting: logarithmic in the layer count


def test_no_passing_count_is_none():
    assert _smallest_passing(10, lambda count: False) is None


def _variants(tmp_path: Path, onnx_path: Path, calibration: Path, *extra: str) -> list[str]:
    return [
        "variants",
        str(onnx_path),
        "--output-dir",
        str(tmp_path / "out"),
        "--precision",
        "int8",
        "--calibration-dir",
        str(calibration),
        "--samples-dir",
        str(calibration),
        *extra,
    ]


def test_unreadable_calibration_images_get_a_message_not_a_traceback(tiny_onnx, tmp_path, capsys):
    from densenet_build.__main__ import main

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "photo.jpg").write_bytes(b"not a jpeg")
    assert main(_variants(tmp_path, tiny_onnx, broken)) == 1
    err = capsys.readouterr().err
    assert "none of the 1 images" in err
    assert "Traceback" not in err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(_variants(tmp_path, tiny_onnx, empty)) == 1
    assert "holds no images" in capsys.readouterr().err


def test_variants_says_what_it_kept_and_fails_when_no_split_reaches_the_target(
    fragile_onnx, make_tiny, sample_dir, tmp_path, capsys
):
    from densenet_build.__main__ import main

    assert (
        main(_variants(tmp_path, fragile_onnx, sample_dir, "--min-top1", "0.5", "--target-agreement", "0.7"))
        == 0
    )
    out = capsys.readouterr().out
    assert "each layer alone in int8" in out
    assert "kept 1 of 3 weighted layers in fp16" in out
    assert float_layers(tmp_path / "out" / "model_int8.onnx") == [FRAGILE]
    report = json.loads((tmp_path / "out" / "variants.json").read_text())
    assert report["int8_fp16_layers"] == [FRAGILE]
    search = json.loads(Path(report["int8_search"]).read_text())
    assert search["ranking"][0]["name"] == FRAGILE

    tie = tmp_path / "tie.onnx"
    onnx.save(make_tiny(near_tie=True), str(tie))
    assert main(_variants(tmp_path, tie, sample_dir)) == 1
    captured = capsys.readouterr()
    assert "no split reaches the target" in captured.out
    assert "use fp16" in captured.err
    assert "Traceback" not in captured.err
