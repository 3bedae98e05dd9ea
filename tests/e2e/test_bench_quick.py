"""`make bench --quick` keeps working: it runs end to end and writes consistent reports."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e


def test_quick_benchmark_writes_its_reports(model_repository, tmp_path):
    from tests.benchmarks import bench_ensemble

    assert (
        bench_ensemble.main(
            ["--quick", "--output", str(tmp_path), "--model-repository", str(model_repository)]
        )
        == 0
    )
    report = json.loads((tmp_path / "bench.json").read_text())
    assert report["limit"]["best"]["images_per_s"] > 0
    assert {(p["protocol"], p["concurrency"]) for p in report["points"]} == {
        ("http", 1),
        ("http", 4),
        ("grpc", 1),
        ("grpc", 4),
    }
    for point in report["points"]:
        assert point["images_per_s"] > 0
        assert point["errors"] == 0
        assert point["stats_mean_ms"] > 0
        assert 0 < point["p50_ms"] <= point["p95_ms"] <= point["p99_ms"]
        assert point["models"]["densenet"]["compute_ms_per_request"] > 0
    assert set(report["summary"]["targets"]) == {
        "latency_over_in_process_at_c1",
        "throughput_over_limit",
        "overhead_ms_at_c1",
        "p99_over_p50_at_best",
    }
    lone = report["limit"]["lone_interleaved"]
    assert lone["rounds"] == 2
    assert min(lone["model_ms"], lone["pipeline_ms"], lone["ensemble_ms"], lone["ensemble_mean_ms"]) > 0
    assert lone["models"]["densenet"]["compute_ms_per_request"] > 0
    assert "Where those ensemble requests spent their time" in (tmp_path / "bench.md").read_text()
    assert report["summary"]["latency_over_in_process_at_c1"] == pytest.approx(
        lone["ensemble_ms"] / lone["model_ms"]
    )
    assert "| http | 1 |" in (tmp_path / "bench.md").read_text()
    assert (tmp_path / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
