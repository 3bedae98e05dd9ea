"""No contract constant is defined twice: the names of densenet_contract live there and only there.

A module-level assignment (or class attribute) of a contract value anywhere else in the product is a
copy that can drift; uses go through ``densenet_contract``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from densenet_contract import monitoring, names, topk

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ["preprocess", "postprocess", "build", "serve", "client", "model_repository", "docker"]
CONTRACT = ROOT / "contract"


def contract_values() -> dict[object, str]:
    values: dict[object, str] = {}
    for module in (names, topk, monitoring):
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str | tuple):
                values[value] = f"{module.__name__}.{name}"
    return values


VALUES = contract_values()
COUNTS = {"NUM_CLASSES", "MAX_TOP_K", "CLASSES", "TOP_K"}  # 1000 is a contract value only under these names


def definitions(path: Path) -> list[tuple[int, str, str]]:
    """(line, assigned name, the contract constant it copies) for each copy in ``path``."""
    copies = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", "")
            if not name.isupper():
                continue
            try:
                literal = ast.literal_eval(value)
            except (ValueError, SyntaxError, TypeError):
                continue
            if isinstance(literal, list):
                literal = tuple(literal)
            if isinstance(literal, str | tuple) and literal in VALUES:
                copies.append((node.lineno, name, VALUES[literal]))
            elif literal == names.NUM_CLASSES and any(word in name for word in COUNTS):
                copies.append((node.lineno, name, "densenet_contract.names.NUM_CLASSES"))
    return copies


def product_files() -> list[Path]:
    return sorted(p for folder in PRODUCT for p in (ROOT / folder).rglob("*.py"))


def test_the_contract_is_seen():
    assert {"densenet_ensemble", "data_0", "fc6_1", "DENSENET_SHM_PREFIX", "preprocessing"} <= set(VALUES)
    assert len(product_files()) > 50


def test_the_check_finds_a_copy(tmp_path):
    copy = tmp_path / "copy.py"
    copy.write_text(
        'ENSEMBLE = "densenet_ensemble"\n'
        "MAX_TOP_K = 1000\n"
        'KEYS = ("weights", "source_sha256", "preprocessing", "source")\n'
    )
    assert [name for _, name, _ in definitions(copy)] == ["ENSEMBLE", "MAX_TOP_K", "KEYS"]


# Values no product module may write even inline (a call's argument, a dict key): the metric series
# the models write and the client, dashboards and alerts read, the drift file's format, the top_k refusal.
SERIES = {
    f"{metric}{suffix}": f"densenet_contract.monitoring ({metric})"
    for metric in monitoring.METRICS
    for suffix in ("", *(("_count", "_bucket", "_sum") if metric in monitoring.HISTOGRAMS else ()))
}
INLINE = {**SERIES, monitoring.DRIFT_REFERENCE_FORMAT: "densenet_contract.monitoring.DRIFT_REFERENCE_FORMAT"}
TOP_K_MESSAGE = "top_k must be a whole number"


def inline_copies(path: Path) -> list[tuple[int, str]]:
    """(line, the contract value) for each string literal in ``path`` that writes one out."""
    copies = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value in INLINE:
                copies.append((node.lineno, INLINE[node.value]))
            elif node.value.startswith(TOP_K_MESSAGE):
                copies.append((node.lineno, "densenet_contract.topk.invalid_top_k"))
    return copies


@pytest.mark.parametrize("path", product_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_contract_value_is_written_again(path):
    """Neither a constant assigned again (``definitions``) nor a value written inline (``inline_copies``)."""
    copies = [f"line {line}: {name} copies {where}" for line, name, where in definitions(path)]
    copies += [f"line {line}: {value}" for line, value in inline_copies(path)]
    assert copies == [], f"{path.relative_to(ROOT)}: use densenet_contract instead"


def test_the_inline_check_finds_a_copy(tmp_path):
    copy = tmp_path / "copy.py"
    copy.write_text(
        'metrics.counter("densenet_predictions_total", "Answers")\n'
        'samples.get("densenet_top1_probability_count")\n'
        'data = {"format": "densenet-drift-reference/1"}\n'
        'raise ValueError(f"top_k must be a whole number from 1 to {n}")\n'
    )
    assert [line for line, _ in inline_copies(copy)] == [1, 2, 3, 4]  # f-strings included
