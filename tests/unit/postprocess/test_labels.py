import pytest

from postprocess import LabelsError, load_labels


def test_load_labels(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("tench, Tinca tinca\ngoldfish\n", encoding="utf-8")
    assert load_labels(path, expected=2) == ("tench, Tinca tinca", "goldfish")


def test_wrong_count_is_refused(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(LabelsError, match="has 2 labels, the model has 1000"):
        load_labels(path, expected=1000)


def test_empty_line_is_refused(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("a\n\nb\n", encoding="utf-8")
    with pytest.raises(LabelsError, match="line 2 is empty"):
        load_labels(path)
