"""The GPU benchmark recipe (docs/benchmarks.md) run for real: perf_analyzer with the corpus JPEGs against the
embedded server, reported in `make bench`'s format. perf_analyzer comes from `make perf-analyzer`
(CI installs it) or PERF_ANALYZER; without one the test skips, saying so."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from densenet_serve.core import ADMIN_HEADER

pytestmark = pytest.mark.e2e


def perf_analyzer() -> str | None:
    local = Path(__file__).resolve().parents[2] / ".cache/perf-analyzer/bin/perf_analyzer"
    return os.environ.get("PERF_ANALYZER") or (
        str(local) if local.exists() else shutil.which("perf_analyzer")
    )


@pytest.mark.skipif(perf_analyzer() is None, reason="no perf_analyzer: run `make perf-analyzer`")
def test_recipe_measures_the_ensemble_with_real_jpegs(http_url, grpc_url, admin_headers, tmp_path):
    from tests.benchmarks import bench_ensemble, bench_perf_analyzer

    corpus, images = tmp_path / "corpus", tmp_path / "images.json"
    assert bench_ensemble.main(["--write-corpus", str(corpus)]) == 0
    assert bench_perf_analyzer.main(["input-data", str(corpus), str(images)]) == 0
    data = json.loads(images.read_text())["data"]
    assert [entry["IMAGE"]["shape"] for entry in data] == [
        [p.stat().st_size] for p in sorted(corpus.iterdir())
    ]

    output = tmp_path / "report"
    arguments = ["run", "--input-data", str(images), "--http-url", http_url, "--grpc-url", grpc_url]
    arguments += [
        "--admin-token",
        admin_headers[ADMIN_HEADER],
        "--perf-analyzer",
        perf_analyzer(),
        "--output",
        str(output),
    ]
    # Loose stability and short windows: this checks the recipe works, not the figures.
    arguments += ["--concurrency", "1", "2", "--batches", "1", "2", "--measurement-interval", "1000"]
    arguments += ["--stability-percentage", "60", "--max-trials", "10"]
    assert bench_perf_analyzer.main(arguments) == 0

    report = json.loads((output / "bench.json").read_text())
    assert report["tool"] == "perf_analyzer"
    assert {p["batch"] for p in report["limit"]["points"]} == {1, 2}
    assert {(p["protocol"], p["concurrency"]) for p in report["points"]} == {
        ("grpc", 1), ("grpc", 2), ("http", 1), ("http", 2)
    }  # fmt: skip
    for point in report["points"]:
        assert 0 < point["p50_ms"] <= point["p95_ms"] <= point["p99_ms"]
        assert point["mean_ms"] > 0
        # Triton's own statistics saw the real images go through all three models.
        for model in ("preprocess", "densenet", "postprocess"):
            assert point["models"][model]["compute_ms_per_request"] > 0
    assert "| grpc | 1 |" in (output / "bench.md").read_text()
