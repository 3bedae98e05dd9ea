"""docker/prometheus: `promtool check config`, `promtool check rules` and the alerts' unit tests.

promtool comes with Debian's `prometheus` package (tests/tools/install-prometheus.sh installs it).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.deployfiles import ALERTS, PROMETHEUS_CONFIG, compose, load_yaml, tool


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    executable = tool("promtool")
    if executable is None:
        pytest.skip("promtool is not installed (Debian package prometheus; `make test` installs it)")
    return subprocess.run([executable, *args], capture_output=True, text=True, timeout=60, check=False)


def test_promtool_accepts_the_config_and_its_rule_files():
    result = promtool("check", "config", str(PROMETHEUS_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout


def test_promtool_rejects_a_broken_config(tmp_path):
    broken = tmp_path / "prometheus.yml"
    broken.write_text(PROMETHEUS_CONFIG.read_text().replace("scrape_interval: 5s", "scrape_interval: often"))
    (tmp_path / "alerts.yml").write_text(ALERTS.read_text())
    assert promtool("check", "config", str(broken)).returncode != 0


def test_alert_rules_are_valid():
    result = promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerts_fire_when_they_should_and_only_then():
    result = promtool("test", "rules", str(Path(__file__).with_name("alerts_test.yml")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_scrapes_triton_in_either_profile():
    config = load_yaml(PROMETHEUS_CONFIG)
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "triton"]
    assert job["static_configs"][0]["targets"] == ["triton:8002"]
    services = compose()["services"]
    assert "triton" in services  # the GPU service's own name
    assert "triton" in services["triton-cpu"]["networks"]["default"]["aliases"]
    assert "./prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
