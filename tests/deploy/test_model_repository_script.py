"""docker/model-repository.sh, which fills the repository volume: shellcheck, its densenet-build
commands against the real CLI, and its `onnx` mode run for real (the CPU profile's `model` service).

The `engine` mode needs TensorRT and a GPU; its commands are checked against the CLI's parser only.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from densenet_build.__main__ import build_parser
from densenet_build.testmodels.seeded import SEEDED_WEIGHTS
from tests.support.deployfiles import REPO_ROOT, REPOSITORY_SCRIPT, tool


def fill(target: Path, cache: Path, mode: str = "onnx") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "MODEL_REPOSITORY": str(target),
        "BUILD_CACHE": str(cache),
        "MODEL_SOURCE": "seeded",
        "REPOSITORY_TEMPLATE": str(REPO_ROOT / "model_repository"),
    }
    return subprocess.run(
        ["sh", str(REPOSITORY_SCRIPT), mode],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    "script",
    # And the scripts that make the CPU stack's base image and install Docker for its test.
    [REPOSITORY_SCRIPT, REPO_ROOT / "docker/base-images.sh", REPO_ROOT / "tests/tools/install-docker.sh"],
    ids=lambda path: path.name,
)
def test_shellcheck_passes(script):
    shellcheck = tool("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (Debian package shellcheck; `make test` installs it)")
    result = subprocess.run([shellcheck, str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def build_commands() -> list[list[str]]:
    """Each `densenet-build ...` invocation of the script, variables replaced by sample values."""
    text = REPOSITORY_SCRIPT.read_text().replace("\\\n", " ")
    text = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", text)  # ${VAR:-default}: the default
    values = dict(re.findall(r"^(\w+)=(\S+)$", text, re.MULTILINE))  # the script's own variables
    commands = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        match = re.search(r"densenet-build (.*?)(?:\|\||$)", line)
        if match and not line.startswith("#"):
            words = re.sub(r"\$\{?(\w+)\}?", lambda m: values.get(m[1], f"SAMPLE_{m[1]}"), match[1])
            commands.append(shlex.split(words))
    return commands


def test_every_densenet_build_command_parses_with_the_real_cli():
    commands = build_commands()
    used = {command[0] for command in commands}
    assert {"model", "check", "install", "samples", "variants", "engine"} <= used
    parser = build_parser()
    for command in commands:
        try:
            parser.parse_args(command)
        except SystemExit:
            pytest.fail(f"densenet-build does not accept: {shlex.join(command)}")


def test_engine_mode_runs_the_steps_of_make_engine():
    makefile = (REPO_ROOT / "Makefile").read_text().replace("\\\n", " ")
    recipe = re.search(r"^engine:.*?\n((?:\t.*\n)+)", makefile, re.MULTILINE)[1]
    make_steps = re.findall(r"densenet-build (\w+)", recipe)
    script = REPOSITORY_SCRIPT.read_text()
    script_steps = re.findall(
        r"^densenet-build (\w+)", script[script.index("work=$cache/engine") :], re.MULTILINE
    )
    assert make_steps[-1] == "verify"
    assert script_steps == make_steps


def test_rejects_an_unknown_mode(tmp_path):
    result = fill(tmp_path / "models", tmp_path / "cache", mode="everything")
    assert result.returncode == 64
    assert not (tmp_path / "models").exists()


def test_onnx_mode_fills_a_servable_cpu_repository(tmp_path, seeded_onnx):
    target = tmp_path / "models"
    result = fill(target, seeded_onnx.parent)  # the cached seeded model: nothing is downloaded
    assert result.returncode == 0, result.stdout + result.stderr
    for model in ("densenet_ensemble", "preprocess", "densenet", "postprocess"):
        assert (target / model / "config.pbtxt").is_file()
    assert (target / "densenet" / "1" / "model.onnx").stat().st_size > 30_000_000
    assert (target / "preprocess" / "1" / "model.py").is_file()
    assert SEEDED_WEIGHTS in (target / "densenet" / "configs" / "cpu.pbtxt").read_text()
    # Run again (a restart of the one-shot service): the same result, no error.
    again = fill(target, seeded_onnx.parent)
    assert again.returncode == 0, again.stderr


def make_dry_run(target: str, *variables: str, env: dict[str, str] | None = None) -> list[list[str]]:
    """The `densenet-build model` commands `make -n TARGET VARIABLES...` would run (no model present)."""
    result = subprocess.run(
        ["make", "-n", "-C", str(REPO_ROOT), f"MODEL={REPO_ROOT}/no-such-model.onnx", target, *variables],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [shlex.split(line)[1:] for line in result.stdout.splitlines() if "densenet-build model" in line]


@pytest.mark.skipif(tool("make") is None, reason="GNU make is not installed")
def test_make_passes_source_url_and_sha256_through():
    url = "http://127.0.0.1:8080/models/densenet121.pth?token=a&b"
    for target in ("model", "serve"):
        (command,) = make_dry_run(target, "SOURCE=torchvision", f"URL={url}", "SHA256=a639ec97")
        assert command == ["model", "--source", "torchvision", "--url", url, "--sha256", "a639ec97"]
        build_parser().parse_args(command)  # the real CLI accepts it
    assert make_dry_run("serve", env={"SOURCE": "zoo"}) == [["model", "--source", "zoo"]]
    assert make_dry_run("model") == [["model", "--source", "auto"]]
