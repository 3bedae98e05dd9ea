"""docker/grafana: the provisioned datasource and the dashboard JSON.

Grafana itself does not run here (no registry package); tests/e2e/production/test_monitoring.py
evaluates every query of the dashboard in a real Prometheus scraping the real Triton server.
"""

from __future__ import annotations

from tests.support.deployfiles import (
    DASHBOARD,
    DOCKER,
    DOCUMENTED_GPU_METRICS,
    dashboard,
    dashboard_queries,
    load_yaml,
)
from tests.support.deployfiles import metric_names as names_in

PROVISIONING = DOCKER / "grafana" / "provisioning"


def test_dashboard_uses_the_provisioned_datasource():
    (source,) = load_yaml(PROVISIONING / "datasources" / "prometheus.yaml")["datasources"]
    assert source["url"] == "http://prometheus:9090"  # the compose service
    board = dashboard()
    for panel in board["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == source["uid"], panel["title"]
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == source["uid"]
    for variable in board["templating"]["list"]:
        assert variable["datasource"]["uid"] == source["uid"]


def test_dashboard_provider_loads_the_dashboard_folder():
    (provider,) = load_yaml(PROVISIONING / "dashboards" / "triton-densenet.yaml")["providers"]
    assert provider["options"]["path"] == "/etc/grafana/dashboards"
    assert DASHBOARD.parent.name == "dashboards"


def test_panels_are_well_formed():
    panels = dashboard()["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    cells = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps another panel"
                cells.add((x, y))
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]
            assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"])


def test_dashboard_covers_what_operators_need():
    queries = dashboard_queries()
    text = "\n".join(expr for _, expr in queries)
    read = set().union(*(names_in(expr) for _, expr in queries))
    assert "rate(nv_inference_request_success" in text  # requests/s
    assert 'nv_inference_request_summary_us{model=~"$model", quantile="0.5"}' in text  # p50
    assert 'nv_inference_request_summary_us{model=~"$model", quantile="0.99"}' in text  # p99
    assert 'nv_inference_queue_summary_us{model=~"$model", quantile="0.99"}' in text  # queue time
    assert "nv_inference_count" in read
    assert "nv_inference_exec_count" in read
    assert "nv_inference_request_failure" in read  # failures
    assert {"nv_gpu_utilization", "nv_gpu_memory_used_bytes"} <= read  # GPU
    assert {name for name in read if name.startswith(("nv_gpu", "nv_energy"))} <= DOCUMENTED_GPU_METRICS
    assert "by (model" in text  # per model
