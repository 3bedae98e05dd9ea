"""tests/tools/apt.sh, the one way the test tools' Debian packages are installed: exact pins only
of versions the archive keeps, a floor checked after the install, a clear refusal otherwise.
Run against stand-ins for apt-get, apt-cache, dpkg-query and id on PATH: nothing is installed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[1] / "tools"
MADISON = "     nginx | 1.22.1-9+deb12u12 | http://deb.example/debian-security bookworm-security/main"


@pytest.fixture
def stubs(tmp_path: Path) -> Path:
    """A bin folder of stand-ins; apt-get records its arguments in calls.log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {
        "id": 'echo "${UID_STUB:-0}"',
        "apt-get": f'echo "$*" >> {tmp_path}/calls.log',
        "apt-cache": f"echo '{MADISON}'",
        "dpkg-query": 'echo "${INSTALLED_STUB:-1.22.1-9+deb12u12}"',
    }
    for name, body in scripts.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    return bin_dir


def apt_install(stubs: Path, *specs: str, **environ: str) -> subprocess.CompletedProcess[str]:
    script = f'source {TOOLS / "apt.sh"}; apt_install "$@"'
    path = f"{stubs}:/usr/bin:/bin"  # dpkg --compare-versions is the real one
    return subprocess.run(
        ["bash", "-c", script, "install-test.sh", *specs],
        env={"PATH": path, **environ}, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def calls(stubs: Path) -> str:
    log = stubs.parent / "calls.log"
    return log.read_text() if log.exists() else ""


def test_a_pin_the_archive_keeps_is_installed_exactly(stubs):
    result = apt_install(stubs, "nginx=1.22.1-9+deb12u12")
    assert result.returncode == 0, result.stderr
    assert "install -y -qq --no-install-recommends nginx=1.22.1-9+deb12u12" in calls(stubs)


def test_a_pin_the_archive_dropped_is_refused_naming_the_script_to_update(stubs):
    result = apt_install(stubs, "nginx=1.22.1-9+deb12u11")
    assert result.returncode == 1
    assert "the archive no longer keeps nginx 1.22.1-9+deb12u11: update the pin in install-test.sh" in (
        result.stderr
    )
    assert " install " not in calls(stubs)


def test_a_floor_installs_the_candidate_then_checks_its_version(stubs):
    assert apt_install(stubs, "nginx>=1.22.1-9+deb12u9").returncode == 0
    assert "--no-install-recommends nginx\n" in calls(stubs)
    older = apt_install(stubs, "nginx>=1.22.1-9+deb12u9", INSTALLED_STUB="1.22.1-9+deb12u3")
    assert older.returncode == 1
    assert "nginx 1.22.1-9+deb12u3 is older than 1.22.1-9+deb12u9" in older.stderr


def test_without_root_nothing_is_tried_and_it_says_what_to_run(stubs):
    result = apt_install(stubs, "shellcheck=0.9.0-1", UID_STUB="1000")
    assert result.returncode == 1
    assert "sudo apt-get install shellcheck" in result.stderr
    assert calls(stubs) == ""
