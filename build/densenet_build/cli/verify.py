"""``densenet-build verify``: run the plan with TensorRT on sample images and compare it with ONNX Runtime
fp32.

Run PLAN on the GPU over --samples-dir (through the server's preprocessing) and print the same agreement
table as `variants`, against --reference on ONNX Runtime CPU.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from ..errors import PlanMismatchError
from .options import Evaluation, add_config, add_evaluation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("plan", type=Path)
    parser.add_argument("--reference", type=Path, required=True, help="the fp32 ONNX model (model_fp32.onnx)")
    add_evaluation(parser, "to compare on")
    parser.add_argument("--report", type=Path, help="JSON report (default PLAN-verify.json)")
    add_config(parser)


def run(args: argparse.Namespace) -> None:
    from ..engine.sidecar import read_sidecar, sidecar_path
    from ..engine.verify import verify_plan
    from ..precision.agreement import format_table, require, write_report
    from ..repository.configs import load_interface

    interface = load_interface(args.densenet_config)
    info = read_sidecar(sidecar_path(args.plan))
    if not Path(args.plan).exists():
        raise PlanMismatchError(f"{args.plan} does not exist")
    evaluation = Evaluation.from_args(args)
    samples, names = evaluation.load()
    rows = verify_plan(args.plan, info, args.reference, samples, interface)
    print(format_table(rows, evaluation.min_top1))
    report = write_report(
        args.report or Path(args.plan).with_name(Path(args.plan).stem + "-verify.json"),
        rows,
        reference=f"{args.reference} (ONNX Runtime CPU)",
        plan=asdict(info),
        min_top1_agreement=evaluation.min_top1,
        samples_dir=str(evaluation.samples_dir),
        images=names,
    )
    print(f"wrote {report}")
    require(rows, evaluation.min_top1)
