"""Dependencies point downward: pure packages import none of ours, models never import the launcher,
and the client SDK stands alone (docs/design.md, "Layout")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"preprocess", "postprocess", "densenet_build", "densenet_serve", "densenet_cpu", "densenet_client"}

# where the code lives -> which of our packages it may import (besides itself)
ALLOWED = {
    "preprocess": set(),
    "postprocess": set(),
    "serve/densenet_cpu": {"preprocess"},
    "client/densenet_client": set(),
    "build/densenet_build": {"preprocess"},
    "serve/densenet_serve": {"preprocess"},
    "model_repository": {"preprocess", "postprocess", "densenet_cpu"},
}


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("folder", sorted(ALLOWED))
def test_imports_point_downward(folder):
    own = Path(folder).name
    problems = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - ALLOWED[folder] - {own})
        for path in sorted((ROOT / folder).rglob("*.py"))
    }
    assert {file: bad for file, bad in problems.items() if bad} == {}


def test_the_check_sees_imports():
    assert imported_packages(ROOT / "model_repository" / "densenet" / "1" / "model.py") == {"densenet_cpu"}
