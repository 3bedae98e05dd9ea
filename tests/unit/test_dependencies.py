"""Dependencies point downward, as docs/design.md's "Layout" table says: that table is the rule.

Pure packages import only the contract, models never import the launcher, the client SDK stands
alone, and no package imports itself around a circle.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "docs" / "design.md"
PACKAGE_DIRS = {
    "densenet_contract": "contract/densenet_contract",
    "preprocess": "preprocess",
    "postprocess": "postprocess",
    "densenet_build": "build/densenet_build",
    "densenet_serve": "serve/densenet_serve",
    "densenet_cpu": "serve/densenet_cpu",
    "densenet_client": "client/densenet_client",
}
OURS = set(PACKAGE_DIRS)


def allowed_imports() -> dict[str, set[str]]:
    """The design's Layout table: folder (or package) -> which of our packages it may import."""
    rules = {}
    for line in DESIGN.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\| `([a-z_]+)/`(?: \(`([a-z_]+)`\))? \|.*\| (.*) \|", line)
        if not match or match.group(1) in ("docker", "tests"):
            continue
        folder, package, may = match.groups()
        rules[package or folder] = set(re.findall(r"`([a-z_]+)`", may)) if may != "nothing of ours" else set()
    return rules


RULES = allowed_imports()
CODE = {
    **{package: PACKAGE_DIRS[package] for package in RULES if package in OURS},
    "model_repository": "model_repository",
}


def imported_packages(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)} & OURS


def imported_modules(path: Path) -> set[str]:
    """Absolute module names imported anywhere in ``path`` (relative imports resolved against its package)."""
    found = set()
    parts = _module_name(path).split(".") + (["__init__"] if path.name == "__init__.py" else [])
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = parts[: len(parts) - node.level] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def _module_name(path: Path) -> str:
    for package, folder in PACKAGE_DIRS.items():
        try:
            relative = path.relative_to(ROOT / folder)
        except ValueError:
            continue
        parts = [package, *relative.with_suffix("").parts]
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
    return path.stem


def test_the_table_covers_every_package():
    assert set(RULES) == OURS | {"model_repository"}


@pytest.mark.parametrize("package", sorted(CODE))
def test_imports_follow_the_design_table(package):
    problems = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - RULES[package] - {package})
        for path in sorted((ROOT / CODE[package]).rglob("*.py"))
    }
    assert {file: bad for file, bad in problems.items() if bad} == {}


def test_the_check_sees_imports():
    assert imported_packages(ROOT / "model_repository" / "densenet" / "1" / "model.py") >= {"densenet_cpu"}


def test_no_import_cycle():
    """Between the modules of our packages, imports at any depth (a function's lazy import too)."""
    graph: dict[str, set[str]] = {}
    for folder in PACKAGE_DIRS.values():
        for path in (ROOT / folder).rglob("*.py"):
            graph[_module_name(path)] = imported_modules(path)
    # A module importing its own package (its __init__ re-exports the module) is Python's normal shape.
    edges = {
        name: {m for m in targets if m in graph and m != name and not name.startswith(m + ".")}
        for name, targets in graph.items()
    }
    cycle = _find_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def _find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_check_finds_a_cycle():
    assert _find_cycle({"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}}) == ["a.x", "a.y", "a.z", "a.x"]
    assert _find_cycle({"a.x": {"a.y"}, "a.y": set()}) is None
