import numpy as np
import pytest

from postprocess.confidence import CONFIDENCE_BUCKETS, batch_quality, confidence_bins


def test_confidence_bins_follow_prometheus_le_semantics():
    # A value equal to a bound is in that bucket; above every bound is the +Inf bucket.
    scores = np.array([0.0, 0.1, 0.1000001, 0.5, 0.99, 0.995, 1.0])
    assert confidence_bins(scores).tolist() == [0, 0, 1, 4, 10, 11, 11]
    assert len(CONFIDENCE_BUCKETS) == 11


def test_float32_scores_bin_like_the_doubles_the_histogram_observes():
    scores = np.array([0.1, 0.3, 0.7], dtype=np.float32)  # 0.1f is slightly above 0.1
    observed = [float(s) for s in scores]
    for score, index in zip(observed, confidence_bins(scores), strict=True):
        bounds = [*CONFIDENCE_BUCKETS, np.inf]
        assert score <= bounds[index]
        assert index == 0 or score > bounds[index - 1]


def test_batch_quality_counts_top1_classes_and_low_confidence():
    probabilities = np.array(
        [[0.7, 0.2, 0.1], [0.1, 0.45, 0.45], [0.3, 0.3, 0.4], [0.9, 0.05, 0.05]], dtype=np.float32
    )
    quality = batch_quality(probabilities, threshold=0.5)
    assert quality.top1_ids.tolist() == [0, 1, 2, 0]  # a tie goes to the lower class id
    assert quality.top1_scores.tolist() == pytest.approx([0.7, 0.45, 0.4, 0.9])
    assert quality.low_confidence == 2
    assert quality.class_counts == {0: 2, 1: 1, 2: 1}


def test_threshold_is_strictly_below():
    quality = batch_quality(np.array([[0.5, 0.5]], dtype=np.float32), threshold=0.5)
    assert quality.low_confidence == 0
