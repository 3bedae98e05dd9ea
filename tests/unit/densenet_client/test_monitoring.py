import math

import pytest

from densenet_client.cli.quality import render
from densenet_client.monitoring import MetricsFormatError, parse_metrics, summarize

METRICS = r"""
# HELP nv_inference_request_success Number of successful inference requests
# TYPE nv_inference_request_success counter
nv_inference_request_success{model="densenet_ensemble",version="1"} 12
# TYPE densenet_top1_probability histogram
densenet_top1_probability_count 10
densenet_top1_probability_sum 6.5
densenet_top1_probability_bucket{le="0.5"} 4
densenet_top1_probability_bucket{le="0.9"} 7
densenet_top1_probability_bucket{le="+Inf"} 10
densenet_low_confidence_answers_total 4
densenet_low_confidence_threshold 0.5
densenet_predictions_total{class_id="0",label="tench, Tinca tinca"} 0
densenet_predictions_total{class_id="281",label="tabby, tabby cat"} 7
densenet_predictions_total{class_id="607",label="jack-o'-lantern"} 3
densenet_predictions_total{class_id="999",label="say \"cheese\" \\ back"} 0
densenet_image_bytes_count 12
densenet_images_refused_total{reason="format"} 1
densenet_images_refused_total{reason="corrupt"} 1
densenet_images_refused_total{reason="empty"} 0
densenet_drift_score Nan
densenet_drift_window_answers 0
densenet_served_weights_info{preprocessing="densenet_caffe",sha256="abc",source="zoo",weights="densenet-7"} 1
densenet_preprocessing_info{channel_order="BGR",preset="densenet_caffe",resize_size="256"} 1
"""


def test_parse_metrics_reads_labels_escapes_and_special_values():
    samples = parse_metrics(METRICS)
    assert samples["nv_inference_request_success"] == {
        (("model", "densenet_ensemble"), ("version", "1")): 12.0
    }
    labels = {dict(k)["class_id"]: dict(k)["label"] for k in samples["densenet_predictions_total"]}
    assert labels["999"] == 'say "cheese" \\ back'
    assert labels["607"] == "jack-o'-lantern"
    assert math.isnan(samples["densenet_drift_score"][()])
    assert samples["densenet_top1_probability_bucket"][(("le", "+Inf"),)] == 10


@pytest.mark.parametrize("line", ["what is this", "name{label=unquoted} 1", "name 1x"])
def test_bad_lines_are_refused(line):
    with pytest.raises(MetricsFormatError):
        parse_metrics(line)


def test_summarize():
    summary = summarize(parse_metrics(METRICS), top=5)
    assert (summary.answers, summary.low_confidence, summary.threshold) == (10, 4, 0.5)
    assert summary.low_confidence_share == 0.4
    assert summary.top1_buckets == ((0.5, 4), (0.9, 7), (math.inf, 10))
    assert summary.median_top1 == 0.9
    assert [(c.class_id, c.answers) for c in summary.top_classes] == [(281, 7), (607, 3)]
    assert summary.images == 12
    assert summary.refused == {"format": 1, "corrupt": 1, "empty": 0}
    assert summary.refused_share == pytest.approx(2 / 12)
    assert math.isnan(summary.drift_score)
    assert summary.weights == {
        "preprocessing": "densenet_caffe",
        "sha256": "abc",
        "source": "zoo",
        "weights": "densenet-7",
    }
    assert summary.preprocessing["preset"] == "densenet_caffe"


@pytest.mark.parametrize(
    "part",
    [
        "weights        densenet-7",
        "  source       zoo",
        "low confidence 4 (40.0%) with top-1 probability below 0.5",
        "0.9 - 1",
        "tabby, tabby cat",
        "images         12, refused 2 (16.7%)",
        "drift          the window is not full yet (0 answers)",
    ],
)
def test_render_prints_every_part(part):
    assert part in render(summarize(parse_metrics(METRICS)))


def test_a_server_without_quality_metrics_is_named():
    with pytest.raises(MetricsFormatError, match="no densenet_"):
        summarize(parse_metrics('nv_inference_request_success{model="x"} 1'))


def test_drift_off_when_the_server_has_no_reference():
    text = METRICS.replace("densenet_drift_score Nan\n", "").replace("densenet_drift_window_answers 0\n", "")
    summary = summarize(parse_metrics(text))
    assert summary.drift_score is None
    assert "drift          off" in render(summary)
