"""int8 calibration: activation ranges measured once per model and image set, then reused.

ONNX Runtime's histogram calibrators (percentile, entropy) stack every batch of one
``collect_data`` call into one array, which fails with a traceback ("inhomogeneous shape") when the
last batch is smaller than the others. Here each batch gets its own ``collect_data`` call (the
calibrators merge ranges and histograms across calls), so any number of images works for every
method and memory stays bounded by one batch's activations.

The ranges are kept in ONNX Runtime's own calibration cache format (``save_tensors_data``), named
by a digest of the model, the calibration tensors and the method, so a rebuild skips calibration.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader
from onnxruntime.quantization.calibrate import (
    CalibrationMethod,
    TensorData,
    TensorsData,
    create_calibrator,
    load_tensors_data,
    save_tensors_data,
)

from ..errors import PrecisionError

LOGGER = logging.getLogger(__name__)

# onnxruntime's "entropy" method gives exactly the minmax ranges once activations are symmetric
# (checked on the seeded DenseNet), so it is not offered.
CALIBRATION_METHODS = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile}
INT8_OP_TYPES = ("Conv", "ConvTranspose", "Gemm", "MatMul")
CALIBRATION_BATCH = 8
FEW_IMAGES = 20  # below this, warn: ranges from a handful of images rarely hold on others


class _OneBatch(CalibrationDataReader):
    def __init__(self, feed: dict[str, np.ndarray]) -> None:
        self._feed: dict[str, np.ndarray] | None = feed

    def get_next(self) -> dict[str, np.ndarray] | None:
        feed, self._feed = self._feed, None
        return feed


def check_method(method: str) -> CalibrationMethod:
    if method not in CALIBRATION_METHODS:
        raise PrecisionError(
            f"calibration method must be one of {', '.join(CALIBRATION_METHODS)}, not {method!r}"
        )
    return CALIBRATION_METHODS[method]


def check_images(tensors: np.ndarray, warn: bool = True) -> None:
    """Refuse what no calibration can use; warn about too few images."""
    if tensors.ndim != 4 or len(tensors) < 1:
        raise PrecisionError(
            f"int8 needs at least one calibration image (got {len(tensors) if tensors.ndim else 0}); "
            "pass a folder of images like the ones you will serve with --calibration-dir"
        )
    if not np.isfinite(tensors).all():
        raise PrecisionError("the calibration tensors hold NaN or infinite values; check the images")
    if warn and len(tensors) < FEW_IMAGES:
        LOGGER.warning(
            "calibrating int8 on %d image(s): ranges from so few images rarely hold on others; "
            "use a few hundred like the ones you will serve",
            len(tensors),
        )


def calibrate(
    model_path: str | Path,
    tensors: np.ndarray,
    input_name: str,
    method: str = "minmax",
    batch_size: int = CALIBRATION_BATCH,
) -> TensorsData:
    """Activation ranges of every input and output of the weighted layers, over ``tensors``."""
    calibration_method = check_method(method)
    check_images(tensors, warn=False)
    # The histogram calibrators print progress on every batch: keep the console for our table.
    with tempfile.TemporaryDirectory(prefix="calibrate.") as tmp, contextlib.redirect_stdout(io.StringIO()):
        calibrator = create_calibrator(
            Path(model_path),
            list(INT8_OP_TYPES),
            augmented_model_path=str(Path(tmp) / "augmented.onnx"),
            calibrate_method=calibration_method,
        )
        for start in range(0, len(tensors), batch_size):
            calibrator.collect_data(_OneBatch({input_name: tensors[start : start + batch_size]}))
        return calibrator.compute_data()


def digest(*parts: bytes | str) -> str:
    """A short hex digest of ``parts``, to name cache files."""
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode() if isinstance(part, str) else part)
        hasher.update(b"\0")
    return hasher.hexdigest()[:16]


def tensors_digest(tensors: np.ndarray) -> str:
    return digest(str(tensors.shape), np.ascontiguousarray(tensors, np.float32).tobytes())


def cached_ranges(
    model_path: str | Path,
    tensors: np.ndarray,
    input_name: str,
    method: str,
    cache_dir: str | Path,
) -> Path:
    """The calibration cache file of this model, these tensors and this method; computed if absent."""
    import onnxruntime

    key = digest(Path(model_path).read_bytes(), tensors_digest(tensors), method, onnxruntime.__version__)
    path = Path(cache_dir) / f"ranges-{method}-{key}.json"
    if path.is_file():
        LOGGER.info("reusing the calibration ranges in %s", path)
        return path
    save_tensors_data(calibrate(model_path, tensors, input_name, method), path)
    return path


def retype_ranges(ranges_path: str | Path, model: onnx.ModelProto, destination: str | Path) -> Path:
    """The ranges of ``ranges_path`` for ``model``, the fp16 copy of the calibrated model.

    The quantizer takes each scale's type from its range's, and a float16 tensor needs float16
    scales; tensors the fp16 converter added (a Cast of the model input) get the range of the tensor
    they cast.
    """
    ranges = load_tensors_data(ranges_path)
    data = dict(ranges.data)
    for node in model.graph.node:
        if node.op_type == "Cast" and node.input[0] in data and node.output[0] not in data:
            data[node.output[0]] = data[node.input[0]]
    limit = float(np.finfo(np.float16).max)
    halves = {
        name: TensorData(
            lowest=np.asarray(np.clip(value.range_value[0], -limit, limit), np.float16),
            highest=np.asarray(np.clip(value.range_value[1], -limit, limit), np.float16),
        )
        for name, value in data.items()
    }
    destination = Path(destination)
    destination.unlink(missing_ok=True)
    save_tensors_data(TensorsData(ranges.calibration_method, halves), destination)
    return destination
