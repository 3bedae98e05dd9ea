"""`densenet-build model` installs weights together with a record of the preprocessing they need."""

from __future__ import annotations

import shutil
from pathlib import Path

import onnx
import pytest

from densenet_build.__main__ import main
from densenet_build.repository.configs import load_preprocess_config, read_config
from densenet_build.repository.pbtxt import string_parameters
from densenet_contract.names import (
    PREPROCESSING_KEY,
    RECORDED_KEYS,
    SOURCE_KEY,
    SOURCE_SHA256_KEY,
    WEIGHTS_KEY,
)

REPO = Path(__file__).resolve().parents[4] / "model_repository"


@pytest.fixture
def repository(tmp_path):
    return Path(shutil.copytree(REPO, tmp_path / "model_repository", ignore=shutil.ignore_patterns("*.onnx")))


def _parameters(path: Path) -> dict[str, str]:
    return string_parameters(read_config(path))


def test_trained_model_installs_with_its_preprocessing(repository, trained_model, tmp_path, capsys):
    shutil.copy(trained_model.path, tmp_path / "efficientnet-lite0.onnx")  # the cache the command reuses
    args = [
        "model",
        "--source",
        "efficientnet-lite0",
        "--cache-dir",
        str(tmp_path),
        "--repository",
        str(repository),
    ]
    assert main(args) == 0
    assert "trained with preprocessing 'efficientnet_lite'" in capsys.readouterr().out
    cpu = _parameters(repository / "densenet" / "configs" / "cpu.pbtxt")
    assert cpu[PREPROCESSING_KEY] == "efficientnet_lite"
    assert cpu[SOURCE_SHA256_KEY] == trained_model.sha256
    assert cpu[WEIGHTS_KEY] == trained_model.weights
    assert cpu[SOURCE_KEY] == "efficientnet-lite0"
    # The GPU config (the plan is built from this ONNX) records the same, for the server to report.
    assert {k: v for k, v in _parameters(repository / "densenet" / "config.pbtxt").items() if k in cpu} == {
        k: cpu[k] for k in RECORDED_KEYS
    }
    # postprocess exports the same record as the densenet_served_weights_info metric.
    postprocess = _parameters(repository / "postprocess" / "config.pbtxt")
    assert {k: postprocess[k] for k in RECORDED_KEYS} == {k: cpu[k] for k in RECORDED_KEYS}
    props = {
        p.key: p.value for p in onnx.load(str(repository / "densenet" / "1" / "model.onnx")).metadata_props
    }
    assert {k: props[k] for k in cpu if k in props} == {k: cpu[k] for k in RECORDED_KEYS}
    for config in ("config.pbtxt", "configs/dali.pbtxt"):  # both engines get the weights' preset
        assert (
            load_preprocess_config(repository / "preprocess" / config).mismatches("efficientnet_lite") == []
        )


def test_keep_preprocess_leaves_the_preprocess_config(repository, trained_model, tmp_path):
    before = (repository / "preprocess" / "config.pbtxt").read_text()
    args = [
        "model",
        "--onnx-file",
        str(trained_model.path),
        "--repository",
        str(repository),
        "--keep-preprocess",
    ]
    assert main(args) == 0
    assert (repository / "preprocess" / "config.pbtxt").read_text() == before
    # The file's own record is used for a local ONNX, and the config disagrees with it now.
    assert (
        _parameters(repository / "densenet" / "configs" / "cpu.pbtxt")[PREPROCESSING_KEY]
        == "efficientnet_lite"
    )
    assert load_preprocess_config(repository / "preprocess" / "config.pbtxt").mismatches("efficientnet_lite")


def test_seeded_model_records_densenet_caffe(repository, seeded_onnx, tmp_path):
    shutil.copy(seeded_onnx, tmp_path / "densenet121-seeded.onnx")
    assert (
        main(["model", "--source", "seeded", "--cache-dir", str(tmp_path), "--repository", str(repository)])
        == 0
    )
    assert (
        _parameters(repository / "densenet" / "configs" / "cpu.pbtxt")[PREPROCESSING_KEY] == "densenet_caffe"
    )
    assert _parameters(repository / "preprocess" / "config.pbtxt")["preset"] == "densenet_caffe"


def test_the_committed_configs_agree_with_each_other():
    """What a fresh clone serves: densenet-7's preprocessing, recorded and applied."""
    for config in ("config.pbtxt", "configs/cpu.pbtxt"):
        assert _parameters(REPO / "densenet" / config)[PREPROCESSING_KEY] == "densenet_caffe"
    cpu = _parameters(REPO / "densenet" / "configs" / "cpu.pbtxt")
    postprocess = _parameters(REPO / "postprocess" / "config.pbtxt")
    for key in RECORDED_KEYS:
        assert postprocess[key] == cpu[key], key
    assert load_preprocess_config(REPO / "preprocess" / "config.pbtxt").mismatches("densenet_caffe") == []


@pytest.fixture
def model_server():
    from tests.support.sourceserver import source_server

    with source_server() as running:
        yield running


def test_a_dead_lfs_download_is_named_and_installs_nothing(repository, model_server, tmp_path, capsys):
    from tests.support.sourceserver import lfs_pointer

    url = model_server.route("onnx/models/raw/densenet-7.onnx", lfs_pointer(b"the real densenet-7"))
    before = (repository / "densenet" / "configs" / "cpu.pbtxt").read_text()
    args = ["model", "--source", "zoo", "--url", url, "--cache-dir", str(tmp_path / "cache")]
    assert main([*args, "--repository", str(repository)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: no source gave the model:\n  zoo (")
    assert "the server sent a Git LFS pointer (oid sha256:" in error
    assert model_server.hits["/onnx/models/raw/densenet-7.onnx"] == 1  # at once: no retries
    assert not (repository / "densenet" / "1" / "model.onnx").exists()
    assert (repository / "densenet" / "configs" / "cpu.pbtxt").read_text() == before
    assert not list((tmp_path / "cache").glob("*"))


def test_url_and_sha256_come_from_flags_or_the_environment(
    repository, model_server, tiny_onnx, tmp_path, monkeypatch, capsys
):
    from densenet_build.acquire.download import sha256_of
    from tests.support.sourceserver import file

    url = model_server.route("mirror/tiny.onnx", file(tiny_onnx.read_bytes()))
    digest = sha256_of(tiny_onnx)
    monkeypatch.setenv("MODEL_SOURCE", "zoo")
    monkeypatch.setenv("MODEL_URL", url)
    monkeypatch.setenv("MODEL_SHA256", digest.upper())
    cache = str(tmp_path / "cache")
    assert main(["model", "--cache-dir", cache, "--repository", str(repository)]) == 0
    assert f"from source 'zoo' (sha256 {digest})" in capsys.readouterr().out
    cpu = _parameters(repository / "densenet" / "configs" / "cpu.pbtxt")
    assert (cpu[SOURCE_KEY], cpu[SOURCE_SHA256_KEY]) == ("zoo", digest)
    assert cpu[WEIGHTS_KEY] == f"onnx file tiny.onnx (sha256 {digest[:12]}…), given with --url"

    monkeypatch.setenv("MODEL_SHA256", "not-hex")  # a flag wins over the environment
    assert (
        main(
            ["model", "--url", url, "--sha256", digest, "--cache-dir", cache, "--repository", str(repository)]
        )
        == 0
    )
    with pytest.raises(SystemExit):
        main(["model", "--cache-dir", cache, "--repository", str(repository)])
    assert "'not-hex' is not a sha256 in hex" in capsys.readouterr().err
