"""Install (plan naming, sidecars, cc_model_filenames) and check (will Triton load it?), without a GPU.

The plan files here are placeholders: install and check only move, hash and describe them.
"""

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from densenet_build.engine.check import check_gpu, check_plan, check_repository, check_tensorrt, has_errors
from densenet_build.engine.gpu import GpuInfo
from densenet_build.engine.sidecar import read_sidecar, sidecar_path, write_sidecar
from densenet_build.errors import PlanMismatchError
from densenet_build.repository.configs import load_interface
from densenet_build.repository.install import install_plan, plan_filename, plans_present, sync_config
from densenet_build.repository.pbtxt import parse_model_config

REPO = Path(__file__).resolve().parents[4] / "model_repository"

A10 = GpuInfo("NVIDIA A10", "8.6")
T4 = GpuInfo("Tesla T4", "7.5")
H100 = GpuInfo("NVIDIA H100 80GB HBM3", "9.0")


@pytest.fixture
def model_dir(tmp_path) -> Path:
    target = tmp_path / "densenet"
    target.mkdir()
    shutil.copy(REPO / "densenet" / "config.pbtxt", target / "config.pbtxt")
    (target / "1").mkdir()
    return target


def cc_filenames(model_dir: Path) -> dict[str, str]:
    return dict(parse_model_config((model_dir / "config.pbtxt").read_text()).cc_model_filenames)


def test_sidecar_round_trip_and_clear_errors(make_plan_info, tmp_path):
    info = make_plan_info()
    path = write_sidecar(info, tmp_path / "p.json")
    assert read_sidecar(path) == info
    with pytest.raises(PlanMismatchError, match="missing: the plan was not built by `densenet-build engine`"):
        read_sidecar(tmp_path / "none.json")
    data = json.loads(path.read_text())
    del data["tensorrt_version"]
    path.write_text(json.dumps(data))
    with pytest.raises(PlanMismatchError, match=r"lacks \['tensorrt_version'\]"):
        read_sidecar(path)


def test_install_names_the_plan_by_compute_capability_and_lists_it(make_plan, tmp_path, model_dir):
    comments = [
        line for line in (model_dir / "config.pbtxt").read_text().splitlines() if line.startswith("#")
    ]
    installed = install_plan(make_plan(tmp_path / "build"), model_dir)
    assert installed == model_dir / "1" / "model_sm86.plan"
    assert read_sidecar(sidecar_path(installed)).plan_file == "model_sm86.plan"
    assert cc_filenames(model_dir) == {"8.6": "model_sm86.plan"}
    text = (model_dir / "config.pbtxt").read_text()
    assert [line for line in text.splitlines() if line.startswith("#")] == comments

    install_plan(make_plan(tmp_path / "build-t4", compute_capability="7.5", gpu_name=T4.name), model_dir)
    assert cc_filenames(model_dir) == {"7.5": "model_sm75.plan", "8.6": "model_sm86.plan"}
    assert plan_filename("10.0") == "model_sm100.plan"


def test_sync_drops_plans_that_are_gone(make_plan, tmp_path, model_dir):
    install_plan(make_plan(tmp_path / "a"), model_dir)
    install_plan(make_plan(tmp_path / "b", compute_capability="9.0", gpu_name=H100.name), model_dir)
    (model_dir / "1" / "model_sm86.plan").unlink()
    assert sync_config(model_dir / "config.pbtxt", model_dir / "1") == {"9.0": "model_sm90.plan"}
    assert cc_filenames(model_dir) == {"9.0": "model_sm90.plan"}


def test_plans_without_sidecar_are_named_by_file(model_dir):
    (model_dir / "1" / "model_sm75.plan").write_bytes(b"x")
    (model_dir / "1" / "model_smXY.plan").write_bytes(b"x")
    assert plans_present(model_dir / "1") == {"7.5": "model_sm75.plan"}


def test_a_plan_that_is_not_the_one_described_is_not_installed(make_plan, tmp_path, model_dir):
    plan = make_plan(tmp_path / "build")
    plan.write_bytes(b"something else")
    with pytest.raises(PlanMismatchError, match="not the file its sidecar describes"):
        install_plan(plan, model_dir)


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


def test_repository_check_finds_the_plan_for_each_gpu(make_plan, tmp_path, model_dir):
    interface = load_interface(model_dir / "config.pbtxt")
    install_plan(make_plan(tmp_path / "a"), model_dir)
    names = cc_filenames(model_dir)
    assert not has_errors(check_repository(model_dir, interface, names, "10.13.3.9", [A10]))
    findings = check_repository(model_dir, interface, names, "10.13.3.9", [T4])
    assert any("no plan for this GPU (Tesla T4, compute 7.5; plans for: 8.6)" in f.message for f in findings)
    unlisted = check_repository(model_dir, interface, {}, "10.13.3.9", [A10])
    assert any("not in cc_model_filenames" in f.message for f in unlisted)
    stale = check_repository(model_dir, interface, {**names, "9.0": "model_sm90.plan"}, "10.13.3.9", [])
    assert any("names model_sm90.plan for compute 9.0, which is missing" in f.message for f in stale)
    assert any(f.severity == "warning" and "no GPU known" in f.message for f in stale)
