import json

import numpy as np
import pytest

from densenet_contract.monitoring import DRIFT_REFERENCE_FORMAT
from postprocess.drift import (
    Distribution,
    DriftWindow,
    drift,
    js_divergence,
    load_reference,
    noise_floor,
)
from postprocess.errors import DriftReferenceError


def test_js_divergence_bounds():
    assert js_divergence([1, 2, 3], [2, 4, 6]) == 0.0  # counts: only the shape matters
    assert js_divergence([1, 0], [0, 1]) == 1.0  # disjoint: 1 bit
    assert 0 < js_divergence([3, 1], [1, 3]) < 1
    assert js_divergence([1, 1], [3, 1]) == pytest.approx(js_divergence([3, 1], [1, 1]))  # symmetric
    assert np.isnan(js_divergence([0, 0], [1, 1]))


def test_js_divergence_known_value():
    # p = (1, 0), q = (1/2, 1/2): m = (3/4, 1/4); JS = (KL(p|m) + KL(q|m)) / 2.
    m = np.array([0.75, 0.25])
    expected = (np.log2(1 / 0.75) + 0.5 * np.log2(0.5 / m[0]) + 0.5 * np.log2(0.5 / m[1])) / 2
    assert js_divergence([1, 0], [1, 1]) == pytest.approx(expected)


def test_the_score_is_the_larger_divergence():
    reference = Distribution.of(np.array([0, 1, 2, 3]), np.array([0.9, 0.9, 0.9, 0.9]), classes=4)
    same_classes_lower_confidence = Distribution.of(np.array([0, 1, 2, 3]), np.array([0.2] * 4), 4)
    result = drift(same_classes_lower_confidence, reference)
    assert result.classes == 0.0
    assert result.confidence == 1.0
    assert result.score == 1.0
    one_class = drift(Distribution.of(np.array([0, 0, 0, 0]), np.array([0.9] * 4), 4), reference)
    assert one_class.confidence == 0.0
    assert one_class.score == one_class.classes > 0


def test_window_keeps_only_the_most_recent_answers():
    window = DriftWindow(size=3, classes=5)
    window.add(np.array([0, 1]), np.array([0.05, 0.95]))
    assert window.answers == 2
    window.add(np.array([2, 3]), np.array([0.5, 0.5]))  # evicts the answer of class 0
    assert window.answers == 3
    expected = Distribution.of(np.array([1, 2, 3]), np.array([0.95, 0.5, 0.5]), 5)
    assert window.distribution.classes.tolist() == expected.classes.tolist()
    assert window.distribution.confidence.tolist() == expected.confidence.tolist()
    window.add(np.array([4, 4, 4, 4, 0]), np.array([0.1] * 5))  # longer than the window
    assert window.distribution.classes.tolist() == [1, 0, 0, 0, 2]


def test_window_matches_a_recount_after_many_random_batches():
    rng = np.random.default_rng(0)
    window, history = DriftWindow(size=50, classes=10), []
    for _ in range(40):
        n = int(rng.integers(1, 20))
        ids, scores = rng.integers(0, 10, n), rng.random(n)
        window.add(ids, scores)
        history += list(zip(ids.tolist(), scores.tolist(), strict=True))
        recent = history[-50:]
        expected = Distribution.of(np.array([i for i, _ in recent]), np.array([s for _, s in recent]), 10)
        assert window.distribution.classes.tolist() == expected.classes.tolist()
        assert window.distribution.confidence.tolist() == expected.confidence.tolist()


def reference_file(tmp_path, **data):
    path = tmp_path / "reference.json"
    path.write_text(json.dumps({"format": DRIFT_REFERENCE_FORMAT, **data}))
    return path


def test_load_reference(tmp_path):
    path = reference_file(tmp_path, class_ids=[1, 1, 3], top1_probabilities=[0.2, 0.99, 1.0])
    reference = load_reference(path, classes=4)
    assert reference.classes.tolist() == [0, 2, 0, 1]
    assert reference.confidence.sum() == 3


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"class_ids": [], "top1_probabilities": []}, "non-empty"),
        ({"class_ids": [1], "top1_probabilities": [0.5, 0.5]}, "equally long"),
        ({"class_ids": [4], "top1_probabilities": [0.5]}, "0..3"),
        ({"class_ids": [-1], "top1_probabilities": [0.5]}, "0..3"),
        ({"class_ids": [1], "top1_probabilities": [1.5]}, r"\[0, 1\]"),
        ({"class_ids": ["a"], "top1_probabilities": [0.5]}, "integers"),
    ],
)
def test_bad_references_are_refused(tmp_path, data, problem):
    with pytest.raises(DriftReferenceError, match=problem):
        load_reference(reference_file(tmp_path, **data), classes=4)


def test_a_file_of_another_format_is_refused(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"class_ids": [1], "top1_probabilities": [0.5]}))
    with pytest.raises(DriftReferenceError, match="not a drift reference"):
        load_reference(path, classes=4)
    with pytest.raises(DriftReferenceError, match="cannot read"):
        load_reference(tmp_path / "missing.json", classes=4)


def test_noise_floor_shrinks_with_the_window_and_is_reproducible():
    rng = np.random.default_rng(1)
    reference = Distribution.of(rng.integers(0, 100, 5000), rng.random(5000), classes=100)
    small, large = noise_floor(reference, 100), noise_floor(reference, 5000)
    assert 0 < large < small < 1
    assert noise_floor(reference, 100) == small  # seeded


def test_a_window_from_the_reference_scores_below_the_floor_and_a_shifted_one_above():
    rng = np.random.default_rng(2)
    reference = Distribution.of(rng.integers(0, 100, 5000), rng.beta(5, 2, 5000), classes=100)
    floor = noise_floor(reference, 1000)
    typical = Distribution.of(rng.integers(0, 100, 1000), rng.beta(5, 2, 1000), classes=100)
    shifted = Distribution.of(rng.integers(0, 30, 1000), rng.beta(2, 5, 1000), classes=100)
    assert drift(typical, reference).score < floor < drift(shifted, reference).score


def test_with_1000_classes_a_window_of_1000_answers_is_far_from_0_by_chance():
    """The figure docs/quality.md quotes: 1000 equally likely classes, a window of 1000 answers."""
    rng = np.random.default_rng(3)
    reference = Distribution.of(rng.integers(0, 1000, 50_000), rng.beta(5, 2, 50_000), classes=1000)
    floor, large = noise_floor(reference, 1000), noise_floor(reference, 10_000)
    print(f"noise floor, 1000 classes, window 1000: {floor:.3f}; window 10000: {large:.3f}")
    assert 0.2 < floor < 0.3
    assert large < 0.05
