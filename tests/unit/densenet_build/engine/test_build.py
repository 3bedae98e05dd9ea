"""The engine step on Polygraphy's real loaders, with a stand-in ``tensorrt`` module where TensorRT is
missing: what the loaders are given and what becomes of their results (the plan, the timing cache,
the sidecar, the errors). The real build runs in test_tensorrt.py, on a GPU machine.
"""

from __future__ import annotations

import enum
import importlib.util
import logging
import sys
import types
from dataclasses import replace
from pathlib import Path

import onnx
import pytest

from densenet_build.engine.build import EngineOptions, build_engine, config_arguments, network_arguments
from densenet_build.engine.gpu import GpuInfo
from densenet_build.engine.profile import batch_profile
from densenet_build.errors import EngineBuildError
from densenet_build.repository.configs import DEFAULT_INTERFACE

pytestmark = [
    pytest.mark.may_skip("where TensorRT is installed test_tensorrt.py runs instead"),
    pytest.mark.skipif(
        importlib.util.find_spec("tensorrt") is not None,
        reason="TensorRT is installed: test_tensorrt.py builds real plans instead of a stand-in",
    ),
]
pytest.importorskip("polygraphy", reason="the engine step runs on Polygraphy (requirements/engine.txt)")

PLAN_BYTES = b"serialized plan"
GPU = GpuInfo("NVIDIA A10", "8.6")
PROFILE = batch_profile(DEFAULT_INTERFACE)


class _Tensor:
    def __init__(self, value: onnx.ValueInfoProto) -> None:
        self.name = value.name
        dims = value.type.tensor_type.shape.dim
        self.shape = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in dims)
        self.is_shape_tensor = False
        self.dtype = "float32"


class _Network:
    def __init__(self, flags: int) -> None:
        self.flags, self.inputs, self.outputs = flags, [], []

    num_inputs = property(lambda self: len(self.inputs))
    num_outputs = property(lambda self: len(self.outputs))

    def get_input(self, index):
        return self.inputs[index]

    def get_output(self, index):
        return self.outputs[index]

    def get_flag(self, flag) -> bool:
        return bool(self.flags & (1 << int(flag)))

    def __iter__(self):
        return iter(())  # no layers to inspect


class _Parser:
    errors: list[str] = []  # noqa: RUF012 - set per test

    def __init__(self, network: _Network, logger) -> None:
        self.network, self.flags = network, 0

    def parse_from_file(self, path: str) -> bool:
        model = onnx.load(path, load_external_data=False)
        weights = {t.name for t in model.graph.initializer}
        self.network.inputs = [_Tensor(v) for v in model.graph.input if v.name not in weights]
        self.network.outputs = [_Tensor(v) for v in model.graph.output]
        return not self.errors

    num_errors = property(lambda self: len(self.errors))

    def get_error(self, index):
        return self.errors[index]


class _Cache:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def serialize(self) -> bytes:
        return b"timing cache after " + (self.data or b"nothing")


class _Profile:
    def __init__(self) -> None:
        self.shapes = {}

    def set_shape(self, name, min, opt, max) -> None:
        self.shapes[name] = (tuple(min), tuple(opt), tuple(max))


