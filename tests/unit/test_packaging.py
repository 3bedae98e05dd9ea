"""The wheel the Dockerfile installs holds every package of the source tree, found rather than listed.

Built as the Docker image builds it (``pip wheel .``), from a copy of the tracked files, offline
(``--no-build-isolation`` with the pinned setuptools of requirements/dev.txt).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_ROOTS = ("contract", "build", "serve", "client", "preprocess", "postprocess")


def tracked_copy(destination: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, check=True, capture_output=True
    ).stdout.split(b"\0")
    for name in filter(None, files):
        source = REPO_ROOT / name.decode()
        if source.is_file():
            target = destination / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def source_packages(tree: Path) -> set[str]:
    """Every folder with an ``__init__.py`` under the product's folders, as its wheel path."""
    packages = set()
    for root in PACKAGE_ROOTS:
        for init in (tree / root).rglob("__init__.py"):
            relative = init.parent.relative_to(tree)
            # contract/densenet_contract -> densenet_contract; preprocess -> preprocess
            parts = relative.parts if root in ("preprocess", "postprocess") else relative.parts[1:]
            packages.add("/".join(parts))
    return packages


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    tree = tracked_copy(tmp_path_factory.mktemp("source"))
    (tree / "preprocess" / "newroom").mkdir()  # a subpackage pyproject.toml has never heard of
    (tree / "preprocess" / "newroom" / "__init__.py").write_text('"""A new subpackage."""\n')
    wheels = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-build-isolation", "--no-deps",
         "--no-index", "--wheel-dir", str(wheels), str(tree)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (wheel,) = wheels.glob("triton_densenet-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    return tree, names


def test_every_source_package_is_in_the_wheel(built):
    tree, names = built
    packages = source_packages(tree)
    assert "preprocess/newroom" in packages
    assert {"densenet_build/acquire", "densenet_client/cli", "densenet_contract"} <= packages
    missing = sorted(p for p in packages if f"{p}/__init__.py" not in names)
    assert not missing, f"packages missing from the wheel: {missing}"


def test_no_tests_or_repository_glue_in_the_wheel(built):
    _, names = built
    assert not [n for n in names if n.startswith(("tests/", "model_repository/", "docker/"))]


def test_package_data_is_in_the_wheel(built):
    _, names = built
    assert "densenet_serve/edge/nginx.conf.template" in names
    assert any(n.startswith("densenet_client/cli/data/") and n.endswith(".tsv") for n in names)


def test_building_writes_nothing_into_the_build_source_folder(built):
    tree, _ = built
    assert not (tree / "build" / "lib").exists()
    assert not list((tree / "build").glob("bdist.*"))
