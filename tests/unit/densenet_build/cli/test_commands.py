"""The pipeline's commands as a user runs them: `densenet-build STEP ...`, exit status and messages."""

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import onnx
import pytest

from densenet_build.__main__ import main
from densenet_build.engine.trtexec import FORBIDDEN_FLAGS
from densenet_build.precision.metadata import read_precision

REPO = Path(__file__).resolve().parents[4] / "model_repository"
HAS_TENSORRT = importlib.util.find_spec("tensorrt") is not None


def no_tensorrt(test):
    """Only where TensorRT is missing (everywhere but NVIDIA's tensorrt images): it checks that message."""
    reason = "checks the message shown where TensorRT is missing"
    return pytest.mark.may_skip(reason)(pytest.mark.skipif(HAS_TENSORRT, reason=reason)(test))


@pytest.mark.parametrize(
    "command", ["samples", "prepare", "variants", "engine", "install", "check", "verify", "model", "queues"]
)
def test_every_step_has_help(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert "usage: densenet-build " + command in capsys.readouterr().out


def test_samples_prepare_variants(tmp_path, tiny_onnx, capsys):
    assert main(["samples", str(tmp_path / "eval"), "--count", "6"]) == 0
    assert main(["samples", str(tmp_path / "calib"), "--count", "6", "--seed", "1"]) == 0
    assert main(["prepare", str(tiny_onnx), str(tmp_path / "model.onnx"), "--simplify"]) == 0
    status = main(
        [
            "variants",
            str(tmp_path / "model.onnx"),
            "--output-dir",
            str(tmp_path / "out"),
            "--calibration-dir",
            str(tmp_path / "calib"),
            "--samples-dir",
            str(tmp_path / "eval"),
            "--min-top1",
            "0.5",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "top-1 agree" in out
    for precision in ("fp32", "fp16", "int8"):
        assert read_precision(onnx.load(str(tmp_path / "out" / f"model_{precision}.onnx"))) == precision
    report = json.loads((tmp_path / "out" / "variants.json").read_text())
    assert [r["name"] for r in report["results"]] == ["fp32", "fp16", "int8"]
    assert report["min_top1_agreement"] == 0.5
    assert len(report["images"]) == 6


def test_prepare_refuses_a_model_that_does_not_match_the_config(tmp_path, make_tiny, capsys):
    model = make_tiny()
    model.graph.output[0].name = "logits"
    model.graph.node[-1].output[0] = "logits"
    onnx.save(model, str(tmp_path / "other.onnx"))
    assert main(["prepare", str(tmp_path / "other.onnx"), str(tmp_path / "out.onnx")]) == 1
    err = capsys.readouterr().err
    assert (
        "error: model outputs are ['logits'], model_repository/densenet/config.pbtxt "
        "expects exactly ['fc6_1']" in err
    )
    assert "Traceback" not in err


def test_variants_below_the_threshold_fail_the_step(tmp_path, make_tiny, sample_dir, capsys):
    source = tmp_path / "tie.onnx"
    onnx.save(make_tiny(near_tie=True), str(source))  # fp16 cannot tell its two best classes apart
    args = ["variants", str(source), "--output-dir", str(tmp_path / "out"), "--precision", "fp16"]
    status = main([*args, "--samples-dir", str(sample_dir), "--min-top1", "0.9"])
    captured = capsys.readouterr()
    assert status == 1
    assert "FAIL (< 90.0%)" in captured.out
    assert "error: top-1 agreement with fp32 below 90.0%: fp16 (0.0%)" in captured.err
    assert (tmp_path / "out" / "variants.json").exists()  # the report is written either way


def test_int8_without_calibration_images_is_explained(tmp_path, tiny_onnx, sample_dir, capsys):
    args = ["variants", str(tiny_onnx), "--output-dir", str(tmp_path), "--samples-dir", str(sample_dir)]
    assert main(args) == 1
    assert "int8 needs --calibration-dir" in capsys.readouterr().err


def test_engine_prints_the_trtexec_equivalent(tmp_path, capsys):
    args = ["engine", "model_fp16.onnx", "--trtexec", "--timing-cache", "t.cache", "--version-compatible"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "batch min 1 / opt 16 / max 32" in out
    assert "--stronglyTyped" in out
    assert "--optShapes=data_0:16x3x224x224" in out
    assert "--versionCompatible" in out
    assert not [flag for flag in FORBIDDEN_FLAGS if flag in out.split()]


@no_tensorrt
def test_engine_and_verify_say_where_tensorrt_is(tmp_path, tiny_onnx, capsys):
    assert main(["engine", str(tiny_onnx)]) == 1
    err = capsys.readouterr().err
    assert "TensorRT is not installed here" in err
    assert "nvcr.io/nvidia/tensorrt:<NGC_RELEASE>-py3" in err
    assert "Traceback" not in err


def test_install_then_check_against_given_gpu_and_tensorrt(make_plan, tmp_path, capsys):
    model_dir = tmp_path / "densenet"
    (model_dir / "1").mkdir(parents=True)
    shutil.copy(REPO / "densenet" / "config.pbtxt", model_dir / "config.pbtxt")
    plan = make_plan(tmp_path / "build")
    assert main(["install", str(plan), "--model-dir", str(model_dir)]) == 0
    assert "cc_model_filenames in" in capsys.readouterr().out

    check = ["check", "--model-dir", str(model_dir), "--tensorrt-version", "10.13.3"]
    assert main([*check, "--compute-capability", "8.6", "--gpu-name", "NVIDIA A10"]) == 0
    assert "ok: Triton can load the plan" in capsys.readouterr().out
    assert main([*check, "--compute-capability", "7.5", "--gpu-name", "Tesla T4"]) == 1
    assert "no plan for this GPU (Tesla T4, compute 7.5" in capsys.readouterr().out
    old = ["check", str(model_dir / "1" / "model_sm86.plan"), "--tensorrt-version", "10.5.0"]
    assert main([*old, "--model-dir", str(model_dir), "--compute-capability", "8.6"]) == 1
    assert (
        "plan built with TensorRT 10.13.3, running 10.5.0: rebuild with make engine"
        in capsys.readouterr().out
    )
    assert main(["check", "--model-dir", str(model_dir), "--compute-capability", "eight"]) == 1
    assert "'eight' is not a compute capability" in capsys.readouterr().err


def test_the_gpu_page_shows_the_trtexec_line_the_engine_step_prints(capsys):
    readme = (REPO.parent / "docs" / "gpu-build.md").read_text()
    block = next(b for b in readme.split("```") if b.lstrip().startswith("trtexec --onnx=model_fp16.onnx"))
    assert main(["engine", "model_fp16.onnx", "--trtexec"]) == 0
    printed = capsys.readouterr().out.split("\n", 1)[1]
    assert printed.replace("\\\n", " ").split() == block.replace("\\\n", " ").split()


def test_a_missing_optional_package_is_named(tiny_onnx, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnx_graphsurgeon", None)  # as if not installed
    assert main(["prepare", str(tiny_onnx), str(tmp_path / "out.onnx"), "--simplify"]) == 1
    err = capsys.readouterr().err
    assert "`densenet-build prepare` needs the Python package 'onnx_graphsurgeon'" in err
    assert "requirements/engine.txt" in err
