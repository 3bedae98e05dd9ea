"""Step 4, engine: ONNX → TensorRT plan with the TensorRT Python API, on TensorRT 10 and 11.

Written against what both releases share, feature-detected where they differ:
- the network is strongly typed (precision comes from the ONNX variant); the creation flag is
  looked up by name because its value changed (10.x: 1, 11.x: 0) and 11.x ignores it;
- no ``BuilderFlag.FP16/INT8``, calibrators, ``EXPLICIT_BATCH`` or ``platform_has_fast_*``: all
  removed in 11.x;
- version- and hardware-compatible builds are used only when asked for and only if this TensorRT
  has them.
``tensorrt`` is imported here alone, lazily: every other step runs without it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import onnx

from ..acquire.sources import sha256_of
from ..acquire.zoo import WEIGHTS_KEY
from ..errors import EngineBuildError
from ..precision.variants import read_precision
from ..repository.configs import ModelInterface
from .gpu import GpuInfo, import_tensorrt
from .profile import BatchProfile
from .sidecar import PlanInfo

LOGGER = logging.getLogger(__name__)
HARDWARE_LEVELS = {
    "none": "NONE",
    "ampere_plus": "AMPERE_PLUS",
    "same_compute_capability": "SAME_COMPUTE_CAPABILITY",
}


@dataclass(frozen=True)
class EngineOptions:
    workspace_mib: int = 4096
    timing_cache: Path | None = None
    version_compatible: bool = False
    hardware_compatibility: str = "none"  # a key of HARDWARE_LEVELS
    verbose: bool = False


def build_flags(options: EngineOptions) -> list[str]:
    """The sidecar's record of how the plan was built."""
    flags = ["STRONGLY_TYPED", f"WORKSPACE={options.workspace_mib}MiB"]
    if options.timing_cache is not None:
        flags.append("TIMING_CACHE")
    if options.version_compatible:
        flags.append("VERSION_COMPATIBLE")
    if options.hardware_compatibility != "none":
        flags.append(f"HARDWARE_COMPATIBILITY={HARDWARE_LEVELS[options.hardware_compatibility]}")
    return flags


def onnx_facts(onnx_path: Path) -> tuple[str, str]:
    """(precision, weights) recorded in the ONNX variant's metadata."""
    model = onnx.load(str(onnx_path), load_external_data=False)
    props = {p.key: p.value for p in model.metadata_props}
    return read_precision(model) or "fp32", props.get(WEIGHTS_KEY, "unknown")


def plan_info(
    plan_path: Path,
    onnx_path: Path,
    interface: ModelInterface,
    profile: BatchProfile,
    options: EngineOptions,
    *,
    tensorrt_version: str,
    gpu: GpuInfo,
    builder: str,
    seconds: float,
) -> PlanInfo:
    """The sidecar of a freshly built plan."""
    precision, weights = onnx_facts(onnx_path)
    shapes = profile.shapes(interface.input.dims)
    return PlanInfo(
        plan_file=plan_path.name,
        plan_sha256=sha256_of(plan_path),
        tensorrt_version=tensorrt_version,
        gpu_name=gpu.name,
        compute_capability=gpu.compute_capability,
        precision=precision,
        profile={"input": interface.input.name, **{k: list(v) for k, v in shapes.items()}},
        onnx_file=onnx_path.name,
        onnx_sha256=sha256_of(onnx_path),
        weights=weights,
        build_flags=build_flags(options),
        version_compatible=options.version_compatible,
        hardware_compatibility=options.hardware_compatibility,
        builder=builder,
        built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        build_seconds=round(seconds, 1),
    )


def _strongly_typed_flags(trt) -> int:  # type: ignore[no-untyped-def]
    flag = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    # Absent once TensorRT drops the flag altogether: every network is then strongly typed.
    return 0 if flag is None else 1 << int(flag)


def _parse(trt, network, logger, onnx_path: Path) -> None:  # type: ignore[no-untyped-def]
    parser = trt.OnnxParser(network, logger)
    ok = parser.parse_from_file(str(onnx_path))
    errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
    if not ok or errors:
        lines = "\n".join(f"  {e}" for e in errors) or "  (no details; is it an ONNX file?)"
        raise EngineBuildError(f"TensorRT's ONNX parser refused {onnx_path}:\n{lines}")


def _check_network(network, interface: ModelInterface) -> None:  # type: ignore[no-untyped-def]
    inputs = [network.get_input(i) for i in range(network.num_inputs)]
    outputs = [network.get_output(i) for i in range(network.num_outputs)]
    if [t.name for t in inputs] != [interface.input.name] or [t.name for t in outputs] != [
        interface.output.name
    ]:
        raise EngineBuildError(
            f"the network's inputs {[t.name for t in inputs]} / outputs {[t.name for t in outputs]} "
            f"differ from {interface.source} ('{interface.input.name}' / '{interface.output.name}')"
        )
    if inputs[0].shape[0] != -1:
        # Triton: "model ... first dimension must be -1" - the batch must be dynamic.
        raise EngineBuildError(
            f"'{inputs[0].name}' has a fixed batch of {inputs[0].shape[0]}; "
            "run `densenet-build prepare` first"
        )