def fake_tensorrt(*, strongly_typed: bool = True, compatible: bool = True) -> types.ModuleType:
    """The part of TensorRT 10's Python API the engine step and Polygraphy's loaders touch."""
    trt = types.ModuleType("tensorrt")
    trt.__version__ = "10.13.3.9"
    trt.__file__ = __file__
    trt.ILogger = type("ILogger", (), {"__init__": lambda self: None})
    trt.Logger = types.SimpleNamespace(INTERNAL_ERROR=0, ERROR=1, WARNING=2, INFO=3, VERBOSE=4)
    creation = {"EXPLICIT_BATCH": 0, **({"STRONGLY_TYPED": 1} if strongly_typed else {})}
    trt.NetworkDefinitionCreationFlag = enum.IntEnum("NetworkDefinitionCreationFlag", creation)
    builder_flags = {"TF32": 0, "FP16": 1, "INT8": 2, **({"VERSION_COMPATIBLE": 3} if compatible else {})}
    trt.BuilderFlag = enum.IntEnum("BuilderFlag", builder_flags)
    trt.MemoryPoolType = enum.IntEnum("MemoryPoolType", {"WORKSPACE": 0})
    trt.ProfilingVerbosity = enum.IntEnum("ProfilingVerbosity", {"LAYER_NAMES_ONLY": 0, "DETAILED": 2})
    trt.DeviceType = enum.IntEnum("DeviceType", {"GPU": 0, "DLA": 1})
    if compatible:
        levels = {"NONE": 0, "AMPERE_PLUS": 1, "SAME_COMPUTE_CAPABILITY": 2}
        trt.HardwareCompatibilityLevel = enum.IntEnum("HardwareCompatibilityLevel", levels)
    trt.init_libnvinfer_plugins = lambda logger, namespace: True
    trt.OnnxParser = _Parser

    class Config:
        DLA_core, default_device_type = -1, trt.DeviceType.GPU

        def __init__(self) -> None:
            self.flags = {trt.BuilderFlag.TF32}  # TensorRT's default
            self.pools, self.profiles, self.cache = {}, [], None
            self.profiling_verbosity = trt.ProfilingVerbosity.LAYER_NAMES_ONLY

        num_optimization_profiles = property(lambda self: len(self.profiles))
        set_flag = lambda self, flag: self.flags.add(flag)  # noqa: E731
        clear_flag = lambda self, flag: self.flags.discard(flag)  # noqa: E731
        get_flag = lambda self, flag: flag in self.flags  # noqa: E731
        set_memory_pool_limit = lambda self, pool, size: self.pools.__setitem__(pool, size)  # noqa: E731
        get_memory_pool_limit = lambda self, pool: self.pools.get(pool, 0)  # noqa: E731
        add_optimization_profile = lambda self, profile: self.profiles.append(profile)  # noqa: E731
        create_timing_cache = lambda self, data: _Cache(bytes(data))  # noqa: E731
        get_timing_cache = lambda self: self.cache  # noqa: E731

        def set_timing_cache(self, cache, ignore_mismatch) -> bool:
            if cache.data.startswith(b"other"):  # made by another TensorRT or GPU
                return False
            self.cache = cache
            return True

    class Builder:
        plan: bytes | None = PLAN_BYTES

        def __init__(self, logger) -> None:
            self.built = None

        def create_network(self, flags=0):
            return _Network(flags)

        def create_builder_config(self):
            return Config()

        def create_optimization_profile(self):
            return _Profile()

        def build_serialized_network(self, network, config):
            self.built = (network, config)
            return self.plan

    trt.Builder = Builder
    return trt


@pytest.fixture
def tensorrt(monkeypatch):
    """Install a stand-in ``tensorrt``; afterwards Polygraphy forgets it (its lazy imports cache)."""
    built, installed = [], []

    def install(**changes):
        trt = fake_tensorrt(**changes)
        installed.append(trt)
        original = trt.Builder.build_serialized_network

        def record(self, network, config):
            built.append((network, config))
            return original(self, network, config)

        trt.Builder.build_serialized_network = record
        trt.built = built
        monkeypatch.setitem(sys.modules, "tensorrt", trt)
        return trt

    yield install
    _Parser.errors = []
    for module in [m for name, m in sys.modules.items() if name.startswith("polygraphy")]:
        for value in list(vars(module).values()):
            if type(value).__name__ == "LazyModule" and any(
                object.__getattribute__(value, "module") is trt for trt in installed
            ):
                object.__setattr__(value, "module", None)
    from polygraphy.backend.trt import util as trt_util

    trt_util.TRT_LOGGER = None  # made from the stand-in's ILogger


def _build(onnx_path: Path, tmp_path: Path, **options):
    options = EngineOptions(**{"workspace_mib": 1024, **options})
    return build_engine(onnx_path, tmp_path / "model.plan", DEFAULT_INTERFACE, PROFILE, options, GPU)


