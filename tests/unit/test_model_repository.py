"""Every config in model_repository/ parses into Triton's ModelConfig and the ensemble wiring holds."""

from pathlib import Path

import pytest
from tritonclient.grpc import model_config_pb2 as mc

from densenet_build.repository.pbtxt import parse_model_config, string_parameters

REPO = Path(__file__).resolve().parents[2] / "model_repository"
CONFIG_FILES = sorted([*REPO.glob("*/config.pbtxt"), *REPO.glob("*/configs/*.pbtxt")])


def load(path: Path) -> mc.ModelConfig:
    return parse_model_config(path.read_text(encoding="utf-8"))


def composing(config_name: str) -> dict[str, mc.ModelConfig]:
    """The configs Triton would load with --model-config-name=config_name."""
    configs = {}
    for model_dir in sorted(p for p in REPO.iterdir() if p.is_dir()):
        variant = model_dir / "configs" / f"{config_name}.pbtxt"
        configs[model_dir.name] = load(variant if variant.exists() else model_dir / "config.pbtxt")
    return configs


def test_the_expected_files_exist():
    names = {str(p.relative_to(REPO)) for p in CONFIG_FILES}
    assert names == {
        "densenet_ensemble/config.pbtxt",
        "preprocess/config.pbtxt",
        "preprocess/configs/dali.pbtxt",
        "postprocess/config.pbtxt",
        "densenet/config.pbtxt",
        "densenet/configs/cpu.pbtxt",
    }


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_config_parses_and_batches(path):
    config = load(path)
    expected_name = path.parent.parent.name if path.parent.name == "configs" else path.parent.name
    assert config.name == expected_name
    assert config.max_batch_size > 0
    if config.platform != "ensemble":
        assert config.HasField("dynamic_batching")


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_model_that_queues_bounds_its_queue(path):
    """Beyond capacity Triton refuses at once (UNAVAILABLE, HTTP 503) instead of queueing without
    limit. The ensemble has no queue of its own; postprocess only takes what densenet finished."""
    config = load(path)
    if config.platform == "ensemble" or config.name == "postprocess":
        return
    assert config.dynamic_batching.default_queue_policy.max_queue_size > 0


def test_preprocess_queues_at_least_what_the_cpu_densenet_queues():
    """A burst the CPU densenet (the bottleneck) could still queue is not refused by preprocess
    before it; and densenet queues at least one request per instance."""
    preprocess, densenet = load(REPO / "preprocess/config.pbtxt"), load(REPO / "densenet/configs/cpu.pbtxt")
    running = sum(group.count for group in densenet.instance_group)
    assert preprocess.dynamic_batching.default_queue_policy.max_queue_size >= (
        densenet.dynamic_batching.default_queue_policy.max_queue_size
    )
    assert densenet.dynamic_batching.default_queue_policy.max_queue_size >= running


def test_gpu_and_cpu_densenet_share_the_interface():
    gpu, cpu = load(REPO / "densenet/config.pbtxt"), load(REPO / "densenet/configs/cpu.pbtxt")
    assert gpu.platform == "tensorrt_plan"
    assert cpu.backend == "python"
    assert gpu.input == cpu.input
    assert gpu.output == cpu.output
    assert gpu.max_batch_size == cpu.max_batch_size
    (inp,), (out,) = cpu.input, cpu.output
    assert (inp.name, inp.data_type, list(inp.dims), inp.format) == (
        "data_0",
        mc.TYPE_FP32,
        [3, 224, 224],
        mc.ModelInput.FORMAT_NCHW,
    )
    assert (out.name, out.data_type, list(out.dims), out.label_filename) == (
        "fc6_1",
        mc.TYPE_FP32,
        [1000, 1, 1],
        "labels.txt",
    )


def test_ensemble_contract_from_design():
    ensemble = load(REPO / "densenet_ensemble/config.pbtxt")
    assert ensemble.platform == "ensemble"
    (image,) = ensemble.input
    assert (image.name, image.data_type, list(image.dims), image.allow_ragged_batch) == (
        "IMAGE",
        mc.TYPE_UINT8,
        [-1],
        True,
    )
    outputs = {o.name: (o.data_type, list(o.dims)) for o in ensemble.output}
    assert outputs == {
        "LABELS": (mc.TYPE_STRING, [-1]),
        "SCORES": (mc.TYPE_FP32, [-1]),
        "CLASS_IDS": (mc.TYPE_INT32, [-1]),
    }