def _set_timing_cache(config, path: Path | None) -> None:  # type: ignore[no-untyped-def]
    data = path.read_bytes() if path is not None and path.exists() else b""
    cache = config.create_timing_cache(data)
    if cache is None or not config.set_timing_cache(cache, ignore_mismatch=False):
        LOGGER.warning("timing cache %s was made by another TensorRT or GPU; starting a new one", path)
        config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False)
    elif data:
        LOGGER.info("reusing timing cache %s (%d bytes)", path, len(data))


def _save_timing_cache(config, path: Path) -> None:  # type: ignore[no-untyped-def]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(bytes(config.get_timing_cache().serialize()))
    partial.replace(path)


def _compatibility(trt, config, options: EngineOptions) -> None:  # type: ignore[no-untyped-def]
    if options.version_compatible:
        flag = getattr(trt.BuilderFlag, "VERSION_COMPATIBLE", None)
        if flag is None:
            raise EngineBuildError(f"TensorRT {trt.__version__} cannot build version-compatible plans")
        config.set_flag(flag)
    if options.hardware_compatibility != "none":
        levels = getattr(trt, "HardwareCompatibilityLevel", None)
        level = getattr(levels, HARDWARE_LEVELS[options.hardware_compatibility], None)
        if level is None or not hasattr(config, "hardware_compatibility_level"):
            raise EngineBuildError(
                f"TensorRT {trt.__version__} has no hardware compatibility level "
                f"{HARDWARE_LEVELS[options.hardware_compatibility]}"
            )
        config.hardware_compatibility_level = level


def build_engine(
    onnx_path: str | Path,
    plan_path: str | Path,
    interface: ModelInterface,
    profile: BatchProfile,
    options: EngineOptions,
    gpu: GpuInfo,
) -> PlanInfo:
    """Build and write the plan; return its sidecar record (not yet written)."""
    trt = import_tensorrt()
    onnx_path, plan_path = Path(onnx_path), Path(plan_path)
    started = time.monotonic()
    logger = trt.Logger(trt.Logger.VERBOSE if options.verbose else trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(_strongly_typed_flags(trt))
    _parse(trt, network, logger, onnx_path)
    _check_network(network, interface)

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, options.workspace_mib << 20)
    optimization_profile = builder.create_optimization_profile()
    shapes = profile.shapes(interface.input.dims)
    optimization_profile.set_shape(interface.input.name, shapes["min"], shapes["opt"], shapes["max"])
    config.add_optimization_profile(optimization_profile)
    _set_timing_cache(config, options.timing_cache)
    _compatibility(trt, config, options)

    LOGGER.info("building the plan on %s (compute %s); this takes minutes", gpu.name, gpu.compute_capability)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EngineBuildError("TensorRT could not build the engine; its log above says why")
    plan_path.parent.mkdir(parents=True, exist_ok=True)
    partial = plan_path.with_name(plan_path.name + ".part")
    partial.write_bytes(bytes(serialized))
    partial.replace(plan_path)
    if options.timing_cache is not None:
        _save_timing_cache(config, options.timing_cache)
    return plan_info(
        plan_path,
        onnx_path,
        interface,
        profile,
        options,
        tensorrt_version=str(trt.__version__),
        gpu=gpu,
        builder="tensorrt-python",
        seconds=time.monotonic() - started,
    )


def build_plan(
    onnx_path: str | Path,
    plan: str | Path,
    interface: ModelInterface,
    profile: BatchProfile,
    options: EngineOptions,
    *,
    device: int | None = None,
    trtexec: list[str] | None = None,
    timeout_s: float = 3600.0,
) -> PlanInfo:
    """Build ``plan`` end to end and write its sidecar: with the TensorRT Python API, or by running
    ``trtexec`` (the command ``trtexec_command`` made) when given."""
    from .gpu import cuda_device_gpu, installed_tensorrt_version
    from .sidecar import sidecar_path, write_sidecar
    from .trtexec import run_trtexec, tensorrt_version_from_output

    plan = Path(plan)
    if trtexec is None:
        import_tensorrt()  # say first that TensorRT is missing, the usual case off the GPU machine
        info = build_engine(onnx_path, plan, interface, profile, options, cuda_device_gpu(device or 0))
    else:
        gpu = cuda_device_gpu(device or 0)
        started = time.monotonic()
        output = run_trtexec(trtexec, timeout_s)
        version = tensorrt_version_from_output(output) or installed_tensorrt_version()
        if version is None:
            raise EngineBuildError("could not tell which TensorRT trtexec used; its banner had no version")
        info = plan_info(
            plan,
            Path(onnx_path),
            interface,
            profile,
            options,
            tensorrt_version=version,
            gpu=gpu,
            builder="trtexec",
            seconds=time.monotonic() - started,
        )
    write_sidecar(info, sidecar_path(plan))
    return info
