"""Check: will Triton load these plans, on this TensorRT and GPU? Answered without a GPU.

The plan files here are placeholders: check only hashes and describes them.
"""

from dataclasses import replace
from pathlib import Path

from densenet_build.engine.check import check_gpu, check_plan, check_repository, check_tensorrt, has_errors
from densenet_build.engine.gpu import GpuInfo
from densenet_build.repository.configs import load_interface
from densenet_build.repository.install import install_plan

REPO = Path(__file__).resolve().parents[4] / "model_repository"

A10 = GpuInfo("NVIDIA A10", "8.6")
T4 = GpuInfo("Tesla T4", "7.5")
H100 = GpuInfo("NVIDIA H100 80GB HBM3", "9.0")


def test_tensorrt_version_rules(make_plan_info):
    info = make_plan_info(tensorrt_version="10.5.0.18")
    (same,) = check_tensorrt(info, "10.5.0.18")
    assert same.severity == "ok"
    (other,) = check_tensorrt(info, "10.13.3.9")
    assert other.severity == "error"
    assert other.message == "plan built with TensorRT 10.5.0, running 10.13.3: rebuild with make engine"
    compatible = replace(info, version_compatible=True)
    assert check_tensorrt(compatible, "10.13.3.9")[0].severity == "ok"
    (older,) = check_tensorrt(compatible, "10.3.0")
    assert older.severity == "error"
    assert "runs only on TensorRT 10.x releases from 10.5.0 on" in older.message
    assert check_tensorrt(compatible, "11.0.0")[0].severity == "error"
    (unknown,) = check_tensorrt(info, None)
    assert unknown.severity == "warning"
    assert "--tensorrt-version" in unknown.message


def test_gpu_rules(make_plan_info):
    info = make_plan_info()
    (wrong,) = check_gpu(info, T4)
    assert wrong.severity == "error"
    assert (
        wrong.message
        == "built for compute 8.6, this GPU (Tesla T4) is 7.5: rebuild on this GPU with make engine"
    )
    (sibling,) = check_gpu(info, GpuInfo("NVIDIA A40", "8.6"))
    assert sibling.severity == "warning"
    assert "built on NVIDIA A10, running on NVIDIA A40" in sibling.message
    assert check_gpu(info, A10)[0].severity == "ok"
    ampere_plus = replace(info, hardware_compatibility="ampere_plus")
    assert check_gpu(ampere_plus, H100)[0].severity == "ok"
    (turing,) = check_gpu(ampere_plus, T4)
    assert turing.severity == "error"
    assert "compute >= 8.0" in turing.message


def test_profile_must_cover_the_configs_batch_sizes(make_plan, tmp_path):
    interface = load_interface(REPO / "densenet" / "config.pbtxt")
    small = {"input": "data_0", "min": [1, 3, 224, 224], "opt": [8, 3, 224, 224], "max": [16, 3, 224, 224]}
    plan = make_plan(tmp_path, profile=small)
    findings = check_plan(plan, interface, "10.13.3.9", A10)
    assert has_errors(findings)
    assert any("stops at batch 16, but max_batch_size is 32" in f.message for f in findings)
    renamed = dict(small, input="input_1", max=[32, 3, 224, 224])
    findings = check_plan(make_plan(tmp_path / "r", profile=renamed), interface, "10.13.3.9", A10)
    assert any("the plan's input is 'input_1'" in f.message for f in findings)


def test_a_good_plan_passes_and_a_tampered_one_does_not(make_plan, tmp_path):
    interface = load_interface(REPO / "densenet" / "config.pbtxt")
    plan = make_plan(tmp_path)
    assert not has_errors(check_plan(plan, interface, "10.13.3.9", A10))
    plan.write_bytes(b"edited")
    assert any(
        "differs from the one its sidecar describes" in f.message
        for f in check_plan(plan, interface, "10.13.3.9", A10)
    )
    assert "is missing" in check_plan(tmp_path / "nothing.plan", interface, None, None)[0].message


def test_repository_check_finds_the_plan_for_each_gpu(make_plan, tmp_path, model_dir, cc_filenames):
    interface = load_interface(model_dir / "config.pbtxt")
    install_plan(make_plan(tmp_path / "a"), model_dir)
    names = cc_filenames()
    assert not has_errors(check_repository(model_dir, interface, names, "10.13.3.9", [A10]))
    findings = check_repository(model_dir, interface, names, "10.13.3.9", [T4])
    assert any("no plan for this GPU (Tesla T4, compute 7.5; plans for: 8.6)" in f.message for f in findings)
    unlisted = check_repository(model_dir, interface, {}, "10.13.3.9", [A10])
    assert any("not in cc_model_filenames" in f.message for f in unlisted)
    stale = check_repository(model_dir, interface, {**names, "9.0": "model_sm90.plan"}, "10.13.3.9", [])
    assert any("names model_sm90.plan for compute 9.0, which is missing" in f.message for f in stale)
    assert any(f.severity == "warning" and "no GPU known" in f.message for f in stale)
