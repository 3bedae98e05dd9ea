"""What the fast resampling path costs in answers: top-1 agreement with the exact path, and accuracy.

    python -m tests.benchmarks.accuracy_fast_path [DATASET] [--samples 100] [--output FILE]

Runs the trained test model (EfficientNet-Lite0 in densenet-7's interface, `densenet_build.acquire.sources.
trained_test_model`) in-process with ONNX Runtime on the input of three preprocessors, all with the
model's own preset (efficientnet_lite):

- exact: Pillow decodes every JPEG at full size, resizes the whole image, then crops (torchvision's
  reference geometry);
- draft: the same with Pillow's JPEG draft (a reduced DCT scale), the default before fast existed;
- fast: the default now (libjpeg-turbo at a reduced DCT scale, only the kept region resized).

Image sets: DATASET (labelled: <wnid>_ file names or <wnid>/ folders, as `densenet-client evaluate`
reads them), the same images re-encoded 4x larger (phone-sized JPEGs, where the DCT scale matters),
and `--samples` photographs cut from scikit-image's (`densenet-build samples`, unlabelled: agreement
only). Prints a Markdown table (and writes it to --output).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

from densenet_build.acquire.sources import trained_test_model
from densenet_build.images.samples import write_samples
from densenet_client.cli.datasets import find_labelled
from preprocess import PreprocessConfig, Preprocessor, ResamplingMode, preprocess_one
from tests.support.servers import REPO_ROOT

CACHE = REPO_ROOT / ".cache" / "test-models"
PATHS = {
    "exact": {"resampling_mode": ResamplingMode.EXACT, "jpeg_draft": False},
    "draft": {"resampling_mode": ResamplingMode.EXACT, "jpeg_draft": True},
    "fast": {"resampling_mode": ResamplingMode.FAST, "jpeg_draft": True},
}


def upscaled(data: bytes, factor: int = 4) -> bytes:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    buffer = io.BytesIO()
    image.resize((image.width * factor, image.height * factor), Image.Resampling.BICUBIC).save(
        buffer, "JPEG", quality=90
    )
    return buffer.getvalue()


def top1(session: ort.InferenceSession, preprocessor: Preprocessor, images: Iterable[bytes]) -> np.ndarray:
    answers = []
    for data in images:
        logits = session.run(None, {"data_0": preprocess_one(preprocessor, data)[np.newaxis]})[0]
        answers.append(int(np.argmax(logits.reshape(-1))))
    return np.asarray(answers)


def measure(session, preprocessors, images: list[bytes], labels: list[int] | None) -> dict[str, float]:
    answers = {name: top1(session, pre, images) for name, pre in preprocessors.items()}
    row = {
        "images": len(images),
        "agree_fast": float(np.mean(answers["fast"] == answers["exact"])),
        "agree_draft": float(np.mean(answers["draft"] == answers["exact"])),
    }
    if labels is not None:
        truth = np.asarray(labels)
        row.update({f"top1_{name}": float(np.mean(found == truth)) for name, found in answers.items()})
    return row


def percent(row: dict[str, float], key: str) -> str:
    return f"{row[key]:.1%}" if key in row else "n/a (unlabelled)"


def markdown(header: list[str], lines: list[list[str]]) -> str:
    rows = [header, ["---"] * len(header), *lines]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in rows)


def table(rows: dict[str, dict[str, float]]) -> str:
    header = ["images", "n", "top-1 agreement fast vs exact", "draft vs exact", "top-1 exact", "top-1 draft"]
    keys = ["agree_fast", "agree_draft", "top1_exact", "top1_draft", "top1_fast"]
    return markdown(
        [*header, "top-1 fast"],
        [[name, str(row["images"]), *(percent(row, key) for key in keys)] for name, row in rows.items()],
    )


def parse_arguments(argv: list[str] | None, description: str | None) -> argparse.Namespace:
    """The image sets and output options both accuracy scripts take."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", nargs="?", type=Path, help="labelled images (wnid file names or folders)")
    parser.add_argument("--name", default="labelled set", help="what to call DATASET in the table")
    parser.add_argument("--samples", type=int, default=100, help="scikit-image photographs (0: none)")
    parser.add_argument("--output", type=Path, help="also write the table here")
    return parser.parse_args(argv)


def image_sets(args: argparse.Namespace) -> Iterator[tuple[str, list[bytes], list[int] | None]]:
    """(name, encoded images, labels or None): DATASET, DATASET re-encoded 4x larger, the samples."""
    if args.dataset:
        labelled = find_labelled(args.dataset)
        images = [path.read_bytes() for path, _ in labelled.items]
        labels = [label for _, label in labelled.items]
        yield args.name, images, labels
        yield f"{args.name}, re-encoded 4x larger", [upscaled(data) for data in images], labels
    if args.samples:
        with tempfile.TemporaryDirectory() as folder:
            images = [path.read_bytes() for path in write_samples(folder, args.samples, seed=0)]
        yield "scikit-image photographs (`densenet-build samples`)", images, None


def trained_session():  # -> (AcquiredModel, ort.InferenceSession)
    """The trained test model and a one-thread ONNX Runtime session on it."""
    model = trained_test_model(CACHE)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return model, ort.InferenceSession(str(model.path), options, providers=["CPUExecutionProvider"])


def publish(text: str, output: Path | None) -> None:
    print(text)
    if output:
        output.write_text(text + "\n")


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv, __doc__)
    model, session = trained_session()
    preprocessors = {
        name: Preprocessor(PreprocessConfig.from_preset(model.preprocessing, decode_threads=1, **overrides))
        for name, overrides in PATHS.items()
    }
    rows = {
        name: measure(session, preprocessors, images, labels) for name, images, labels in image_sets(args)
    }
    publish(table(rows), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
