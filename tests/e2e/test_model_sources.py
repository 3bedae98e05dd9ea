"""Weights from torchvision through a private mirror, as a user gets them, served by the real server.

What ``make serve SOURCE=torchvision URL=... SHA256=...`` runs (its pass-through is checked in
tests/deploy/test_model_repository_script.py): ``densenet-build model`` downloads the checkpoint from
a local server (the fixture: a reduced torchvision DenseNet), converts it without torch and installs
it into a scratch copy of the repository; the real tritonserver serves it, ``densenet-client``
classifies through the ``torchvision`` preprocessing, and the server names the source, the digest
and the preset.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from preprocess import PreprocessConfig
from tests.support.imagefactory import cat_jpeg
from tests.support.inference import reference_top_k
from tests.support.scratch import copy_repository
from tests.support.servers import REPO_ROOT, serving
from tests.support.sourceserver import file, source_server
from tests.support.torchvision_fixture import FIXTURE_DIR

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent  # the installed console scripts
CHECKPOINT = FIXTURE_DIR / "legacy.pth"  # torch's legacy (pre-zip) format, legacy key names
DIGEST = hashlib.sha256(CHECKPOINT.read_bytes()).hexdigest()


def run(*command: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, **kwargs)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A scratch repository with the checkpoint installed by the real CLI from a local mirror."""
    work = tmp_path_factory.mktemp("torchvision")
    repository = copy_repository(REPO_ROOT / "model_repository", work / "model_repository")
    with source_server() as mirror:
        url = mirror.route("models/densenet121.pth", file(CHECKPOINT.read_bytes()))
        done = run(
            str(BIN / "densenet-build"),
            "model",
            "--source",
            "torchvision",
            "--url",
            url,
            "--sha256",
            DIGEST,
            "--cache-dir",
            str(work / "cache"),
            "--repository",
            str(repository),
            env={"PATH": str(BIN), "HOME": str(work)},  # no proxy variables: the mirror is local
        )
        assert mirror.hits["/models/densenet121.pth"] == 1
    assert done.returncode == 0, done.stderr
    return repository, done.stdout


@pytest.fixture(scope="module")
def http_url(installed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    repository, _ = installed
    with serving(repository, tmp_path_factory.mktemp("torchvision-logs")) as triton:
        yield f"http://127.0.0.1:{triton.options.http_port}"


def test_the_cli_says_what_it_installed(installed):
    _, output = installed
    assert f"from source 'torchvision' (sha256 {DIGEST}), trained with preprocessing 'torchvision'" in output


def test_the_server_names_the_source_the_digest_and_the_preset(http_url):
    import tritonclient.http as httpclient

    with httpclient.InferenceServerClient(http_url.removeprefix("http://")) as client:
        densenet = {
            k: v["string_value"] for k, v in client.get_model_config("densenet")["parameters"].items()
        }
        preprocess = client.get_model_config("preprocess")["parameters"]
    assert densenet["source"] == "torchvision"
    assert densenet["source_sha256"] == DIGEST
    assert densenet["preprocessing"] == "torchvision"
    assert densenet["weights"].startswith("torchvision file densenet121.pth (sha256 ")
    assert preprocess["preset"]["string_value"] == "torchvision"


def test_classify_answers_through_the_torchvision_preset(installed, http_url, tmp_path):
    """The served answer is the converted model's on torchvision-preprocessed pixels (computed here)."""
    repository, _ = installed
    image = tmp_path / "cat.jpg"
    image.write_bytes(cat_jpeg())
    done = run(
        str(BIN / "densenet-client"), "classify", str(image), "--url", http_url, "--json", "--top-k", "3"
    )
    assert done.returncode == 0, done.stderr
    (answer,) = [json.loads(line) for line in done.stdout.splitlines()]
    served = {p["class_id"]: p["probability"] for p in answer["predictions"]}
    config = PreprocessConfig.from_preset("torchvision")
    ids, scores = reference_top_k(image.read_bytes(), repository / "densenet" / "1" / "model.onnx", 3, config)
    assert list(served) == ids.tolist()
    assert list(served.values()) == pytest.approx(scores.tolist(), rel=1e-4)


def test_status_names_what_is_served(http_url):
    done = run(str(BIN / "densenet-client"), "status", "--url", http_url)
    assert done.returncode == 0, done.stderr
    assert f"  from source torchvision, sha256 {DIGEST}, preprocessing torchvision" in done.stdout
    assert "weights torchvision file densenet121.pth" in done.stdout


def test_the_config_line_of_docs_model_md_prints_the_record(http_url):
    text = (REPO_ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    (line,) = [
        line
        for line in text.splitlines()
        if line.startswith("curl -s localhost:8000/v2/models/densenet/config")
    ]
    done = run("bash", "-euo", "pipefail", "-c", line.replace("localhost:8000", http_url))
    assert done.returncode == 0, done.stderr
    assert (
        f"'source': 'torchvision', 'source_sha256': '{DIGEST}', 'preprocessing': 'torchvision'" in done.stdout
    )
