"""``densenet-build engine``: build the TensorRT plan from an ONNX variant (TensorRT Python API, or trtexec).

Build a strongly typed TensorRT plan (precision comes from the ONNX variant) with one optimization
profile from the densenet config (min 1, opt = largest preferred batch size, max = max_batch_size), a
workspace limit and a persisted timing cache; writes PLAN and its JSON sidecar. Needs TensorRT and the
GPU the plan is for. --trtexec prints the equivalent trtexec command instead.
"""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from densenet_contract.cli import positive_int

from ..engine.options import HARDWARE_LEVELS, EngineOptions
from .options import add_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("onnx", type=Path, help="an ONNX variant (model_fp16.onnx, ...)")
    parser.add_argument("--output", type=Path, help="plan file (default: the ONNX path with .plan)")
    parser.add_argument(
        "--workspace-mib", type=positive_int, default=4096, help="workspace limit (default 4096)"
    )
    parser.add_argument(
        "--timing-cache", type=Path, help="timing cache file, reused and updated (speeds up rebuilds)"
    )
    parser.add_argument(
        "--version-compatible",
        action="store_true",
        help="plan also loads on later TensorRT releases of the same major version",
    )
    parser.add_argument(
        "--hardware-compatibility",
        choices=list(HARDWARE_LEVELS),
        default="none",
        help="ampere_plus: one plan for every GPU of compute >= 8.0 (slower); default none",
    )
    parser.add_argument("--opt-batch", type=positive_int, help="override the profile's opt batch size")
    parser.add_argument("--device", type=int, help="CUDA device to build on (default 0)")
    parser.add_argument("--trtexec", action="store_true", help="only print the equivalent trtexec command")
    parser.add_argument(
        "--run-trtexec", action="store_true", help="build with trtexec instead of the Python API"
    )
    parser.add_argument("--trtexec-path", default="trtexec", help="trtexec executable (default: from PATH)")
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="trtexec time limit, seconds (default 3600)"
    )
    add_config(parser)


def engine_options(args: argparse.Namespace) -> EngineOptions:
    """The build's options, read once from the flags named after its fields (--workspace-mib ...)."""
    return EngineOptions(**{field.name: getattr(args, field.name) for field in fields(EngineOptions)})


def run(args: argparse.Namespace) -> None:
    from ..engine.build import build_plan
    from ..engine.profile import batch_profile
    from ..engine.sidecar import sidecar_path
    from ..engine.trtexec import find_trtexec, format_command, trtexec_command
    from ..repository.configs import load_interface

    interface = load_interface(args.densenet_config)
    profile = batch_profile(interface, opt_batch=args.opt_batch)
    options = engine_options(args)
    plan = args.output or Path(args.onnx).with_suffix(".plan")
    print(
        f"profile for '{interface.input.name}': batch min {profile.min} / opt {profile.opt} / "
        f"max {profile.max} (from {interface.source})"
    )
    command = None
    if args.trtexec or args.run_trtexec:
        executable = find_trtexec(args.trtexec_path) if args.run_trtexec else args.trtexec_path
        command = trtexec_command(
            args.onnx, plan, interface, profile, options, device=args.device, trtexec=executable
        )
        print(format_command(command))
        if not args.run_trtexec:
            return
    info = build_plan(
        args.onnx,
        plan,
        interface,
        profile,
        options,
        device=args.device,
        trtexec=command,
        timeout_s=args.timeout,
    )
    print(
        f"wrote {plan} ({info.precision}, TensorRT {info.tensorrt_version}, {info.gpu_name}, compute "
        f"{info.compute_capability}, {info.build_seconds:.0f}s) and {sidecar_path(plan)}"
    )
