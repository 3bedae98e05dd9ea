"""What the engine step decides without TensorRT: the profile, the trtexec line, the GPU facts."""

from dataclasses import replace
from pathlib import Path

import pytest

from densenet_build.engine.build import EngineOptions, build_flags
from densenet_build.engine.gpu import (
    compute_capability_of_tag,
    nvidia_smi_id,
    parse_compute_capability,
    parse_nvidia_smi,
    sm_tag,
)
from densenet_build.engine.profile import BatchProfile, batch_profile, check_profile
from densenet_build.engine.trtexec import (
    FORBIDDEN_FLAGS,
    format_command,
    tensorrt_version_from_output,
    trtexec_command,
)
from densenet_build.errors import ConfigError, TensorRTUnavailableError
from densenet_build.repository.configs import DEFAULT_INTERFACE, load_interface

CONFIG = Path(__file__).resolve().parents[4] / "model_repository" / "densenet" / "config.pbtxt"


def test_profile_follows_the_densenet_config():
    interface = load_interface(CONFIG)
    profile = batch_profile(interface)
    assert profile.min == 1
    assert profile.max == interface.max_batch_size
    assert profile.opt == max(interface.preferred_batch_sizes)
    assert profile.shapes((3, 224, 224))["opt"] == (profile.opt, 3, 224, 224)


@pytest.mark.parametrize(
    ("max_batch", "preferred", "expected"),
    [
        (32, (8, 16), BatchProfile(1, 16, 32)),
        (64, (), BatchProfile(1, 64, 64)),
        (4, (4, 2), BatchProfile(1, 4, 4)),
    ],
)
def test_profile_from_batching(max_batch, preferred, expected):
    interface = replace(DEFAULT_INTERFACE, max_batch_size=max_batch, preferred_batch_sizes=preferred)
    assert batch_profile(interface) == expected


def test_opt_override_and_invalid_profiles():
    assert batch_profile(DEFAULT_INTERFACE, opt_batch=4).opt == 4
    with pytest.raises(ConfigError, match="1 <= min <= opt <= max"):
        batch_profile(DEFAULT_INTERFACE, opt_batch=64)
    with pytest.raises(ConfigError, match="Triton sends batches of 1 too"):
        check_profile(BatchProfile(2, 8, 32), DEFAULT_INTERFACE)
    with pytest.raises(ConfigError, match=r"below max_batch_size 32 .* Triton would refuse the plan"):
        check_profile(BatchProfile(1, 8, 16), DEFAULT_INTERFACE)


def _command(device=None, **options):
    engine = EngineOptions(**{"workspace_mib": 2048, **options})
    return trtexec_command(
        "m.onnx", "m.plan", DEFAULT_INTERFACE, BatchProfile(1, 16, 32), engine, device=device
    )


def test_trtexec_command_is_strongly_typed_with_the_profile():
    command = _command(timing_cache="t.cache")
    assert command[:4] == ["trtexec", "--onnx=m.onnx", "--saveEngine=m.plan", "--stronglyTyped"]
    expected = {
        "--minShapes=data_0:1x3x224x224",
        "--optShapes=data_0:16x3x224x224",
        "--maxShapes=data_0:32x3x224x224",
        "--memPoolSize=workspace:2048",
        "--timingCacheFile=t.cache",
        "--skipInference",
    }
    assert expected <= set(command)
    assert not [c for c in command if "Compatib" in c or c.startswith("--device")]


@pytest.mark.parametrize("version_compatible", [False, True])
@pytest.mark.parametrize("hardware", ["none", "ampere_plus", "same_compute_capability"])
def test_trtexec_command_never_uses_removed_precision_flags(version_compatible, hardware):
    command = _command(version_compatible=version_compatible, hardware_compatibility=hardware, device=1)
    assert not [c for c in command for flag in FORBIDDEN_FLAGS if c == flag or c.startswith(flag + "=")]
    assert ("--versionCompatible" in command) == version_compatible
    levels = {"none": None, "ampere_plus": "ampere+", "same_compute_capability": "sameComputeCapability"}
    if levels[hardware]:
        assert f"--hardwareCompatibilityLevel={levels[hardware]}" in command
    assert "--device=1" in command


def test_trtexec_command_refuses_unknown_levels_and_formats_for_a_shell():
    with pytest.raises(ValueError, match="hardware compatibility"):
        _command(hardware_compatibility="turing_plus")
    text = format_command(["trtexec", "--onnx=my model.onnx"])
    assert text == "trtexec \\\n    '--onnx=my model.onnx'"


@pytest.mark.parametrize(
    ("banner", "version"),
    [
        ("&&&& RUNNING TensorRT.trtexec [TensorRT v101303] [b9] # trtexec --onnx=m.onnx", "10.13.3"),
        ("&&&& PASSED TensorRT.trtexec [TensorRT v100300] # trtexec", "10.3.0"),
        ("&&&& RUNNING TensorRT.trtexec [TensorRT v110400] # trtexec", "11.4.0"),
        ("no banner here", None),
    ],
)
def test_tensorrt_version_from_trtexec_banner(banner, version):
    assert tensorrt_version_from_output(banner) == version


def test_build_flags_record_the_options():
    flags = build_flags(
        EngineOptions(
            workspace_mib=1024,
            timing_cache=Path("t"),
            version_compatible=True,
            hardware_compatibility="ampere_plus",
        )
    )
    assert flags == [
        "STRONGLY_TYPED",
        "WORKSPACE=1024MiB",
        "TIMING_CACHE",
        "VERSION_COMPATIBLE",
        "HARDWARE_COMPATIBILITY=AMPERE_PLUS",
    ]
    assert not {"FP16", "INT8", "EXPLICIT_BATCH"} & set(flags)


def test_nvidia_smi_output_and_compute_capabilities():
    gpus = parse_nvidia_smi("NVIDIA A10, 8.6\nNVIDIA GeForce RTX 4090, Founders, 8.9\n\n")
    assert [(g.name, g.compute_capability) for g in gpus] == [
        ("NVIDIA A10", "8.6"),
        ("NVIDIA GeForce RTX 4090, Founders", "8.9"),
    ]
    with pytest.raises(ValueError, match="not a compute capability"):
        parse_nvidia_smi("NVIDIA A10, [N/A]")
    assert parse_compute_capability("10.0") == (10, 0)
    assert [sm_tag(c) for c in ("7.5", "8.6", "9.0", "10.0", "12.0")] == [
        "sm75",
        "sm86",
        "sm90",
        "sm100",
        "sm120",
    ]
    assert [compute_capability_of_tag(t) for t in ("sm75", "sm100", "gpu")] == ["7.5", "10.0", None]


def test_cuda_device_maps_to_the_nvidia_smi_id():
    assert nvidia_smi_id(0, None) == "0"
    assert nvidia_smi_id(1, "3,5") == "5"
    assert nvidia_smi_id(0, "GPU-8d1c-uuid") == "GPU-8d1c-uuid"
    with pytest.raises(TensorRTUnavailableError, match="not among CUDA_VISIBLE_DEVICES=2"):
        nvidia_smi_id(1, "2")
