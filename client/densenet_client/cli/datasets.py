"""Labelled image sets for ``densenet-client evaluate``: which file is which ILSVRC-2012 class.

Three layouts are read, the ones ImageNet copies come in:

- a folder of ``<wnid>/`` sub-folders (``train/n01440764/x.JPEG``, torchvision's ImageFolder);
- a folder of files named ``<wnid>_<anything>`` (``n01440764_tench.JPEG``, ``n01440764_10026.JPEG``);
- a CSV file ``file,label``: the file relative to the CSV, the label a class id (0-999), a wnid or
  a class name (``tabby``, or the whole ``tabby, tabby cat``); a header row is skipped.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from .files import DEFAULT_EXTENSIONS, normalise_extensions

WNID = re.compile(r"n\d{8}")


class DatasetError(ValueError):
    """The folder or CSV cannot be read as a labelled image set; the message says why."""


@dataclass(frozen=True)
class ClassIndex:
    """The 1000 ILSVRC-2012 classes in the standard order (sorted wnids): id ↔ wnid ↔ names."""

    wnids: tuple[str, ...]
    names: tuple[str, ...]  # "tabby, tabby cat": every synonym, comma-separated

    def id_of(self, label: str) -> int:
        """A class id from an id, a wnid, a full name or one unambiguous synonym (any case)."""
        text = label.strip()
        if text.isdigit() and int(text) < len(self.wnids):
            return int(text)
        lookup = _lookup(self)
        key = text.lower()
        if key in lookup:
            return lookup[key]
        raise DatasetError(f"'{label}' is not a class id (0-{len(self.wnids) - 1}), a wnid or a class name")

    def short_name(self, class_id: int) -> str:
        return self.names[class_id].split(",")[0]


@cache
def _lookup(index: ClassIndex) -> dict[str, int]:
    def unique(pairs: list[tuple[str, int]]) -> dict[str, int]:
        ids: dict[str, set[int]] = {}
        for key, class_id in pairs:
            ids.setdefault(key.strip().lower(), set()).add(class_id)
        # "crane" is a bird and a machine: a name two classes share labels neither.
        return {key: found.pop() for key, found in ids.items() if len(found) == 1}

    synonyms = unique([(s, i) for i, names in enumerate(index.names) for s in names.split(",")])
    # A class's whole label line wins over another's synonym ("missile" vs "projectile, missile").
    full = unique([(names, i) for i, names in enumerate(index.names)])
    return {**synonyms, **full, **{wnid.lower(): i for i, wnid in enumerate(index.wnids)}}


@cache
def ilsvrc2012() -> ClassIndex:
    text = resources.files(__package__).joinpath("data/ilsvrc2012_classes.tsv").read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line]
    return ClassIndex(tuple(r[0] for r in rows), tuple(r[1] for r in rows))


@dataclass
class LabelledSet:
    """Images with their class ids, in a stable order; what could not be labelled, with reasons."""

    items: list[tuple[Path, int]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    layout: str = ""


def find_labelled(path: str | Path, extensions: tuple[str, ...] = DEFAULT_EXTENSIONS) -> LabelledSet:
    """Read ``path`` (a folder in either layout, or a CSV file) into a :class:`LabelledSet`."""
    path = Path(path)
    index = ilsvrc2012()
    if path.is_file():
        return _from_csv(path, index)
    if not path.is_dir():
        raise DatasetError(f"{path}: no such file or directory")
    wanted = normalise_extensions(extensions)
    images = sorted(p for p in path.rglob("*") if p.suffix.lower() in wanted and p.is_file())
    if not images:
        raise DatasetError(f"{path}: no images ({', '.join(wanted)}) found")
    found, layouts = LabelledSet(), set()
    known = set(index.wnids)
    for image in images:
        # A <wnid>/ folder names the class; else the file name's <wnid>_ prefix does.
        folders = image.relative_to(path).parts[:-1]
        match = WNID.match(image.name)
        if folders and folders[0] in known:
            wnid, layout = folders[0], "wnid folders"
        else:
            wnid, layout = (match.group(0) if match else ""), "wnid file names"
        if wnid in known:
            found.items.append((image, index.wnids.index(wnid)))
            layouts.add(layout)
        else:
            reason = "not an ILSVRC-2012 class" if wnid else "no wnid in its folder or name"
            found.skipped.append(f"{image}: {reason}")
    found.layout = " and ".join(sorted(layouts))
    if not found.items:
        raise DatasetError(
            f"{path}: no image is labelled: expected <wnid>/ sub-folders or <wnid>_*.JPEG names "
            f"(e.g. n01440764_tench.JPEG), or pass a CSV file of file,label"
        )
    return found


def _from_csv(path: Path, index: ClassIndex) -> LabelledSet:
    found = LabelledSet(layout="CSV")
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            rows = list(csv.reader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DatasetError(f"{path}: cannot read it as CSV ({error})") from None
    for number, row in enumerate(rows, start=1):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 2:
            raise DatasetError(f"{path}:{number}: expected 'file,label', got {','.join(row)!r}")
        name, label = row[0].strip(), ",".join(row[1:]).strip()  # class names may hold commas
        try:
            class_id = index.id_of(label)
        except DatasetError as error:
            if number == 1:
                continue  # a header row
            raise DatasetError(f"{path}:{number}: {error}") from None
        image = (path.parent / name).resolve() if not Path(name).is_absolute() else Path(name)
        if image.is_file():
            found.items.append((image, class_id))
        else:
            found.skipped.append(f"{path}:{number}: {name}: no such file")
    if not found.items:
        raise DatasetError(f"{path}: no labelled image found in it")
    return found
