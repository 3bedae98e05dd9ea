"""The calling examples (docs/calling.md and the README's one curl), run as written on the test server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.imagefactory import cat_jpeg

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CALLING = (ROOT / "docs" / "calling.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(bash|python)\n(.*?)```", CALLING, flags=re.DOTALL)
INFER_SHELL = [code for lang, code in BLOCKS if lang == "bash" and "densenet_ensemble/infer" in code]
INFER_PYTHON = [code for lang, code in BLOCKS if lang == "python" and "densenet_ensemble" in code]


def run_in(directory: Path, command: list[str], http_url: str, code: str) -> bytes:
    code = code.replace("localhost:8000", http_url)
    (directory / "cat.jpg").write_bytes(cat_jpeg())
    return subprocess.run(
        [*command, code], cwd=directory, capture_output=True, check=True, timeout=120
    ).stdout


def test_the_page_has_the_examples_and_the_readme_its_first():
    assert len(INFER_SHELL) == 3
    assert len(INFER_PYTHON) == 1
    front = [
        c for lang, c in re.findall(r"```(bash|python)\n(.*?)```", README, flags=re.DOTALL) if "/infer" in c
    ]
    assert front == [INFER_SHELL[0]]  # the front door's one curl is the raw-binary example run below


@pytest.mark.parametrize("code", INFER_SHELL, ids=["raw-binary", "binary-in-json-out", "json-in-json-out"])
def test_shell_example(code, http_url, tmp_path):
    output = run_in(tmp_path, ["bash", "-euo", "pipefail", "-c"], http_url, code)
    header = output[: output.index(b"}]}") + 3] if b'"binary_data_size"' in output else output
    response = json.loads(header)
    names = {o["name"] for o in response["outputs"]}
    assert names == {"LABELS", "SCORES", "CLASS_IDS"}
    shapes = {o["shape"][1] for o in response["outputs"]}
    assert shapes == ({3} if '"top_k":3' in code else {5})


def test_python_example(http_url, tmp_path):
    output = run_in(tmp_path, [sys.executable, "-c"], http_url, INFER_PYTHON[0])
    assert output.decode().count("(") == 3  # three (label, score, id) tuples