def test_the_loaders_get_todays_build(tensorrt, tiny_onnx, tmp_path):
    trt = tensorrt()
    cache = tmp_path / "timing.cache"
    info = _build(tiny_onnx, tmp_path, timing_cache=cache, version_compatible=True)
    ((network, config),) = trt.built
    assert network.flags == 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    assert [p.shapes for p in config.profiles] == [
        {"data_0": ((1, 3, 224, 224), (16, 3, 224, 224), (32, 3, 224, 224))}
    ]
    assert config.pools == {trt.MemoryPoolType.WORKSPACE: 1024 << 20}
    assert config.flags == {trt.BuilderFlag.TF32, trt.BuilderFlag.VERSION_COMPATIBLE}  # no FP16/INT8
    assert config.profiling_verbosity == trt.ProfilingVerbosity.LAYER_NAMES_ONLY  # TensorRT's default
    assert not hasattr(config, "hardware_compatibility_level")
    assert (tmp_path / "model.plan").read_bytes() == PLAN_BYTES
    assert cache.read_bytes() == b"timing cache after nothing"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "model.plan",
        "timing.cache",
        "tiny.onnx",
    ]  # no .part
    assert (info.tensorrt_version, info.builder, info.precision) == ("10.13.3.9", "tensorrt-python", "fp32")
    assert info.build_flags == ["STRONGLY_TYPED", "WORKSPACE=1024MiB", "TIMING_CACHE", "VERSION_COMPATIBLE"]


def test_hardware_compatibility_level_and_no_strongly_typed_flag(tensorrt, tiny_onnx, tmp_path):
    trt = tensorrt(strongly_typed=False)  # a TensorRT whose networks are all strongly typed
    _build(tiny_onnx, tmp_path, hardware_compatibility="ampere_plus")
    ((network, config),) = trt.built
    assert network.flags == 0
    assert config.hardware_compatibility_level == trt.HardwareCompatibilityLevel.AMPERE_PLUS


def test_timing_cache_is_reused_or_replaced_with_a_warning(tensorrt, tiny_onnx, tmp_path, caplog):
    tensorrt()
    cache = tmp_path / "timing.cache"
    cache.write_bytes(b"mine")
    with caplog.at_level(logging.INFO, logger="densenet_build"):
        _build(tiny_onnx, tmp_path, timing_cache=cache)
    assert f"reusing timing cache {cache} (4 bytes)" in caplog.text
    assert cache.read_bytes() == b"timing cache after mine"
    cache.write_bytes(b"other TensorRT's")
    caplog.clear()
    _build(tiny_onnx, tmp_path, timing_cache=cache)
    assert "was made by another TensorRT or GPU; starting a new one" in caplog.text
    assert cache.read_bytes() == b"timing cache after nothing"


def test_build_failures_say_what_failed(tensorrt, tiny_onnx, make_tiny, tmp_path):
    trt = tensorrt()
    trt.Builder.plan = None
    with pytest.raises(
        EngineBuildError, match=r"TensorRT could not build the engine .*its log above says why"
    ):
        _build(tiny_onnx, tmp_path)
    assert not list(tmp_path.glob("model.plan*"))
    trt.Builder.plan = PLAN_BYTES
    _Parser.errors = ["In node 0 (Conv): unsupported"]
    with pytest.raises(EngineBuildError, match=r"TensorRT's ONNX parser refused .*tiny\.onnx"):
        _build(tiny_onnx, tmp_path)
    _Parser.errors = []
    fixed = tmp_path / "fixed.onnx"
    onnx.save(make_tiny(batch=1), str(fixed))
    with pytest.raises(EngineBuildError, match="fixed batch of 1; run `densenet-build prepare` first"):
        _build(fixed, tmp_path)


def test_missing_compatibility_features_are_refused_before_building(tensorrt, tiny_onnx, tmp_path):
    trt = tensorrt(compatible=False)
    with pytest.raises(EngineBuildError, match="cannot build version-compatible plans"):
        _build(tiny_onnx, tmp_path, version_compatible=True)
    with pytest.raises(EngineBuildError, match="has no hardware compatibility level SAME_COMPUTE_CAPABILITY"):
        _build(tiny_onnx, tmp_path, hardware_compatibility="same_compute_capability")
    assert trt.built == []


def test_loader_arguments_are_pure(tensorrt):
    from polygraphy.backend import trt as polygraphy_trt

    trt = fake_tensorrt()
    options = replace(EngineOptions(), workspace_mib=2048)
    assert network_arguments(trt) == {"strongly_typed": True}
    arguments = config_arguments(trt, polygraphy_trt, DEFAULT_INTERFACE, PROFILE, options)
    assert arguments["memory_pool_limits"] == {trt.MemoryPoolType.WORKSPACE: 2048 << 20}
    assert arguments["tf32"] is True
    assert "version_compatible" not in arguments
    assert "hardware_compatibility_level" not in arguments
    (profile,) = arguments["profiles"]
    assert profile["data_0"].opt == (16, 3, 224, 224)
