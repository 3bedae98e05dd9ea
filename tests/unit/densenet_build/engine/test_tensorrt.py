"""Steps 4 and 6 for real: build plans with TensorRT and run them. Only where TensorRT and a GPU exist
(NVIDIA's tensorrt image on a GPU machine); everything they decide without TensorRT is tested elsewhere.
"""

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest

from densenet_build.__main__ import main
from densenet_build.engine.build import EngineOptions, build_engine
from densenet_build.engine.check import check_plan, has_errors
from densenet_build.engine.gpu import cuda_device_gpu, installed_tensorrt_version
from densenet_build.engine.profile import batch_profile
from densenet_build.engine.sidecar import sidecar_path, write_sidecar
from densenet_build.engine.verify import verify_plan
from densenet_build.images.folder import load_tensors
from densenet_build.precision.variants import make_variants
from densenet_build.repository.configs import DEFAULT_INTERFACE
from preprocess import PreprocessConfig

# The one test module allowed to skip under CI=true (tests/support/skipguard.py): TensorRT comes only in
# NVIDIA's images, and a plan builds only on a GPU.
pytestmark = [
    pytest.mark.may_skip("TensorRT runs in NVIDIA's tensorrt images on a GPU (docs/gpu-build.md)"),
    pytest.mark.skipif(
        importlib.util.find_spec("tensorrt") is None,
        reason="TensorRT is not installed (it runs in NVIDIA's tensorrt images on a GPU: docs/gpu-build.md)",
    ),
    pytest.mark.skipif(shutil.which("nvidia-smi") is None, reason="no NVIDIA GPU is visible"),
]


@pytest.fixture(scope="module")
def variants(tmp_path_factory, sample_dir, make_tiny):
    import onnx

    folder = tmp_path_factory.mktemp("variants")
    onnx.save(make_tiny(), str(folder / "tiny.onnx"))
    calibration, _ = load_tensors(sample_dir, PreprocessConfig())
    return make_variants(folder / "tiny.onnx", folder, ["fp16", "int8"], calibration)


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_plan_builds_and_agrees_with_onnxruntime(variants, sample_dir, tmp_path, precision):
    gpu = cuda_device_gpu(0)
    cache = tmp_path / "timing.cache"
    plan = tmp_path / f"model_{precision}.plan"
    info = build_engine(
        variants[precision],
        plan,
        DEFAULT_INTERFACE,
        batch_profile(DEFAULT_INTERFACE),
        EngineOptions(workspace_mib=1024, timing_cache=cache),
        gpu,
    )
    write_sidecar(info, sidecar_path(plan))
    assert plan.stat().st_size > 0
    assert cache.stat().st_size > 0  # persisted for the next build
    assert info.precision == precision
    assert info.compute_capability == gpu.compute_capability
    assert info.tensorrt_version == installed_tensorrt_version()
    assert not has_errors(check_plan(plan, DEFAULT_INTERFACE, installed_tensorrt_version(), gpu))
    tensors, _ = load_tensors(sample_dir, PreprocessConfig())
    reference, row = verify_plan(plan, info, variants["fp32"], tensors, DEFAULT_INTERFACE)
    assert reference.top1_agreement == 1.0
    assert row.top1_agreement >= 0.85
    assert np.isfinite(row.max_abs_diff)


def test_timing_cache_is_reused_and_version_compatible_builds(variants, tmp_path):
    gpu = cuda_device_gpu(0)
    cache = tmp_path / "timing.cache"
    options = EngineOptions(workspace_mib=1024, timing_cache=cache, version_compatible=True)
    profile = batch_profile(DEFAULT_INTERFACE)
    first = build_engine(variants["fp16"], tmp_path / "a.plan", DEFAULT_INTERFACE, profile, options, gpu)
    second = build_engine(variants["fp16"], tmp_path / "b.plan", DEFAULT_INTERFACE, profile, options, gpu)
    assert "VERSION_COMPATIBLE" in first.build_flags
    assert second.build_seconds <= first.build_seconds + 5


def test_engine_and_verify_commands(variants, sample_dir, tmp_path, capsys):
    plan = tmp_path / "model_fp16.plan"
    assert main(["engine", str(variants["fp16"]), "--output", str(plan), "--workspace-mib", "1024"]) == 0
    assert sidecar_path(plan).exists()
    args = ["verify", str(plan), "--reference", str(variants["fp32"]), "--samples-dir", str(sample_dir)]
    assert main(args) == 0
    assert "plan fp16" in capsys.readouterr().out


@pytest.mark.skipif(
    shutil.which("trtexec") is None and not Path("/usr/src/tensorrt/bin/trtexec").exists(),
    reason="trtexec is not installed",
)
def test_trtexec_builds_the_same_kind_of_plan(variants, tmp_path):
    plan = tmp_path / "model_fp16.plan"
    assert (
        main(
            [
                "engine",
                str(variants["fp16"]),
                "--output",
                str(plan),
                "--run-trtexec",
                "--workspace-mib",
                "1024",
            ]
        )
        == 0
    )
    assert sidecar_path(plan).exists()
