"""Step 4, engine: ONNX → TensorRT plan on NVIDIA Polygraphy's loaders, on TensorRT 10 and 11.

``NetworkFromOnnxPath`` parses the ONNX, ``CreateConfig`` sets the builder up and
``EngineBytesFromNetwork`` builds; what this module adds is what those loaders are given, written
against what both TensorRT releases share and feature-detected where they differ (:func:`network_arguments`,
:func:`config_arguments`):
- the network is strongly typed (precision comes from the ONNX variant) wherever this TensorRT has the
  creation flag; once it drops the flag every network is strongly typed;
- no fp16/int8 builder flags, calibrators or ``EXPLICIT_BATCH``: all removed in 11.x;
- version- and hardware-compatible builds are used only when asked for and only if this TensorRT
  has them;
- TensorRT's own defaults stay where ``CreateConfig`` would change them (TF32 on, layer names only
  in the plan), and the timing cache is reused only if this TensorRT and GPU made it.
``tensorrt`` and Polygraphy are imported lazily: every other step runs without them.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from densenet_contract.files import write_atomically
from densenet_contract.names import WEIGHTS_KEY
from densenet_contract.onnx_metadata import read_metadata

from ..acquire.download import sha256_of
from ..errors import EngineBuildError
from ..precision.metadata import PRECISION_KEY
from ..repository.configs import ModelInterface
from .gpu import GpuInfo, cuda_device_gpu, import_polygraphy_trt, import_tensorrt, installed_tensorrt_version
from .options import HARDWARE_LEVELS, EngineOptions, build_flags
from .profile import BatchProfile
from .sidecar import PlanInfo, sidecar_path, write_sidecar
from .trtexec import run_trtexec, tensorrt_version_from_output

LOGGER = logging.getLogger(__name__)


def onnx_facts(onnx_path: Path) -> tuple[str, str]:
    """(precision, weights) recorded in the ONNX variant's metadata."""
    props = read_metadata(onnx_path)
    return props.get(PRECISION_KEY) or "fp32", props.get(WEIGHTS_KEY, "unknown")


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


def network_arguments(trt: Any) -> dict[str, Any]:
    """``NetworkFromOnnxPath``'s options: strongly typed wherever this TensorRT has the flag."""
    return {"strongly_typed": hasattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED")}


def config_arguments(
    trt: Any, polygraphy_trt: Any, interface: ModelInterface, profile: BatchProfile, options: EngineOptions
) -> dict[str, Any]:
    """``CreateConfig``'s options: the profile, the workspace, compatibility, TensorRT's defaults kept."""
    shapes = profile.shapes(interface.input.dims)
    arguments: dict[str, Any] = {
        "profiles": [
            polygraphy_trt.Profile().add(interface.input.name, shapes["min"], shapes["opt"], shapes["max"])
        ],
        "memory_pool_limits": {trt.MemoryPoolType.WORKSPACE: options.workspace_mib << 20},
        # CreateConfig clears TF32 and records DETAILED layer information unless told otherwise.
        "tf32": hasattr(trt.BuilderFlag, "TF32"),
        "profiling_verbosity": getattr(trt.ProfilingVerbosity, "LAYER_NAMES_ONLY", None),
    }
    if options.version_compatible:
        if not hasattr(trt.BuilderFlag, "VERSION_COMPATIBLE"):
            raise EngineBuildError(f"TensorRT {trt.__version__} cannot build version-compatible plans")
        arguments["version_compatible"] = True
    if options.hardware_compatibility != "none":
        name = HARDWARE_LEVELS[options.hardware_compatibility]
        level = getattr(getattr(trt, "HardwareCompatibilityLevel", None), name, None)
        if level is None:
            raise EngineBuildError(f"TensorRT {trt.__version__} has no hardware compatibility level {name}")
        arguments["hardware_compatibility_level"] = level
    return arguments


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
    """Use the cache at ``path`` if this TensorRT and GPU made it; else (or without one) a new one."""
    data = path.read_bytes() if path is not None and path.exists() else b""
    cache = config.create_timing_cache(data)
    if cache is None or not config.set_timing_cache(cache, ignore_mismatch=False):
        LOGGER.warning("timing cache %s was made by another TensorRT or GPU; starting a new one", path)
        config.set_timing_cache(config.create_timing_cache(b""), ignore_mismatch=False)
    elif data:
        LOGGER.info("reusing timing cache %s (%d bytes)", path, len(data))


def _run(loader, failure: str):  # type: ignore[no-untyped-def]
    """Call a Polygraphy loader; its failures (logged by Polygraphy above) become EngineBuildError."""
    from polygraphy.exception import PolygraphyException

    try:
        return loader()
    except PolygraphyException as error:
        raise EngineBuildError(f"{failure} ({error}); its log above says why") from None


def build_engine(
    onnx_path: str | Path,
    plan_path: str | Path,
    interface: ModelInterface,
    profile: BatchProfile,
    options: EngineOptions,
    gpu: GpuInfo,
) -> PlanInfo:
    """Build and write the plan; return its sidecar record (not yet written)."""
    trt, polygraphy_trt = import_tensorrt(), import_polygraphy_trt()
    from polygraphy.logger import G_LOGGER

    onnx_path, plan_path = Path(onnx_path), Path(plan_path)
    started = time.monotonic()
    # TensorRT's messages reach Polygraphy's logger: warnings and errors, everything with --verbose.
    with G_LOGGER.verbosity(G_LOGGER.EXTRA_VERBOSE if options.verbose else G_LOGGER.WARNING):
        network = polygraphy_trt.NetworkFromOnnxPath(str(onnx_path), **network_arguments(trt))
        builder, definition, parser = _run(network, f"TensorRT's ONNX parser refused {onnx_path}")
        _check_network(definition, interface)
        create_config = polygraphy_trt.CreateConfig(
            **config_arguments(trt, polygraphy_trt, interface, profile, options)
        )
        config = _run(lambda: create_config(builder, definition), "TensorRT refused the build options")
        _set_timing_cache(config, options.timing_cache)
        LOGGER.info(
            "building the plan on %s (compute %s); this takes minutes", gpu.name, gpu.compute_capability
        )
        engine = polygraphy_trt.EngineBytesFromNetwork((builder, definition, parser), config=config)
        serialized = _run(engine, "TensorRT could not build the engine")
    write_atomically(plan_path, bytes(serialized))
    if options.timing_cache is not None:
        write_atomically(options.timing_cache, bytes(config.get_timing_cache().serialize()))
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
    """Build ``plan`` end to end and write its sidecar: on Polygraphy's loaders, or by running
    ``trtexec`` (the command ``trtexec_command`` made) when given."""
    plan = Path(plan)
    if trtexec is None:
        import_polygraphy_trt()  # say first that TensorRT is missing, the usual case off the GPU machine
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
