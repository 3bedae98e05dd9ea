"""Which files the CLI classifies: the files named, and the images found under the directories named."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# What the server's default `allowed_formats` (JPEG, PNG) covers; `--ext` widens it.
DEFAULT_EXTENSIONS = (".jpg", ".jpeg", ".png")


@dataclass
class Found:
    images: list[Path] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)  # named but not there


def normalise_extensions(extensions: Iterable[str]) -> tuple[str, ...]:
    """``["JPG", ".png"]`` -> ``(".jpg", ".png")``."""
    return tuple(sorted({"." + ext.strip().lower().lstrip(".") for ext in extensions if ext.strip()}))


def find_images(
    paths: Sequence[str | os.PathLike[str]], extensions: Iterable[str] = DEFAULT_EXTENSIONS
) -> Found:
    """Named files as they are (whatever their extension: the user chose them); directories searched
    recursively for files with one of ``extensions`` (any case), sorted. Each file appears once."""
    wanted = normalise_extensions(extensions)
    found, seen = Found(), set()

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            found.images.append(path)

    for name in paths:
        path = Path(name)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.suffix.lower() in wanted and child.is_file():
                    add(child)
        elif path.exists():
            add(path)
        else:
            found.missing.append(path)
    return found
