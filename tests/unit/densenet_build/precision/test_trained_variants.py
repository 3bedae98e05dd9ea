"""Precision variants of a TRAINED model agree with its fp32 answers on real photographs.

The seeded DenseNet's random weights leave tiny class margins, so its agreement figures say little;
the trained EfficientNet-Lite0 gives what a user's model would.
"""

from __future__ import annotations

import pytest

from densenet_build.acquire.prepare import prepare
from densenet_build.images.folder import load_tensors
from densenet_build.images.samples import write_samples
from densenet_build.precision.variants import evaluate, make_variants
from preprocess import PreprocessConfig


@pytest.fixture(scope="module")
def photos(tmp_path_factory, trained_model):
    folder = tmp_path_factory.mktemp("photos")
    write_samples(folder, 24, seed=3)
    tensors, _ = load_tensors(folder, PreprocessConfig.from_preset(trained_model.preprocessing))
    return tensors


def test_fp16_keeps_the_trained_answers(tmp_path, trained_model, photos):
    prepared = prepare(trained_model.path, tmp_path / "model.onnx")
    paths = make_variants(prepared, tmp_path, ["fp16"])
    rows, reference = evaluate(paths, photos)
    fp16 = next(row for row in rows if row.name == "fp16")
    assert reference.shape[0] == len(photos) == 24
    assert fp16.top1_agreement == 1.0
    assert fp16.top5_overlap >= 0.95
