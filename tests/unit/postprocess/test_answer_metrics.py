"""What the postprocess model's answer metrics write, read back through a recording metric family."""

import math

import numpy as np

from postprocess.answer_metrics import AnswerMetrics
from postprocess.config import PostprocessConfig
from postprocess.drift import Distribution
from tests.support.metric_family import recording_metrics

LABELS = ["cat", "dog", "fish"]


def probabilities(*rows):
    return np.array(rows, dtype=np.float32)


def test_confidence_low_confidence_and_classes():
    metrics, families = recording_metrics()
    config = PostprocessConfig(
        low_confidence_threshold=0.5, weights="w", source_sha256="s", preprocessing="p", source="zoo"
    )
    answers = AnswerMetrics(metrics, config, LABELS, reference=None)
    answers.write([probabilities([0.9, 0.05, 0.05], [0.2, 0.4, 0.4]), probabilities([0.1, 0.8, 0.1])])
    assert families["densenet_top1_probability_count"].value() == 3
    assert families["densenet_low_confidence_answers_total"].value() == 1
    classes = families["densenet_predictions_total"]
    assert [classes.value(class_id=str(i), label=label) for i, label in enumerate(LABELS)] == [1, 2, 0]
    assert (
        families["densenet_served_weights_info"].value(
            weights="w", sha256="s", preprocessing="p", source="zoo"
        )
        == 1
    )
    assert "densenet_drift_score" not in families  # no reference, no drift


def test_drift_is_scored_once_the_window_is_full():
    metrics, families = recording_metrics()
    reference = Distribution.of(np.array([0, 1, 2]), np.array([0.9, 0.9, 0.9]), classes=3)
    answers = AnswerMetrics(metrics, PostprocessConfig(drift_window=4), LABELS, reference)
    assert math.isnan(families["densenet_drift_score"].value())
    answers.write([probabilities([0.9, 0.05, 0.05], [0.9, 0.05, 0.05])])
    assert families["densenet_drift_window_answers"].value() == 2
    assert math.isnan(families["densenet_drift_score"].value())  # a partial window is not scored
    answers.write([probabilities([0.9, 0.05, 0.05], [0.9, 0.05, 0.05])])
    assert families["densenet_drift_window_answers"].value() == 4
    assert families["densenet_drift_score"].value() > 0  # all one class against an even mix
    assert families["densenet_drift_noise_floor"].value() > 0
