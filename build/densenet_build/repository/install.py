"""Step 5, install into the model repository: the prepared ONNX (step 2), or a plan (step 4) under
its compute capability's name.

The ONNX goes to ``densenet/1/model.onnx``; the configs record which weights it carries and the
preprocessing they were trained with, so the server can report the first and check the second.


``densenet/1/model_sm86.plan`` plus ``model_sm86.json`` (its sidecar); ``cc_model_filenames`` in
``densenet/config.pbtxt`` is rewritten to list exactly the plans present, so Triton on any GPU
picks the plan built for it, and a deleted plan never stays referenced.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path

from densenet_contract.files import replacing

from ..acquire.download import sha256_of
from ..acquire.prepare import prepare
from ..acquire.sources import AcquiredModel
from ..engine.gpu import compute_capability_of_tag, sm_tag
from ..engine.sidecar import PlanInfo, read_sidecar, sidecar_path, write_sidecar
from ..errors import PlanMismatchError
from .configs import ModelInterface, load_interface
from .pbtxt import set_cc_model_filenames, update_parameters

LOGGER = logging.getLogger(__name__)
PLAN_GLOB = "model_sm*.plan"


def install_onnx(
    acquired: AcquiredModel,
    repository: str | Path,
    *,
    interface: ModelInterface | None = None,
    set_preprocess: bool = True,
) -> Path:
    """Prepare ``acquired`` into ``repository/densenet/1/model.onnx`` and keep the configs in step.

    The densenet configs (``configs/cpu.pbtxt``, and ``config.pbtxt``, whose plan is built from this
    file) and ``postprocess/config.pbtxt`` get the record: the weights, their sha256, their
    preprocessing and their source (the CPU model refuses a file it does not describe; the server
    reports it; postprocess exports it as a metric); with ``set_preprocess`` the preprocess model's
    ``preset`` becomes the one the weights need.
    """
    repository = Path(repository)
    densenet = repository / "densenet"
    if interface is None:
        interface = load_interface(densenet / "config.pbtxt")
    output = prepare(
        acquired.path,
        densenet / "1" / "model.onnx",
        acquired.weights,
        acquired.sha256,
        interface=interface,
        preprocessing=acquired.preprocessing,
        weights_source=acquired.source,
    )
    for config in (densenet / "configs" / "cpu.pbtxt", densenet / "config.pbtxt"):
        update_parameters(config, acquired.record())
    # postprocess exports the same record as densenet_served_weights_info (docs/quality.md).
    update_parameters(repository / "postprocess" / "config.pbtxt", acquired.record())
    if set_preprocess:  # every config of the preprocess model: the Python and the DALI engine alike
        preprocess = repository / "preprocess"
        for config in [preprocess / "config.pbtxt", *sorted(preprocess.glob("configs/*.pbtxt"))]:
            update_parameters(config, {"preset": acquired.preprocessing})
    return output


def plan_filename(compute_capability: str) -> str:
    return f"model_{sm_tag(compute_capability)}.plan"


def plans_present(version_dir: str | Path) -> dict[str, str]:
    """compute capability → plan file name, for every ``model_sm*.plan`` in ``version_dir``.

    The capability is the sidecar's where there is one, else read from the file name.
    """
    found: dict[str, str] = {}
    for plan in sorted(Path(version_dir).glob(PLAN_GLOB)):
        capability = compute_capability_of_tag(plan.stem.removeprefix("model_"))
        side = sidecar_path(plan)
        if side.exists():
            try:
                capability = read_sidecar(side).compute_capability
            except PlanMismatchError as error:
                LOGGER.warning("%s", error)
        if capability is None:
            LOGGER.warning(
                "ignoring %s: its name does not say a compute capability (model_sm86.plan)", plan.name
            )
            continue
        found[capability] = plan.name
    return found


def sync_config(config_path: str | Path, version_dir: str | Path) -> dict[str, str]:
    """Rewrite ``cc_model_filenames`` in ``config_path`` to match the plans in ``version_dir``."""
    config_path = Path(config_path)
    filenames = plans_present(version_dir)
    text = config_path.read_text(encoding="utf-8")
    updated = set_cc_model_filenames(text, filenames)
    if updated != text:
        config_path.write_text(updated, encoding="utf-8")
    return filenames


def install_plan(plan: str | Path, model_dir: str | Path, config_path: str | Path | None = None) -> Path:
    """Copy ``plan`` and its sidecar into ``model_dir/1`` and sync ``model_dir``'s config."""
    plan, model_dir = Path(plan), Path(model_dir)
    info = read_sidecar(sidecar_path(plan))
    if sha256_of(plan) != info.plan_sha256:
        raise PlanMismatchError(
            f"{plan} is not the file its sidecar describes (sha256 differs); rebuild it with make engine"
        )
    version_dir = model_dir / "1"
    version_dir.mkdir(parents=True, exist_ok=True)
    destination = version_dir / plan_filename(info.compute_capability)
    if plan.resolve() != destination.resolve():
        with replacing(destination) as partial:
            shutil.copyfile(plan, partial)
    installed: PlanInfo = replace(info, plan_file=destination.name)
    write_sidecar(installed, sidecar_path(destination))
    sync_config(config_path or model_dir / "config.pbtxt", version_dir)
    return destination
