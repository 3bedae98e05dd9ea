"""The names prediction-quality monitoring shares (docs/quality.md): the densenet_* metrics the
python models write and the client, the dashboards and the alerts read, and the drift reference's
file format (written by ``densenet-client baseline``, read by the postprocess model)."""

from __future__ import annotations

DRIFT_REFERENCE_FORMAT = "densenet-drift-reference/1"

# Written by the preprocess model.
IMAGES_REFUSED = "densenet_images_refused_total"
IMAGE_BYTES = "densenet_image_bytes"  # histogram: its _count is every image received
IMAGE_PIXELS = "densenet_image_pixels"  # histogram
PREPROCESSING_INFO = "densenet_preprocessing_info"

# Written by the postprocess model.
TOP1_PROBABILITY = "densenet_top1_probability"  # histogram: its _count is every answer
LOW_CONFIDENCE_ANSWERS = "densenet_low_confidence_answers_total"
LOW_CONFIDENCE_THRESHOLD = "densenet_low_confidence_threshold"
PREDICTIONS = "densenet_predictions_total"
SERVED_WEIGHTS_INFO = "densenet_served_weights_info"
DRIFT_SCORE = "densenet_drift_score"
DRIFT_WINDOW_ANSWERS = "densenet_drift_window_answers"
DRIFT_NOISE_FLOOR = "densenet_drift_noise_floor"

METRICS = (
    IMAGES_REFUSED,
    IMAGE_BYTES,
    IMAGE_PIXELS,
    PREPROCESSING_INFO,
    TOP1_PROBABILITY,
    LOW_CONFIDENCE_ANSWERS,
    LOW_CONFIDENCE_THRESHOLD,
    PREDICTIONS,
    SERVED_WEIGHTS_INFO,
    DRIFT_SCORE,
    DRIFT_WINDOW_ANSWERS,
    DRIFT_NOISE_FLOOR,
)
HISTOGRAMS = (IMAGE_BYTES, IMAGE_PIXELS, TOP1_PROBABILITY)


def count_series(histogram: str) -> str:
    """The series of a histogram's observation count, as Prometheus names it."""
    return f"{histogram}_count"


def bucket_series(histogram: str) -> str:
    """The series of a histogram's cumulative buckets (label ``le``)."""
    return f"{histogram}_bucket"
