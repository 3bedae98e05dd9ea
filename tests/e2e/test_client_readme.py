"""The client page's examples (docs/client.md: SDK in five lines, CLI on a folder), run as written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.imagefactory import cat_jpeg, encode, photo

pytestmark = pytest.mark.e2e

README = (Path(__file__).resolve().parents[2] / "docs" / "client.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(bash|python)\n(.*?)```", README, flags=re.DOTALL)
SDK = [code for lang, code in BLOCKS if lang == "python" and "from densenet_client import" in code]
CLI = [code for lang, code in BLOCKS if lang == "bash" and "densenet-client classify" in code]


def test_the_readme_shows_the_sdk_in_five_lines_and_the_cli():
    assert len(SDK) == 1
    assert len(SDK[0].strip().splitlines()) == 5
    assert len(CLI) == 1


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_sdk_example(protocol, http_url, grpc_url, tmp_path):
    url = f"http://{http_url}" if protocol == "http" else f"grpc://{grpc_url}"
    (tmp_path / "cat.jpg").write_bytes(cat_jpeg())
    code = SDK[0].replace('"http://localhost:8000"', f'"{url}"')
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    assert all(re.search(r"\d+\.\d%  class \d+$", line) for line in lines), lines


def test_cli_example_on_a_folder(server, http_url, grpc_url, tmp_path):
    photos = tmp_path / "photos"
    (photos / "more").mkdir(parents=True)
    (photos / "cat.jpg").write_bytes(cat_jpeg())
    (photos / "more" / "coffee.png").write_bytes(encode(photo("coffee.png"), "PNG"))
    (tmp_path / "cat.jpg").write_bytes(cat_jpeg())
    (tmp_path / "typical").mkdir()  # the images a drift reference is taken from
    (tmp_path / "typical" / "cat.jpg").write_bytes(cat_jpeg())
    script = (
        CLI[0]
        .replace(".venv/bin/", f"{Path(sys.executable).parent}/")
        .replace("grpc://localhost:8001", f"grpc://{grpc_url}")
    )
    env = {
        **os.environ,
        "DENSENET_URL": f"http://{http_url}",
        "DENSENET_METRICS_URL": f"http://127.0.0.1:{server.options.metrics_port}/metrics",
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    assert done.stdout.splitlines()[0].split() == ["IMAGE", "#", "PROBABILITY", "CLASS", "LABEL"]
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [r["image"] for r in records] == ["photos/cat.jpg", "photos/more/coffee.png"]
    assert all(len(r["predictions"]) == 5 for r in records)
    assert "curl --data-binary @cat.jpg" in done.stdout
    assert "live: yes  ready: yes" in done.stdout
    assert "answers " in done.stdout  # densenet-client quality's summary
    assert json.loads((tmp_path / "drift_reference.json").read_text())
