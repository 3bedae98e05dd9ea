import pytest

from densenet_client.cli.accuracy import Accuracy, wilson_interval


@pytest.mark.parametrize(
    ("hits", "total", "low", "high"),
    # Reference values of the Wilson score interval (z = 1.96).
    [(89, 100, 0.8137, 0.9375), (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (1, 2, 0.0945, 0.9055)],
)
def test_wilson_interval(hits, total, low, high):
    assert wilson_interval(hits, total) == pytest.approx((low, high), abs=1e-4)


def test_wilson_interval_without_data_says_nothing_is_known():
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_tallies_and_misses():
    accuracy = Accuracy(k=3)
    accuracy.add(1, [1, 2, 3])  # hit
    accuracy.add(1, [2, 1, 3])  # top-1 miss, top-3 hit
    accuracy.add(1, [2, 4, 5])  # both missed
    accuracy.add(7, [9, 8, 6])  # both missed
    accuracy.add(8, [8, 0, 0])
    assert (accuracy.top1, accuracy.topk, accuracy.total, accuracy.classes) == (2, 3, 5, 3)
    assert accuracy.top1_rate.value == pytest.approx(0.4)
    misses = accuracy.misses()
    assert [(m.class_id, m.missed, m.total) for m in misses] == [(1, 2, 3), (7, 1, 1)]
    assert misses[0].predicted == ((2, 2),)


def test_too_few_predictions_is_an_error():
    with pytest.raises(ValueError, match="top-5"):
        Accuracy().add(1, [1, 2])
