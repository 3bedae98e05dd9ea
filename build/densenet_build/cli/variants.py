"""``densenet-build variants``: make fp32/fp16/int8 ONNX variants and measure their agreement with fp32.

Write model_fp32.onnx, model_fp16.onnx (I/O kept FP32) and model_int8.onnx (explicit Q/DQ, symmetric,
per-channel weights, calibrated on images through the server's preprocessing; the layers int8 harms
most, measured one by one on held-out calibration images, kept in fp16 until --target-agreement is
reached), then run each on ONNX Runtime CPU over --samples-dir and print top-1 agreement, top-5 overlap
and logit differences against fp32. Exits 1 if a variant is below --min-top1.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from densenet_contract.cli import fraction

from ..errors import BuildError
from ..precision.calibration import CALIBRATION_METHODS
from ..precision.int8 import DEFAULT_HELD_OUT, DEFAULT_TARGET
from ..precision.variants import PRECISIONS
from .options import ENGINE_DIR, Evaluation, add_config, add_evaluation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("onnx", type=Path, help="the prepared fp32 model")
    parser.add_argument("--output-dir", type=Path, default=ENGINE_DIR, help=f"(default {ENGINE_DIR})")
    parser.add_argument(
        "--precision", nargs="+", choices=PRECISIONS, default=["fp16", "int8"], help="(default fp16 int8)"
    )
    add_evaluation(parser, "to evaluate the variants on")
    parser.add_argument("--calibration-dir", type=Path, help="folder of JPEG/PNG images for int8 calibration")
    parser.add_argument(
        "--calibration-method",
        choices=CALIBRATION_METHODS,
        default="minmax",
        help="activation ranges: minmax (the observed maximum, NVIDIA's usual choice for CNNs; default) "
        "or percentile (the 99.999th percentile, clipping outliers)",
    )
    parser.add_argument(
        "--target-agreement",
        type=fraction,
        default=DEFAULT_TARGET,
        help="int8: keep the layers int8 harms most in fp16 until the top-1 agreement with fp32 on the "
        f"held-out calibration images reaches this (default {DEFAULT_TARGET}; 0: every layer int8). "
        "Exits 1 if no split reaches it",
    )
    parser.add_argument(
        "--held-out",
        type=fraction,
        default=DEFAULT_HELD_OUT,
        help="int8: fraction of the calibration images kept out of calibration to measure agreement on "
        f"(default {DEFAULT_HELD_OUT}; 0: calibrate on all and measure on the same, optimistic)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="int8: recalibrate and search again (default: reuse OUTPUT_DIR/int8-cache when the model, "
        "images and options are unchanged)",
    )
    parser.add_argument("--report", type=Path, help="JSON report (default OUTPUT_DIR/variants.json)")
    add_config(parser)


def run(args: argparse.Namespace) -> None:
    from ..precision.agreement import format_table, require, write_report
    from ..precision.int8 import Int8Options, float_layers, search_report_path
    from ..precision.variants import evaluate, make_variants
    from ..repository.configs import load_interface

    interface = load_interface(args.densenet_config)
    evaluation = Evaluation.from_args(args)
    calibration = None
    if "int8" in args.precision:
        if args.calibration_dir is None:
            raise BuildError("int8 needs --calibration-dir (`densenet-build samples DIR` makes one)")
        calibration, names = evaluation.load(args.calibration_dir)
        print(f"int8: {len(names)} calibration images from {args.calibration_dir}")
    int8 = Int8Options(
        method=args.calibration_method,
        target_agreement=args.target_agreement,
        held_out=args.held_out,
        cache_dir=None if args.no_cache else Path(args.output_dir) / "int8-cache",
    )
    paths = make_variants(
        args.onnx, args.output_dir, args.precision, calibration, interface, int8=int8, show=print
    )
    samples, names = evaluation.load()
    rows, _ = evaluate(paths, samples, interface)
    print(format_table(rows, evaluation.min_top1))
    report = write_report(
        args.report or Path(args.output_dir) / "variants.json",
        rows,
        reference="fp32 (ONNX Runtime CPU)",
        min_top1_agreement=evaluation.min_top1,
        samples_dir=str(evaluation.samples_dir),
        images=names,
        calibration_dir=str(args.calibration_dir) if calibration is not None else None,
        calibration_method=args.calibration_method if calibration is not None else None,
        int8_target_agreement=args.target_agreement if calibration is not None else None,
        int8_fp16_layers=float_layers(paths["int8"]) if "int8" in paths else None,
        int8_search=str(search_report_path(paths["int8"])) if "int8" in paths else None,
        files={name: str(path) for name, path in paths.items()},
    )
    print(f"wrote {', '.join(str(p) for p in paths.values())} and {report}")
    require(rows, evaluation.min_top1)
