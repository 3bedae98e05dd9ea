"""A misspelt key or a bad boolean in any python model's ``parameters {}`` fails that model's load on
the real server, and the reason names the key: the three models read parameters in one strict way."""

from __future__ import annotations

import shutil

import pytest

from densenet_serve import ServerExitedError, ServerOptions, TritonServer
from densenet_serve.ports import free_port

pytestmark = pytest.mark.e2e

# model -> (its config, a boolean key it has, its value there)
CONFIGS = {
    "preprocess": ("preprocess/config.pbtxt", "quality_metrics", "true"),
    "postprocess": ("postprocess/config.pbtxt", "quality_metrics", "true"),
    "densenet": ("densenet/configs/cpu.pbtxt", "adaptive_threads", "true"),
}
MISTAKES = {
    "misspelt key": lambda key, value: (
        f'key: "{key}"',
        f'key: "{key}s"',
        f"parameter '{key}s': unknown parameter",
    ),
    "bad boolean": lambda key, value: (
        f'key: "{key}" value: {{ string_value: "{value}" }}',
        f'key: "{key}" value: {{ string_value: "ture" }}',
        f"parameter '{key}': 'ture' is not a boolean (true/false)",
    ),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_python_model_refuses_to_load_naming_the_key(model_repository, tmp_path, mistake):
    broken = tmp_path / "model_repository"
    shutil.copytree(model_repository, broken)
    expected = {}
    for model, (config, key, value) in CONFIGS.items():
        before, after, reason = MISTAKES[mistake](key, value)
        path = broken / config
        text = path.read_text()
        assert text.count(before) == 1, f"{config} no longer has {before}"
        path.write_text(text.replace(before, after))
        expected[model] = f"{model} {reason}"
    log = tmp_path / "server.log"
    options = ServerOptions(broken, http_port=free_port(), grpc_port=free_port(), metrics_port=free_port())
    with TritonServer(options, log_path=log) as server, pytest.raises(ServerExitedError):
        server.wait_ready(timeout_s=180)
    output = log.read_text(errors="replace")
    for model, reason in expected.items():
        assert f"failed to load '{model}'" in output
        assert reason in output, f"{model}'s load failure does not say: {reason}"
    assert "Traceback" not in output
