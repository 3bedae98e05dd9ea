"""Installing plans (named by compute capability, with their sidecars, listed in cc_model_filenames),
without a GPU: the plan files are placeholders, install only copies, hashes and describes them."""

import pytest

from densenet_build.engine.gpu import GpuInfo
from densenet_build.engine.sidecar import read_sidecar, sidecar_path
from densenet_build.errors import PlanMismatchError
from densenet_build.repository.install import install_plan, plan_filename, plans_present, sync_config

T4 = GpuInfo("Tesla T4", "7.5")
H100 = GpuInfo("NVIDIA H100 80GB HBM3", "9.0")


def test_install_names_the_plan_by_compute_capability_and_lists_it(
    make_plan, tmp_path, model_dir, cc_filenames
):
    comments = [
        line for line in (model_dir / "config.pbtxt").read_text().splitlines() if line.startswith("#")
    ]
    installed = install_plan(make_plan(tmp_path / "build"), model_dir)
    assert installed == model_dir / "1" / "model_sm86.plan"
    assert read_sidecar(sidecar_path(installed)).plan_file == "model_sm86.plan"
    assert cc_filenames() == {"8.6": "model_sm86.plan"}
    text = (model_dir / "config.pbtxt").read_text()
    assert [line for line in text.splitlines() if line.startswith("#")] == comments

    install_plan(make_plan(tmp_path / "build-t4", compute_capability="7.5", gpu_name=T4.name), model_dir)
    assert cc_filenames() == {"7.5": "model_sm75.plan", "8.6": "model_sm86.plan"}
    assert plan_filename("10.0") == "model_sm100.plan"


def test_sync_drops_plans_that_are_gone(make_plan, tmp_path, model_dir, cc_filenames):
    install_plan(make_plan(tmp_path / "a"), model_dir)
    install_plan(make_plan(tmp_path / "b", compute_capability="9.0", gpu_name=H100.name), model_dir)
    (model_dir / "1" / "model_sm86.plan").unlink()
    assert sync_config(model_dir / "config.pbtxt", model_dir / "1") == {"9.0": "model_sm90.plan"}
    assert cc_filenames() == {"9.0": "model_sm90.plan"}


def test_plans_without_sidecar_are_named_by_file(model_dir):
    (model_dir / "1" / "model_sm75.plan").write_bytes(b"x")
    (model_dir / "1" / "model_smXY.plan").write_bytes(b"x")
    assert plans_present(model_dir / "1") == {"7.5": "model_sm75.plan"}


def test_a_plan_that_is_not_the_one_described_is_not_installed(make_plan, tmp_path, model_dir, cc_filenames):
    plan = make_plan(tmp_path / "build")
    plan.write_bytes(b"something else")
    with pytest.raises(PlanMismatchError, match="not the file its sidecar describes"):
        install_plan(plan, model_dir)
