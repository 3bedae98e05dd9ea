"""The torchvision DenseNet fixture's inputs, and the comparison of a conversion with torch's logits.

tests/tools/make_torchvision_fixture.py (with torch) writes the checkpoints and torch's logits for
:func:`inputs`; this module needs no torch. Run as a script it converts a checkpoint and prints the
largest difference from torch (the full-size DenseNet-121 check in docs/model.md):

    .venv/bin/python -m tests.support.torchvision_fixture DIR/legacy.pth DIR/expected.npz
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

import numpy as np

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "torchvision"
INPUT_SEEDS = (0, 1, 2, 3)
# torchvision's ImageNet normalisation, so the inputs look like what the weights are fed.
MEAN = np.array([0.485, 0.456, 0.406], np.float32).reshape(3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], np.float32).reshape(3, 1, 1)


def inputs(seeds: tuple[int, ...] = INPUT_SEEDS) -> np.ndarray:
    """The test images, [len(seeds), 3, 224, 224]: uniform pixels in [0, 1), normalised like torchvision."""
    images = [np.random.default_rng(seed).random((3, 224, 224), dtype=np.float32) for seed in seeds]
    return ((np.stack(images) - MEAN) / STD).astype(np.float32)


def inputs_sha256(batch: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(batch, np.float32).tobytes()).hexdigest()


def expected(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, torch's logits [N, 1000]) of an expected.npz; fails if numpy draws other inputs now."""
    with np.load(path) as saved:
        seeds, digest, logits = (
            tuple(int(s) for s in saved["seeds"]),
            str(saved["inputs_sha256"]),
            saved["logits"],
        )
    batch = inputs(seeds)
    if inputs_sha256(batch) != digest:
        raise AssertionError(f"numpy draws other inputs than those torch's logits in {path} were computed on")
    return batch, logits


def onnx_logits(model: Path, batch: np.ndarray) -> np.ndarray:
    """The ONNX model's ``fc6_1`` for ``batch`` on onnxruntime's CPU provider, as [N, 1000]."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    (out,) = session.run(["fc6_1"], {"data_0": batch})
    return out.reshape(len(batch), -1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description="convert a torchvision checkpoint and compare with torch's logits"
    )
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("expected", type=Path)
    args = parser.parse_args()
    from densenet_build.acquire.torchvision_densenet import convert_checkpoint

    batch, torch_logits = expected(args.expected)
    with tempfile.TemporaryDirectory() as scratch:
        model = Path(scratch) / "model.onnx"
        convert_checkpoint(args.checkpoint, model)
        logits = onnx_logits(model, batch)
    difference = np.abs(logits - torch_logits).max()
    print(
        f"{len(batch)} inputs: max |onnxruntime - torch| = {difference:.3g} "
        f"(logits span {torch_logits.min():.3g} .. {torch_logits.max():.3g}); "
        f"same top-1: {(logits.argmax(1) == torch_logits.argmax(1)).all()}"
    )
    sys.exit(0 if difference <= 1e-3 else 1)


if __name__ == "__main__":
    main()
