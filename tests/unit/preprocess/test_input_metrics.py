"""What the preprocess model's input metrics write, read back through a recording metric family."""

from preprocess import PreprocessConfig
from preprocess.input_metrics import InputMetrics
from preprocess.quality import all_reasons
from tests.support.metric_family import recording_metrics


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
