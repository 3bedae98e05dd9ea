"""tests/ is a package: helpers live in tests/support/, everything imports them absolutely, nothing
edits sys.path (benchmarks run as ``python -m tests.benchmarks.NAME`` from the repository root)."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
PATH_EDIT = re.compile(r"\bsys\.path\.(insert|append|extend)\(")


def test_no_module_edits_sys_path():
    edits = [
        f"{path.relative_to(TESTS)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PATH_EDIT.search(line) and path != Path(__file__).resolve()
    ]
    assert edits == [], "import from tests.support / tests.benchmarks instead"


def test_helpers_live_in_support():
    top_level = sorted(p.name for p in TESTS.glob("*.py"))
    assert top_level == ["__init__.py", "conftest.py"], "move helper modules to tests/support/"
