"""The GPU pipeline's commands: samples, prepare, variants, engine, install, check, verify.

Each is one step with its own ``--help``; ``make engine`` chains them. Heavy imports (onnxruntime's
quantizer, TensorRT) happen inside the handlers so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import asdict
from pathlib import Path

from .errors import BuildError, PlanMismatchError
from .repository import DENSENET_CONFIG, PREPROCESS_CONFIG

LOGGER = logging.getLogger(__name__)
ENGINE_DIR = Path(".cache/engine")
MODEL_DIR = DENSENET_CONFIG.parent
DEFAULT_MIN_TOP1 = 0.9


def _fraction(value: str) -> float:
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not a fraction between 0 and 1")
    return number


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive integer")
    return number


def _add_config(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--densenet-config",
        type=Path,
        default=DENSENET_CONFIG,
        help=f"the config whose interface and batching the model must match (default {DENSENET_CONFIG})",
    )


def _add_images(parser: argparse.ArgumentParser, flag: str, what: str) -> None:
    parser.add_argument(flag, type=Path, required=True, help=f"folder of JPEG/PNG images {what}")
    parser.add_argument(
        "--preprocess-config",
        type=Path,
        default=PREPROCESS_CONFIG,
        help=f"the server's preprocessing, applied to the images (default {PREPROCESS_CONFIG})",
    )
    parser.add_argument("--max-images", type=_positive, help="use at most this many images (sorted by name)")


def _add_threshold(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--min-top1",
        type=_fraction,
        default=DEFAULT_MIN_TOP1,
        help=f"fail below this top-1 agreement with fp32 (default {DEFAULT_MIN_TOP1})",
    )


def _cmd_samples(args: argparse.Namespace) -> None:
    from .samples import write_samples

    paths = write_samples(args.output, args.count, seed=args.seed)
    print(
        f"wrote {len(paths)} sample images (scikit-image photographs, cropped and flipped) to {args.output}"
    )


def _cmd_prepare(args: argparse.Namespace) -> None:
    from .prepare import prepare
    from .repository import load_interface

    interface = load_interface(args.densenet_config)
    output = prepare(args.input, args.output, interface=interface, simplify=args.simplify)
    print(f"wrote {output}: matches {interface.source}, batch dimension dynamic")


def _load(args: argparse.Namespace, folder: Path):  # -> (tensors, names)
    from .image_folder import load_tensors
    from .repository import load_preprocess_config

    return load_tensors(folder, load_preprocess_config(args.preprocess_config), args.max_images)


def _cmd_variants(args: argparse.Namespace) -> None:
    from .agreement import format_table, require, write_report
    from .int8 import Int8Options, float_layers, search_report_path
    from .precision import evaluate, make_variants
    from .repository import load_interface

    interface = load_interface(args.densenet_config)
    calibration = None
    if "int8" in args.precision:
        if args.calibration_dir is None:
            raise BuildError("int8 needs --calibration-dir (`densenet-build samples DIR` makes one)")
        calibration, names = _load(args, args.calibration_dir)
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
    samples, names = _load(args, args.samples_dir)
    rows, _ = evaluate(paths, samples, interface)
    print(format_table(rows, args.min_top1))
    report = write_report(
        args.report or Path(args.output_dir) / "variants.json",
        rows,
        reference="fp32 (ONNX Runtime CPU)",
        min_top1_agreement=args.min_top1,
        samples_dir=str(args.samples_dir),
        images=names,
        calibration_dir=str(args.calibration_dir) if calibration is not None else None,
        calibration_method=args.calibration_method if calibration is not None else None,
        int8_target_agreement=args.target_agreement if calibration is not None else None,
        int8_fp16_layers=float_layers(paths["int8"]) if "int8" in paths else None,
        int8_search=str(search_report_path(paths["int8"])) if "int8" in paths else None,
        files={name: str(path) for name, path in paths.items()},
    )
    print(f"wrote {', '.join(str(p) for p in paths.values())} and {report}")
    require(rows, args.min_top1)


def _engine_setup(args: argparse.Namespace):  # -> (interface, profile, options)
    from .engine import EngineOptions
    from .profile import batch_profile
    from .repository import load_interface

    interface = load_interface(args.densenet_config)
    profile = batch_profile(interface, opt_batch=args.opt_batch)
    options = EngineOptions(
        workspace_mib=args.workspace_mib,
        timing_cache=args.timing_cache,
        version_compatible=args.version_compatible,
        hardware_compatibility=args.hardware_compatibility,
        verbose=args.verbose,
    )
    return interface, profile, options


def _cmd_engine(args: argparse.Namespace) -> None:
    import time

    from .engine import build_engine, plan_info
    from .gpu import cuda_device_gpu, import_tensorrt, installed_tensorrt_version
    from .sidecar import sidecar_path, write_sidecar
    from .trtexec import (
        find_trtexec,
        format_command,
        run_trtexec,
        tensorrt_version_from_output,
        trtexec_command,
    )

    interface, profile, options = _engine_setup(args)
    plan = args.output or Path(args.onnx).with_suffix(".plan")
    print(
        f"profile for '{interface.input.name}': batch min {profile.min} / opt {profile.opt} / "
        f"max {profile.max} (from {interface.source})"
    )
    if args.trtexec or args.run_trtexec:
        executable = find_trtexec(args.trtexec_path) if args.run_trtexec else args.trtexec_path
        command = trtexec_command(
            args.onnx,
            plan,
            interface,
            profile,
            workspace_mib=args.workspace_mib,
            timing_cache=args.timing_cache,
            version_compatible=args.version_compatible,
            hardware_compatibility=args.hardware_compatibility,
            device=args.device,
            trtexec=executable,
        )
        print(format_command(command))
        if not args.run_trtexec:
            return
        gpu = cuda_device_gpu(args.device or 0)
        started = time.monotonic()
        output = run_trtexec(command, args.timeout)
        version = tensorrt_version_from_output(output) or installed_tensorrt_version()
        if version is None:
            raise BuildError("could not tell which TensorRT trtexec used; its banner had no version")
        info = plan_info(
            plan,
            Path(args.onnx),
            interface,
            profile,
            options,
            tensorrt_version=version,
            gpu=gpu,
            builder="trtexec",
            seconds=time.monotonic() - started,
        )
    else:
        import_tensorrt()  # say first that TensorRT is missing, the usual case off the GPU machine
        gpu = cuda_device_gpu(args.device or 0)
        info = build_engine(args.onnx, plan, interface, profile, options, gpu)
    write_sidecar(info, sidecar_path(plan))
    print(
        f"wrote {plan} ({info.precision}, TensorRT {info.tensorrt_version}, {info.gpu_name}, compute "
        f"{info.compute_capability}, {info.build_seconds:.0f}s) and {sidecar_path(plan)}"
    )


def _cmd_install(args: argparse.Namespace) -> None:
    from .install import install_plan, sync_config

    config = args.model_dir / "config.pbtxt"
    if args.plan is not None:
        destination = install_plan(args.plan, args.model_dir, config)
        print(f"installed {destination}")
    filenames = sync_config(config, args.model_dir / "1")
    listed = ", ".join(f"{cc}: {name}" for cc, name in sorted(filenames.items())) or "none"
    print(f"cc_model_filenames in {config}: {listed}")


def _cmd_check(args: argparse.Namespace) -> int:
    from .check import check_plan, check_repository, has_errors
    from .gpu import GpuInfo, installed_tensorrt_version, parse_compute_capability, query_gpus
    from .repository import interface_from_config, read_config

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
        return 1
    print("ok: Triton can load the plan" + ("" if gpus and tensorrt_version else " (as far as checked)"))
    return 0


def _cmd_verify(args: argparse.Namespace) -> None:
    from .agreement import format_table, require, write_report
    from .repository import load_interface
    from .sidecar import read_sidecar, sidecar_path
    from .verify import verify_plan

    interface = load_interface(args.densenet_config)
    info = read_sidecar(sidecar_path(args.plan))
    if not Path(args.plan).exists():
        raise PlanMismatchError(f"{args.plan} does not exist")
    samples, names = _load(args, args.samples_dir)
    rows = verify_plan(args.plan, info, args.reference, samples, interface)
    print(format_table(rows, args.min_top1))
    report = write_report(
        args.report or Path(args.plan).with_name(Path(args.plan).stem + "-verify.json"),
        rows,
        reference=f"{args.reference} (ONNX Runtime CPU)",
        plan=asdict(info),
        min_top1_agreement=args.min_top1,
        samples_dir=str(args.samples_dir),
        images=names,
    )
    print(f"wrote {report}")
    require(rows, args.min_top1)


def register(commands: argparse._SubParsersAction) -> None:
    """Add the pipeline's subcommands to the ``densenet-build`` parser."""
    from .calibration import CALIBRATION_METHODS
    from .int8 import DEFAULT_HELD_OUT, DEFAULT_TARGET
    from .precision import PRECISIONS
    from .trtexec import HARDWARE_LEVELS

    samples = commands.add_parser(
        "samples",
        help="write sample/calibration JPEGs made from the photographs in scikit-image's wheel",
        description="Write COUNT JPEGs cut from real photographs (cat, coffee, astronaut, rocket, "
        "motorcycle, Hubble deep field...) shipped in scikit-image's wheel; the first pass is uncropped, "
        "later ones are random crops and flips. Different --seed values give different sets "
        "(calibration vs evaluation).",
    )
    samples.add_argument("output", type=Path)
    samples.add_argument("--count", type=_positive, default=48, help="number of images (default 48)")
    samples.add_argument("--seed", type=int, default=0, help="seed of the crops and flips (default 0)")
    samples.set_defaults(func=_cmd_samples)

    prepare = commands.add_parser(
        "prepare",
        help="check and prepare an ONNX model: opset/IR, dynamic batch, interface, optional simplification",
        description="Check the IR version and opset against the installed onnxruntime and TensorRT's parser "
        "(upgrading opsets below 13, which explicit int8 needs), make the batch dimension dynamic, refuse "
        "a model whose input/output names, types or dims differ from the densenet config, and optionally "
        "fold constants with ONNX GraphSurgeon.",
    )
    prepare.add_argument("input", type=Path)
    prepare.add_argument("output", type=Path)
    prepare.add_argument("--simplify", action="store_true", help="fold constants and drop dead nodes")
    _add_config(prepare)
    prepare.set_defaults(func=_cmd_prepare)

    variants = commands.add_parser(
        "variants",
        help="make fp32/fp16/int8 ONNX variants and measure their agreement with fp32",
        description="Write model_fp32.onnx, model_fp16.onnx (I/O kept FP32) and model_int8.onnx (explicit "
        "Q/DQ, symmetric, per-channel weights, calibrated on images through the server's preprocessing; "
        "the layers int8 harms most, measured one by one on held-out calibration images, kept in "
        "fp16 until --target-agreement is reached), then run each on ONNX Runtime CPU over "
        "--samples-dir and print top-1 agreement, top-5 overlap and logit differences against fp32. "
        "Exits 1 if a variant is below --min-top1.",
    )
    variants.add_argument("onnx", type=Path, help="the prepared fp32 model")
    variants.add_argument("--output-dir", type=Path, default=ENGINE_DIR, help=f"(default {ENGINE_DIR})")
    variants.add_argument(
        "--precision", nargs="+", choices=PRECISIONS, default=["fp16", "int8"], help="(default fp16 int8)"
    )
    _add_images(variants, "--samples-dir", "to evaluate the variants on")
    variants.add_argument(
        "--calibration-dir", type=Path, help="folder of JPEG/PNG images for int8 calibration"
    )
    variants.add_argument(
        "--calibration-method",
        choices=CALIBRATION_METHODS,
        default="minmax",
        help="activation ranges: minmax (the observed maximum, NVIDIA's usual choice for CNNs; default) "
        "or percentile (the 99.999th percentile, clipping outliers)",
    )
    variants.add_argument(
        "--target-agreement",
        type=_fraction,
        default=DEFAULT_TARGET,
        help="int8: keep the layers int8 harms most in fp16 until the top-1 agreement with fp32 on the "
        f"held-out calibration images reaches this (default {DEFAULT_TARGET}; 0: every layer int8). "
        "Exits 1 if no split reaches it",
    )
    variants.add_argument(
        "--held-out",
        type=_fraction,
        default=DEFAULT_HELD_OUT,
        help="int8: fraction of the calibration images kept out of calibration to measure agreement on "
        f"(default {DEFAULT_HELD_OUT}; 0: calibrate on all and measure on the same, optimistic)",
    )
    variants.add_argument(
        "--no-cache",
        action="store_true",
        help="int8: recalibrate and search again (default: reuse OUTPUT_DIR/int8-cache when the model, "
        "images and options are unchanged)",
    )
    _add_threshold(variants)
    variants.add_argument("--report", type=Path, help="JSON report (default OUTPUT_DIR/variants.json)")
    _add_config(variants)
    variants.set_defaults(func=_cmd_variants)

    engine = commands.add_parser(
        "engine",
        help="build the TensorRT plan from an ONNX variant (TensorRT Python API, or trtexec)",
        description="Build a strongly typed TensorRT plan (precision comes from the ONNX variant) with one "
        "optimization profile from the densenet config (min 1, opt = largest preferred batch size, max = "
        "max_batch_size), a workspace limit and a persisted timing cache; writes PLAN and its JSON sidecar. "
        "Needs TensorRT and the GPU the plan is for. --trtexec prints the equivalent trtexec command "
        "instead.",
    )
    engine.add_argument("onnx", type=Path, help="an ONNX variant (model_fp16.onnx, ...)")
    engine.add_argument("--output", type=Path, help="plan file (default: the ONNX path with .plan)")
    engine.add_argument(
        "--workspace-mib", type=_positive, default=4096, help="workspace limit (default 4096)"
    )
    engine.add_argument(
        "--timing-cache", type=Path, help="timing cache file, reused and updated (speeds up rebuilds)"
    )
    engine.add_argument(
        "--version-compatible",
        action="store_true",
        help="plan also loads on later TensorRT releases of the same major version",
    )
    engine.add_argument(
        "--hardware-compatibility",
        choices=list(HARDWARE_LEVELS),
        default="none",
        help="ampere_plus: one plan for every GPU of compute >= 8.0 (slower); default none",
    )
    engine.add_argument("--opt-batch", type=_positive, help="override the profile's opt batch size")
    engine.add_argument("--device", type=int, help="CUDA device to build on (default 0)")
    engine.add_argument("--trtexec", action="store_true", help="only print the equivalent trtexec command")
    engine.add_argument(
        "--run-trtexec", action="store_true", help="build with trtexec instead of the Python API"
    )
    engine.add_argument("--trtexec-path", default="trtexec", help="trtexec executable (default: from PATH)")
    engine.add_argument(
        "--timeout", type=float, default=3600.0, help="trtexec time limit, seconds (default 3600)"
    )
    _add_config(engine)
    engine.set_defaults(func=_cmd_engine)

    install = commands.add_parser(
        "install",
        help="copy a plan into the repository as model_sm<XY>.plan and sync cc_model_filenames",
        description="Copy PLAN and its sidecar to MODEL_DIR/1/model_sm<XY>.plan/.json (XY: the compute "
        "capability it was built for) and rewrite cc_model_filenames in MODEL_DIR/config.pbtxt to list "
        "exactly the plans present (comments kept). Without PLAN, only the config is synced.",
    )
    install.add_argument("plan", type=Path, nargs="?", help="a plan written by `densenet-build engine`")
    install.add_argument("--model-dir", type=Path, default=MODEL_DIR, help=f"(default {MODEL_DIR})")
    install.set_defaults(func=_cmd_install)

    check = commands.add_parser(
        "check",
        help="explain, before Triton tries, whether the installed plans fit this TensorRT and GPU",
        description="Compare each plan's sidecar with the running TensorRT and GPU (or the values given) "
        "and with the densenet config, and explain every mismatch. Exits 1 if Triton would refuse the plan.",
    )
    check.add_argument("plan", type=Path, nargs="?", help="check one plan (default: the repository's plans)")
    check.add_argument("--model-dir", type=Path, default=MODEL_DIR, help=f"(default {MODEL_DIR})")
    check.add_argument(
        "--tensorrt-version", help="the TensorRT that will load it (default: the installed one)"
    )
    check.add_argument(
        "--compute-capability", help="the target GPU's compute capability (default: nvidia-smi)"
    )
    check.add_argument("--gpu-name", help="the target GPU's name, with --compute-capability")
    check.set_defaults(func=_cmd_check)

    verify = commands.add_parser(
        "verify",
        help="run the plan with TensorRT on sample images and compare it with ONNX Runtime fp32",
        description="Run PLAN on the GPU over --samples-dir (through the server's preprocessing) and print "
        "the same agreement table as `variants`, against --reference on ONNX Runtime CPU.",
    )
    verify.add_argument("plan", type=Path)
    verify.add_argument("--reference", type=Path, required=True, help="the fp32 ONNX model (model_fp32.onnx)")
    _add_images(verify, "--samples-dir", "to compare on")
    _add_threshold(verify)
    verify.add_argument("--report", type=Path, help="JSON report (default PLAN-verify.json)")
    _add_config(verify)
    verify.set_defaults(func=_cmd_verify)
