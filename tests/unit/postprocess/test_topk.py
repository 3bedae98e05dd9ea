import numpy as np
import pytest

from densenet_contract.errors import InvalidTopK
from postprocess import label_array, softmax, top_k


def test_softmax_rows_sum_to_one_and_match_the_formula():
    logits = np.random.default_rng(0).normal(0, 5, (4, 1000, 1, 1)).astype(np.float32)
    probs = softmax(logits)
    assert probs.shape == (4, 1000)
    assert probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    flat = logits.reshape(4, -1).astype(np.float64)
    reference = np.exp(flat) / np.exp(flat).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(probs, reference, rtol=1e-5, atol=1e-8)


def test_softmax_is_stable_for_huge_logits():
    probs = softmax(np.array([[1000.0, 0.0, -1000.0]], np.float32))
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs[0], [1.0, 0.0, 0.0], atol=1e-7)


def test_top_k_best_first():
    probs = np.array([[0.1, 0.5, 0.05, 0.35], [0.4, 0.3, 0.2, 0.1]], np.float32)
    ids, scores = top_k(probs, 3)
    assert ids.dtype == np.int32
    assert scores.dtype == np.float32
    assert ids.tolist() == [[1, 3, 0], [0, 1, 2]]
    np.testing.assert_allclose(scores, [[0.5, 0.35, 0.1], [0.4, 0.3, 0.2]])


def test_top_k_ties_go_to_lower_ids_and_k_equal_classes_works():
    probs = np.full((1, 5), 0.2, np.float32)
    ids, _ = top_k(probs, 5)
    assert ids.tolist() == [[0, 1, 2, 3, 4]]
    ids, _ = top_k(probs, 2)
    assert ids.tolist() == [[0, 1]]


def test_top_k_matches_full_sort_on_random_data():
    probs = softmax(np.random.default_rng(3).normal(size=(8, 1000)).astype(np.float32))
    ids, scores = top_k(probs, 10)
    expected = np.argsort(-probs, axis=1, kind="stable")[:, :10]
    assert ids.tolist() == expected.tolist()
    np.testing.assert_array_equal(scores, np.take_along_axis(probs, expected, axis=1))


@pytest.mark.parametrize("k", [0, 6, -1])
def test_top_k_out_of_range(k):
    with pytest.raises(InvalidTopK):
        top_k(np.zeros((1, 5), np.float32), k)


def test_label_array_is_utf8_bytes():
    labels = label_array(np.array([[2, 0]], np.int32), ["a", "b", "café"])
    assert labels.dtype == object
    assert labels.tolist() == [["café".encode(), b"a"]]
