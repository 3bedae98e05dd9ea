"""A real Prometheus (Debian's package) scraping the real Triton server the entry point started.

Prometheus runs the shipped docker/prometheus/prometheus.yml and alerts.yml with three changes for
the test: the target is the server's loopback metrics port, and scraping and rule evaluation run
every second instead of every 5/15 s. Every PromQL expression the deployment ships (dashboard,
alerts, Prometheus adapter rule) is evaluated here against Triton's real series. GPU metrics
(nv_gpu_*) cannot exist on this machine: those names are checked against Triton's documentation.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
import tritonclient.http as httpclient
import yaml
from tritonclient.utils import InferenceServerException

from densenet_serve.ports import free_port
from densenet_serve.server import MODELS
from tests.support.deployfiles import (
    ALERTS,
    DOCUMENTED_GPU_METRICS,
    PROMETHEUS_CONFIG,
    adapter_query,
    adapter_rules,
    alert_expressions,
    as_promql,
    dashboard_queries,
    load_yaml,
    metric_names,
    tool,
)
from tests.support.imagefactory import cat_jpeg, png_bomb
from tests.support.inference import http_infer

pytestmark = pytest.mark.e2e

GOOD_REQUESTS = 6
BAD_REQUESTS = 2
WAIT_S = 60


class Prometheus:
    def __init__(self, address: str) -> None:
        self.address = address

    def get(self, path: str, **params: str) -> dict:
        url = f"http://{self.address}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:  # 400 for a bad query: the body says why
            return json.load(error)

    def query(self, expr: str) -> list[dict]:
        answer = self.get("/api/v1/query", query=expr)
        assert answer["status"] == "success", f"{expr}\n{answer.get('error')}"
        return answer["data"]["result"]

    def value(self, expr: str) -> float:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else math.nan

    def wait_for(self, expr: str, predicate, what: str) -> float:
        deadline = time.monotonic() + WAIT_S
        while not predicate(value := self.value(expr)):
            assert time.monotonic() < deadline, f"Prometheus never showed {what} ({expr} = {value})"
            time.sleep(0.5)
        return value


def _ready(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://{address}/-/ready", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def prometheus(production_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    executable = tool("prometheus")
    if executable is None:
        pytest.skip("prometheus is not installed (Debian package prometheus; `make test` installs it)")
    workdir = tmp_path_factory.mktemp("prometheus")
    config = load_yaml(PROMETHEUS_CONFIG)
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(ALERTS)]
    address = f"127.0.0.1:{free_port()}"
    for job in config["scrape_configs"]:
        job["scrape_interval"] = "1s"
        target = production_server.metrics if job["job_name"] == "triton" else address
        job["static_configs"][0]["targets"] = [target]
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = workdir / "prometheus.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [
                executable,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address={address}",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + WAIT_S
        while not _ready(address):
            assert process.poll() is None, f"prometheus exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, "prometheus did not become ready"
            time.sleep(0.2)
        server = Prometheus(address)
        # Prometheus scrapes a few seconds after start: wait for a first sample of both targets.
        server.wait_for("count(up == 1)", lambda v: v == 2, "both targets up")
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def traffic(production_server, prometheus) -> int:
    """Good and bad requests through the ensemble; returns the success count Prometheus then shows."""
    before = prometheus.value('sum(nv_inference_request_success{model="densenet_ensemble"})')
    before = 0.0 if math.isnan(before) else before
    with httpclient.InferenceServerClient(production_server.http, network_timeout=60) as client:
        for _ in range(GOOD_REQUESTS):
            http_infer(client, [cat_jpeg()])
        for _ in range(BAD_REQUESTS):
            with pytest.raises(InferenceServerException):
                http_infer(client, [b"not an image at all"])
    after = prometheus.wait_for(
        'sum(nv_inference_request_success{model="densenet_ensemble"})',
        lambda v: v >= before + GOOD_REQUESTS,
        f"{GOOD_REQUESTS} more successful densenet_ensemble requests",
    )
    # rate() needs two samples in its window; the one before the traffic may be a few seconds old.
    prometheus.wait_for('count_over_time(up{job="triton"}[5s])', lambda v: v >= 3, "recent samples")
    return int(after)


@pytest.fixture(scope="module")
def exported(production_server, traffic) -> set[str]:
    """The metric names the real server exports (after traffic, so every per-model series exists)."""
    with urllib.request.urlopen(f"http://{production_server.metrics}/metrics", timeout=10) as response:
        text = response.read().decode()
    types = dict(line.split()[2:4] for line in text.splitlines() if line.startswith("# TYPE "))
    # A histogram's samples are NAME_bucket, NAME_count and NAME_sum (densenet_* histograms).
    suffixed = {
        f"{name}_{part}"
        for name, kind in types.items()
        if kind == "histogram"
        for part in ("bucket", "count", "sum")
    }
    return set(types) | suffixed


def test_prometheus_scrapes_the_ensembles_requests(prometheus, traffic):
    assert prometheus.value('up{job="triton"}') == 1
    assert traffic >= GOOD_REQUESTS
    series = prometheus.query('nv_inference_request_success{model="densenet_ensemble"}')
    assert series[0]["metric"]["job"] == "triton"
    assert series[0]["metric"]["deployment"] == "compose"
    failures = prometheus.wait_for(
        'sum(nv_inference_request_failure{model="densenet_ensemble"})',
        lambda v: v >= BAD_REQUESTS,
        "the failed requests",
    )
    assert failures >= BAD_REQUESTS


@pytest.mark.parametrize("model", MODELS)
def test_per_model_latency_counters_are_in_prometheus(prometheus, traffic, model):
    selector = f'{{model="{model}"}}'
    assert prometheus.value(f"nv_inference_request_duration_us{selector}") > 0
    assert prometheus.value(f"nv_inference_compute_infer_duration_us{selector}") > 0
    assert prometheus.value(f"nv_inference_queue_duration_us{selector}") >= 0
    assert prometheus.value(f'nv_inference_request_summary_us{{model="{model}",quantile="0.99"}}') >= 0


def test_every_dashboard_query_evaluates_on_the_real_series(prometheus, traffic):
    empty = []
    for title, expr in dashboard_queries():
        result = prometheus.query(as_promql(expr, rate_window="10s"))  # fails on a PromQL error
        if not result and not metric_names(expr) & DOCUMENTED_GPU_METRICS:
            empty.append(f"{title}: {expr}")
    assert not empty, "queries without data:\n" + "\n".join(empty)
    requests_per_model = prometheus.query(
        as_promql(next(e for t, e in dashboard_queries() if t == "Requests / s per model"), "1m")
    )
    assert {series["metric"]["model"] for series in requests_per_model} == set(MODELS)


def test_every_metric_the_deployment_reads_is_exported(exported):
    expressions = [
        *(expr for _, expr in dashboard_queries()),
        *(expr for _, expr in alert_expressions()),
        *(rule["seriesQuery"] for rule in adapter_rules()),
        *(rule["metricsQuery"] for rule in adapter_rules()),
    ]
    read = set().union(*(metric_names(expr) for expr in expressions))
    gpu = {name for name in read if name.startswith(("nv_gpu", "nv_energy"))}
    assert gpu <= DOCUMENTED_GPU_METRICS, f"undocumented GPU metrics: {gpu - DOCUMENTED_GPU_METRICS}"
    assert not gpu & exported, "a CPU-only server exports GPU metrics?"
    assert read - gpu <= exported, f"not exported by Triton: {sorted(read - gpu - exported)}"


def test_alert_rules_load_and_evaluate(prometheus, traffic):
    deadline = time.monotonic() + WAIT_S
    while True:
        groups = prometheus.get("/api/v1/rules")["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        if rules and all(rule["health"] == "ok" for rule in rules):
            break
        assert time.monotonic() < deadline, f"rules not healthy: {rules}"
        time.sleep(0.5)
    assert {rule["name"] for rule in rules} == {name for name, _ in alert_expressions()}
    firing = {alert["labels"]["alertname"] for alert in prometheus.get("/api/v1/alerts")["data"]["alerts"]}
    assert "TritonDown" not in firing


def test_adapter_rule_query_gives_the_queue_time_per_request(prometheus, traffic):
    for rule in adapter_rules():
        # The adapter fills in the pod's labels; here the one target stands in for one pod.
        query = adapter_query(rule, 'job="triton"', "instance")
        result = prometheus.query(query)
        assert len(result) == 1, query
        value = float(result[0]["value"][1])
        assert math.isfinite(value)
        assert value >= 0


def test_no_prometheus_target_is_down(prometheus, traffic):
    targets = prometheus.get("/api/v1/targets")["data"]["activeTargets"]
    assert {target["labels"]["job"] for target in targets} == {"triton", "prometheus"}
    assert all(target["health"] == "up" for target in targets), targets


BOMBS = 3  # decompression bombs: no other test sends this server any, so its count is exact


def test_prometheus_scrapes_the_quality_metrics(production_server, prometheus, traffic):
    with httpclient.InferenceServerClient(production_server.http, network_timeout=60) as client:
        for _ in range(BOMBS):
            with pytest.raises(InferenceServerException):
                http_infer(client, [png_bomb()])
    prometheus.wait_for(
        'sum(densenet_images_refused_total{reason="too_many_pixels"})',
        lambda v: v == BOMBS,
        f"exactly {BOMBS} images refused as too_many_pixels",
    )
    assert prometheus.value("count(densenet_predictions_total)") == 1000  # one series per class
    assert prometheus.value("sum(densenet_top1_probability_count)") >= GOOD_REQUESTS
    (weights,) = prometheus.query("densenet_served_weights_info")
    assert weights["metric"]["weights"].startswith("seeded-random")
    assert weights["metric"]["job"] == "triton"
    (preprocessing,) = prometheus.query("densenet_preprocessing_info")
    assert preprocessing["metric"]["preset"] == "densenet_caffe"
    # The fixture's drift window (4 answers) is full after the traffic: the score is a number.
    score = prometheus.wait_for("max(densenet_drift_score)", math.isfinite, "a drift score")
    assert 0 <= score <= 1
