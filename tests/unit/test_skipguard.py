"""tests/support/skipguard.py: every skip is listed at the end, and under CI=true it fails the run, naming
what was missing; only tests marked ``may_skip`` (TensorRT's) may skip there."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

from tests.support.skipguard import group, skip_reason, strict

REPO_ROOT = Path(__file__).resolve().parents[2]
NGINX_TEST = "tests/unit/densenet_serve/test_edge.py::test_nginx_accepts_the_rendered_configuration"


def pytest_run(*args: str, cwd: Path = REPO_ROOT, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("CI", "NGINX", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = str(REPO_ROOT)  # tests.support.skipguard, also from a folder outside the tests
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args]
    return subprocess.run(command, cwd=cwd, env=env | environ, capture_output=True, text=True, timeout=300)


def test_a_missing_nginx_fails_the_run_under_ci_naming_it():
    """The real edge test on a machine where nginx is missing (NGINX names a file that is not there)."""
    run = pytest_run(NGINX_TEST, CI="true", NGINX="/nonexistent/nginx")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed" in run.stdout
    assert "TESTS NOT RUN" in run.stdout
    assert "nginx not found at /nonexistent/nginx" in run.stdout


def test_without_ci_the_same_skip_passes_but_is_listed():
    run = pytest_run(NGINX_TEST, CI="", NGINX="/nonexistent/nginx")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 skipped" in run.stdout
    assert "1 in tests/unit/densenet_serve/test_edge.py: nginx not found at /nonexistent/nginx" in run.stdout


def test_only_a_may_skip_test_skips_under_ci_and_a_skipped_module_fails_it(tmp_path):
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.support.skipguard"]\n')
    (tmp_path / "test_allowed.py").write_text(
        textwrap.dedent("""
            import pytest

            @pytest.mark.may_skip("needs TensorRT")
            def test_tensorrt():
                pytest.skip("TensorRT is not installed")

            @pytest.mark.xfail(reason="known")
            def test_expected_failure():
                assert False
            """)
    )
    allowed = pytest_run(cwd=tmp_path, CI="true")
    assert allowed.returncode == 0, allowed.stdout
    assert "1 skipped, 1 xfailed" in allowed.stdout
    assert "TESTS NOT RUN" not in allowed.stdout

    (tmp_path / "test_module.py").write_text('import pytest\npytest.importorskip("no_such_tool_module")\n')
    module = pytest_run(cwd=tmp_path, CI="true")
    assert module.returncode == 1, module.stdout
    assert "test_module.py: could not import 'no_such_tool_module'" in module.stdout


def test_ci_is_read_as_the_runners_set_it():
    assert [strict({"CI": value}) for value in ("true", "1", "True", "", "false")] == [1, 1, 1, 0, 0]
    assert not strict({})


def test_skips_are_counted_by_file_and_reason():
    report = SimpleNamespace(longrepr=("file.py", 1, "Skipped: nginx is not installed"))
    assert skip_reason(report.longrepr) == "nginx is not installed"
    skips = [
        ("tests/e2e/test_network_mode.py::test_a", "nginx is not installed"),
        ("tests/e2e/test_network_mode.py::test_b", "nginx is not installed"),
        ("tests/e2e/test_overload.py::test_c", "no openssl CLI"),
    ]
    assert group(skips) == {
        ("tests/e2e/test_network_mode.py", "nginx is not installed"): 2,
        ("tests/e2e/test_overload.py", "no openssl CLI"): 1,
    }
