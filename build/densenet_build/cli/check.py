"""``densenet-build check``: explain, before Triton tries, whether the installed plans fit this TensorRT and
GPU.

Compare each plan's sidecar with the running TensorRT and GPU (or the values given) and with the
densenet config, and explain every mismatch. Exits 1 if Triton would refuse the plan.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from densenet_contract.cli import EXIT_FAILED, EXIT_OK

from ..errors import BuildError
from .options import MODEL_DIR

LOGGER = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("plan", type=Path, nargs="?", help="check one plan (default: the repository's plans)")
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR, help=f"(default {MODEL_DIR})")
    parser.add_argument(
        "--tensorrt-version", help="the TensorRT that will load it (default: the installed one)"
    )
    parser.add_argument(
        "--compute-capability", help="the target GPU's compute capability (default: nvidia-smi)"
    )
    parser.add_argument("--gpu-name", help="the target GPU's name, with --compute-capability")


def run(args: argparse.Namespace) -> int:
    from ..engine.check import check_plan, check_repository, has_errors
    from ..engine.gpu import GpuInfo, installed_tensorrt_version, parse_compute_capability, query_gpus
    from ..repository.configs import interface_from_config, read_config

    config_path = args.model_dir / "config.pbtxt"
    config = read_config(config_path)
    interface = interface_from_config(config, str(config_path))
    tensorrt_version = args.tensorrt_version or installed_tensorrt_version()
    if args.compute_capability:
        try:
            parse_compute_capability(args.compute_capability)
        except ValueError as error:
            raise BuildError(str(error)) from None
        gpus = [GpuInfo(args.gpu_name or "the target GPU", args.compute_capability)]
    else:
        try:
            gpus = query_gpus()
        except BuildError as error:
            LOGGER.warning("%s", error)
            gpus = []
    if args.plan is not None:
        findings = check_plan(args.plan, interface, tensorrt_version, gpus[0] if gpus else None)
    else:
        findings = check_repository(
            args.model_dir, interface, dict(config.cc_model_filenames), tensorrt_version, gpus
        )
    for finding in findings:
        print(finding)
    if has_errors(findings):
        print("Triton would not load the densenet plan here; fix the errors above first.")
        return EXIT_FAILED
    print("ok: Triton can load the plan" + ("" if gpus and tensorrt_version else " (as far as checked)"))
    return EXIT_OK
