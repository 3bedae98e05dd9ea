from pathlib import Path

import pytest

from densenet_build.repository.pbtxt import parse_model_config, string_parameters
from tests.benchmarks.bench_layouts import COMMITTED, LAYOUTS, layout_config, set_parameter

CPU_CONFIG = (Path(__file__).resolve().parents[3] / "model_repository/densenet/configs/cpu.pbtxt").read_text()


def test_the_committed_layout_is_the_one_the_benchmark_calls_committed():
    assert layout_config(CPU_CONFIG, *LAYOUTS[COMMITTED]) == CPU_CONFIG


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_every_layout_is_a_valid_config_with_its_settings(name):
    instances, threads, pin, batching, spin, adaptive = LAYOUTS[name]
    config = parse_model_config(layout_config(CPU_CONFIG, *LAYOUTS[name]))
    parameters = string_parameters(config)
    assert [g.count for g in config.instance_group] == [instances]
    assert config.dynamic_batching.default_queue_policy.max_queue_size > 0  # bounded in every layout
    assert (list(config.dynamic_batching.preferred_batch_size) != [1]) == batching
    assert (
        parameters["intra_op_num_threads"],
        parameters["pin_instances"],
        parameters["allow_spinning"],
        parameters["adaptive_threads"],
    ) == (
        str(threads),
        str(pin).lower(),
        str(spin).lower(),
        str(adaptive).lower(),
    )
    assert parameters["weights"]  # everything else is kept


def test_set_parameter_refuses_an_unknown_key():
    with pytest.raises(ValueError, match="no parameter nope"):
        set_parameter(CPU_CONFIG, "nope", "1")
