"""Which files the CLI sends."""

from __future__ import annotations

from densenet_client.cli.files import find_images, normalise_extensions


def make(root, *names):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def test_folders_are_searched_recursively_for_image_extensions_in_any_case(tmp_path):
    make(tmp_path, "b.jpg", "a.PNG", "sub/c.jpeg", "sub/deeper/d.JPG", "notes.txt", "sub/e.gif")
    found = find_images([tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in found.images] == [
        "a.PNG",
        "b.jpg",
        "sub/c.jpeg",
        "sub/deeper/d.JPG",
    ]
    assert found.missing == []


def test_named_files_are_sent_whatever_their_extension(tmp_path):
    make(tmp_path, "photo.gif", "scan.bin")
    found = find_images([tmp_path / "scan.bin", tmp_path / "photo.gif"])
    assert [p.name for p in found.images] == ["scan.bin", "photo.gif"]


def test_missing_paths_are_reported_and_duplicates_dropped(tmp_path):
    make(tmp_path, "a.jpg")
    found = find_images([tmp_path / "a.jpg", tmp_path, tmp_path / "gone.jpg", str(tmp_path / "a.jpg")])
    assert [p.name for p in found.images] == ["a.jpg"]
    assert found.missing == [tmp_path / "gone.jpg"]


def test_extensions_can_be_widened(tmp_path):
    make(tmp_path, "a.webp", "b.jpg")
    assert [p.name for p in find_images([tmp_path], ["webp"]).images] == ["a.webp"]
    assert normalise_extensions(["JPG", ".png", " webp ", ""]) == (".jpg", ".png", ".webp")
