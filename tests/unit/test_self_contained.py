"""A clone of this repository is the whole project: nothing points at files outside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"\.\./shared|shared/DESIGN\.md|/work/")
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()


def test_no_tracked_file_refers_outside_the_repository():
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    offenders = []
    for name in files:
        path = ROOT / name
        if name == THIS or path.suffix in {".onnx", ".png", ".jpg", ".plan"} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="ignore")
        offenders += [f"{name}: {m.group(0)}" for m in OUTSIDE.finditer(text)]
    assert offenders == [], offenders
