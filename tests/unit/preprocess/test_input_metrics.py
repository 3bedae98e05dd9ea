"""What the preprocess model's input metrics record (reasons, sizes, the info gauge) and write, read back
through a recording metric family."""

import numpy as np
import pytest

from preprocess import (
    CorruptImageError,
    EmptyImageError,
    FormatNotAllowedError,
    ImageError,
    ImageTooLargeError,
    PreprocessConfig,
    Preprocessor,
    TooManyPixelsError,
)
from preprocess.input_metrics import InputMetrics, all_reasons, preprocessing_labels, refusal_reason
from tests.support.imagefactory import bad_images, encode, photo
from tests.support.metric_family import recording_metrics


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (EmptyImageError("x"), "empty"),
        (ImageTooLargeError("x"), "too_large"),
        (FormatNotAllowedError("x"), "format"),
        (TooManyPixelsError("x"), "too_many_pixels"),
        (CorruptImageError("x"), "corrupt"),
        (ImageError("x"), "other"),
    ],
)
def test_each_error_has_one_bounded_reason(error, reason):
    assert refusal_reason(error) == reason
    assert reason in all_reasons()


def test_reasons_of_real_refusals():
    preprocessor = Preprocessor(PreprocessConfig(decode_threads=1))
    images = bad_images()
    names = ["empty-after-padding", "text", "gif", "truncated-jpeg", "png-bomb", "jpeg-bomb"]
    results = preprocessor.process([images[name] for name in names]).results
    reasons = [refusal_reason(r) for r in results]
    assert reasons == ["empty", "format", "format", "corrupt", "too_many_pixels", "too_many_pixels"]


def test_measured_sizes_are_bytes_without_padding_and_accepted_pixels():
    preprocessor = Preprocessor(PreprocessConfig(decode_threads=1))
    image = encode(photo("chelsea.png").resize((320, 200)), "JPEG")
    padded = np.zeros(len(image) + 100, np.uint8)
    padded[: len(image)] = np.frombuffer(image, np.uint8)
    batch = preprocessor.process([padded, b"not an image"])
    results, sizes = batch.results, batch.sizes
    assert results[0].shape == (3, 224, 224)
    assert isinstance(results[1], ImageError)
    assert sizes == [(len(image), 320 * 200), (len(b"not an image"), 0)]


def test_preprocessing_labels_name_what_reaches_the_model():
    labels = preprocessing_labels(PreprocessConfig.from_preset("densenet_caffe"))
    assert labels == {
        "preset": "densenet_caffe",
        "resize_mode": "shorter_side_crop",
        "resize_size": "256",
        "output_size": "224x224",
        "interpolation": "bilinear",
        "channel_order": "BGR",
        "mean": "123.68,116.78,103.94",
        "std": "58.8235,58.8235,58.8235",
        "resampling_mode": "fast",
    }


def test_quality_metrics_is_a_known_parameter():
    assert PreprocessConfig.from_parameters({"quality_metrics": "false"}).quality_metrics is False
    assert PreprocessConfig.from_parameters({}).quality_metrics is True


def test_both_pipelines_measure_the_same_input_sizes():
    from preprocess.dali import DaliPreprocessor

    config = PreprocessConfig(decode_threads=1)
    preprocessor = Preprocessor(config)
    image = encode(photo("coffee.png").resize((300, 200)), "JPEG")
    rows = [image, b"not an image", bad_images()["png-bomb"]]
    sizes = preprocessor.process(rows).sizes
    dali = DaliPreprocessor(config, max_batch_size=4).process(rows).sizes
    assert dali == sizes == [(len(image), 300 * 200), (12, 0), (len(rows[2]), 0)]
    batch = preprocessor.process(rows)
    assert batch.sizes == sizes


def test_refusals_sizes_and_the_info_gauge():
    metrics, families = recording_metrics()
    inputs = InputMetrics(metrics, PreprocessConfig())
    refused = families["densenet_images_refused_total"]
    assert {dict(labels)["reason"] for labels in refused.metrics} == set(all_reasons())  # all exist at 0

    inputs.write([(["corrupt"], [(1000, 0)]), (["corrupt", "too_large"], [(5, 0), (20_000_000, 0)])])
    inputs.write([([], [(50_000, 500 * 375)])])
    assert refused.value(reason="corrupt") == 2
    assert refused.value(reason="too_large") == 1
    assert refused.value(reason="empty") == 0
    assert families["densenet_image_bytes_count"].value() == 4  # every image received
    assert families["densenet_image_pixels_count"].value() == 1  # only those with a known size
    assert families["densenet_image_pixels_sum"].value() == 500 * 375
    [(labels, info)] = families["densenet_preprocessing_info"].metrics.items()
    assert dict(labels)["preset"] == "densenet_caffe"
    assert info.value == 1
