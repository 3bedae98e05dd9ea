import pytest

from densenet_client.cli.datasets import DatasetError, find_labelled, ilsvrc2012


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8 not decoded here")
    return path


def test_the_class_index_is_ilsvrc2012_in_standard_order():
    index = ilsvrc2012()
    assert len(index.wnids) == len(set(index.wnids)) == 1000
    assert list(index.wnids) == sorted(index.wnids)
    assert (index.wnids[0], index.short_name(0)) == ("n01440764", "tench")
    assert index.names[281] == "tabby, tabby cat"


def test_the_class_index_matches_the_served_labels():
    from pathlib import Path

    labels = (Path(__file__).resolve().parents[4] / "model_repository/densenet/labels.txt").read_text()
    assert list(ilsvrc2012().names) == labels.splitlines()


@pytest.mark.parametrize(
    ("label", "class_id"),
    [
        ("281", 281),
        ("n02123045", 281),
        ("tabby", 281),
        ("Tabby, tabby cat", 281),
        ("tench", 0),
        ("missile", 657),  # its whole label, though also a synonym of 744 "projectile, missile"
        ("projectile", 744),
    ],
)
def test_labels_by_id_wnid_or_name(label, class_id):
    assert ilsvrc2012().id_of(label) == class_id


@pytest.mark.parametrize("label", ["1000", "n99999999", "unicorn", "crane"])  # crane: a bird and a machine
def test_unknown_or_ambiguous_labels(label):
    with pytest.raises(DatasetError, match="is not a class id"):
        ilsvrc2012().id_of(label)


def test_wnid_folders(tmp_path):
    _touch(tmp_path / "n02123045" / "a.JPEG")
    _touch(tmp_path / "n01440764" / "deep" / "b.jpg")
    _touch(tmp_path / "n01440764" / "notes.txt")
    found = find_labelled(tmp_path)
    assert found.layout == "wnid folders"
    assert [(p.name, c) for p, c in found.items] == [("b.jpg", 0), ("a.JPEG", 281)]


def test_wnid_file_names_and_unlabelled_files_are_reported(tmp_path):
    _touch(tmp_path / "n02123045_tabby.JPEG")
    _touch(tmp_path / "n01440764_10026.JPEG")
    _touch(tmp_path / "holiday.jpg")
    _touch(tmp_path / "n00000001_x.jpg")
    found = find_labelled(tmp_path)
    assert found.layout == "wnid file names"
    assert sorted(c for _, c in found.items) == [0, 281]
    assert sorted(s.split(": ")[1] for s in found.skipped) == [
        "no wnid in its folder or name",
        "not an ILSVRC-2012 class",
    ]


def test_csv_with_header_ids_wnids_and_names(tmp_path):
    for name in ("a.jpg", "b.jpg", "sub/c.png"):
        _touch(tmp_path / name)
    csv = tmp_path / "labels.csv"
    csv.write_text('file,label\na.jpg,281\nb.jpg,n01440764\nsub/c.png,"tabby, tabby cat"\nmissing.jpg,0\n')
    found = find_labelled(csv)
    assert [(p.name, c) for p, c in found.items] == [("a.jpg", 281), ("b.jpg", 0), ("c.png", 281)]
    assert found.skipped == [f"{csv}:5: missing.jpg: no such file"]


def test_csv_errors_name_the_line(tmp_path):
    _touch(tmp_path / "a.jpg")
    csv = tmp_path / "labels.csv"
    csv.write_text("a.jpg,281\na.jpg,unicorn\n")
    with pytest.raises(DatasetError, match=r"labels.csv:2: 'unicorn' is not a class id"):
        find_labelled(csv)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p / "nope", "no such file or directory"),
        (lambda p: p, "no images"),
        (lambda p: _touch(p / "x" / "holiday.jpg").parents[1], "no image is labelled"),
    ],
)
def test_nothing_usable_is_a_clear_error(tmp_path, setup, message):
    with pytest.raises(DatasetError, match=message):
        find_labelled(setup(tmp_path))
