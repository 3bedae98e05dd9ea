"""What the DALI engine changes in pixels and in answers, against the Python path.

    python -m tests.benchmarks.accuracy_dali [DATASET] [--samples 100] [--output FILE]

Runs DALI's CPU twin of the GPU pipeline (`preprocess.dali.run_cpu`, the definition of
preprocess/configs/dali.pbtxt) and the Python path on the same images, with the trained test
model's own preset (efficientnet_lite), and the trained test model (EfficientNet-Lite0) in-process
with ONNX Runtime on both. Per image set it prints: top-1 agreement of DALI with the default fast
path and with the full-size exact path (DALI decodes at full size, as exact does), each path's
top-1 accuracy where labels exist, and how far apart the pixels are (grey levels of the 0-255
image: mean, 99th percentile, maximum). Image sets as in accuracy_fast_path.py: DATASET, the same
re-encoded 4x larger, and `--samples` photographs from scikit-image.
"""

from __future__ import annotations

import sys

import numpy as np
import onnxruntime as ort

from preprocess import ImageError, PreprocessConfig, Preprocessor
from preprocess.dali import run_cpu
from tests.benchmarks.accuracy_fast_path import (
    PATHS,
    image_sets,
    markdown,
    parse_arguments,
    percent,
    publish,
    trained_session,
)


def top1(session: ort.InferenceSession, pixels: list[np.ndarray]) -> np.ndarray:
    return np.asarray(
        [int(np.argmax(session.run(None, {"data_0": p[np.newaxis]})[0].reshape(-1))) for p in pixels]
    )


def measure(session, config: PreprocessConfig, images: list[bytes], labels: list[int] | None) -> dict:
    dali = run_cpu(config, images)
    refused = [i for i, r in enumerate(dali) if isinstance(r, ImageError)]
    if refused:
        raise SystemExit(
            f"DALI refused {len(refused)} images the set holds, e.g. #{refused[0]}: {dali[refused[0]]}"
        )
    python = {
        name: Preprocessor(PreprocessConfig(**{**config.__dict__, **overrides})).process(images).results
        for name, overrides in PATHS.items()
        if name in ("fast", "exact")
    }
    answers = {
        "dali": top1(session, dali),
        **{name: top1(session, pixels) for name, pixels in python.items()},
    }
    std = np.asarray(config.std, dtype=np.float32).reshape(3, 1, 1)
    levels = np.concatenate(
        [(np.abs(a - b) * std).ravel() for a, b in zip(dali, python["fast"], strict=True)]
    )
    row = {
        "images": len(images),
        "agree_fast": float(np.mean(answers["dali"] == answers["fast"])),
        "agree_exact": float(np.mean(answers["dali"] == answers["exact"])),
        "levels_mean": float(levels.mean()),
        "levels_p99": float(np.percentile(levels, 99)),
        "levels_max": float(levels.max()),
    }
    if labels is not None:
        truth = np.asarray(labels)
        row.update({f"top1_{name}": float(np.mean(found == truth)) for name, found in answers.items()})
    return row


def table(rows: dict[str, dict]) -> str:
    header = ["images", "n", "top-1 agreement DALI vs fast", "DALI vs exact", "top-1 fast", "top-1 DALI"]
    keys = ["agree_fast", "agree_exact", "top1_fast", "top1_dali"]
    return markdown(
        [*header, "grey levels from fast: mean / p99 / max"],
        [
            [
                name,
                str(row["images"]),
                *(percent(row, key).replace(" (unlabelled)", "") for key in keys),
                f"{row['levels_mean']:.2f} / {row['levels_p99']:.0f} / {row['levels_max']:.0f}",
            ]
            for name, row in rows.items()
        ],
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv, __doc__)
    model, session = trained_session()
    config = PreprocessConfig.from_preset(model.preprocessing, decode_threads=1)
    rows = {name: measure(session, config, images, labels) for name, images, labels in image_sets(args)}
    publish(table(rows), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