@pytest.mark.parametrize("variant", ["cpu", "gpu-default", "dali"])
def test_ensemble_wiring_matches_composing_models(variant):
    configs = composing(variant)
    ensemble = configs.pop("densenet_ensemble")
    tensors = {t.name: (t.data_type, list(t.dims)) for t in ensemble.input}
    for step in ensemble.ensemble_scheduling.step:
        model = configs[step.model_name]
        assert model.max_batch_size >= ensemble.max_batch_size, (
            f"{step.model_name} batches less than the ensemble"
        )
        model_inputs = {t.name: (t.data_type, list(t.dims)) for t in model.input}
        assert set(step.input_map) == set(model_inputs), f"{step.model_name}: unmapped inputs"
        for model_input, tensor in step.input_map.items():
            assert tensor in tensors, f"{step.model_name} reads '{tensor}' before any step produces it"
            assert tensors[tensor] == model_inputs[model_input], (
                f"{step.model_name}.{model_input} type/dims mismatch"
            )
        model_outputs = {t.name: (t.data_type, list(t.dims)) for t in model.output}
        for model_output, tensor in step.output_map.items():
            tensors[tensor] = model_outputs[model_output]
    for output in ensemble.output:
        assert tensors[output.name] == (output.data_type, list(output.dims))


def test_labels_files_have_1000_lines():
    path = REPO / "densenet/labels.txt"
    assert len(path.read_text(encoding="utf-8").splitlines()) == 1000
    # postprocess answers with the same file Triton's classification extension reads for densenet.
    postprocess = load(REPO / "postprocess/config.pbtxt").parameters["labels_file"].string_value
    assert (REPO / "postprocess" / postprocess).resolve() == path.resolve()


def test_preprocess_parameters_are_a_valid_contract():
    from preprocess import PreprocessConfig

    config = load(REPO / "preprocess/config.pbtxt")
    parsed = PreprocessConfig.from_parameters(string_parameters(config))
    assert [3, *parsed.output_size] == list(config.output[0].dims)
    assert parsed == PreprocessConfig()  # the committed contract is the documented default


def _preprocess_parameters(path: Path) -> dict[str, str]:
    return string_parameters(load(path))


def test_dali_preprocess_is_the_default_but_for_the_pipeline():
    """One contract, two pipelines: the DALI config may differ only in where it runs."""
    from preprocess import PipelineKind, PreprocessConfig
    from preprocess.dali import check_supported

    default, dali = load(REPO / "preprocess/config.pbtxt"), load(REPO / "preprocess/configs/dali.pbtxt")
    python_parameters = _preprocess_parameters(REPO / "preprocess/config.pbtxt")
    dali_parameters = _preprocess_parameters(REPO / "preprocess/configs/dali.pbtxt")
    assert python_parameters.pop("pipeline") == "python"
    assert dali_parameters.pop("pipeline") == "dali"
    assert dali_parameters == python_parameters
    assert (dali.input, dali.output, dali.max_batch_size, dali.backend) == (
        default.input,
        default.output,
        default.max_batch_size,
        default.backend,
    )
    assert [group.kind for group in dali.instance_group] == [mc.ModelInstanceGroup.KIND_GPU]
    parsed = PreprocessConfig.from_parameters({**dali_parameters, "pipeline": "dali"})
    assert parsed.pipeline is PipelineKind.DALI
    check_supported(parsed)  # nothing in the contract that DALI cannot compute


def test_postprocess_parameters_are_known_and_metrics_on():
    from postprocess.config import PostprocessConfig

    config = load(REPO / "postprocess/config.pbtxt")
    parsed = PostprocessConfig.from_parameters(string_parameters(config), 1000)
    assert parsed.quality_metrics
    assert parsed.drift_reference == ""  # no reference ships: the drift score is opt-in (docs/quality.md)
    assert (parsed.top_k, parsed.low_confidence_threshold, parsed.drift_window) == (5, 0.5, 1000)
