"""`densenet-client quality` against a local HTTP server that serves a metrics text."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator

import pytest

from densenet_client.cli.main import main
from densenet_serve.ports import free_port

METRICS = b"""# TYPE densenet_top1_probability_count counter
densenet_top1_probability_count 4
densenet_top1_probability_bucket{le="0.5"} 1
densenet_top1_probability_bucket{le="+Inf"} 4
densenet_low_confidence_answers_total 1
densenet_low_confidence_threshold 0.5
densenet_predictions_total{class_id="281",label="tabby, tabby cat"} 4
densenet_image_bytes_count 5
densenet_images_refused_total{reason="format"} 1
densenet_drift_score 0.125
densenet_drift_window_answers 4
densenet_drift_noise_floor 0.25
"""


@pytest.fixture
def metrics_url() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(METRICS if self.path == "/metrics" else b"nv_only 1\n")

        def log_message(self, *args):
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


def test_prints_the_summary(metrics_url, capsys):
    assert main(["quality", "--metrics-url", f"{metrics_url}/metrics"]) == 0
    out = capsys.readouterr().out
    assert "low confidence 1 (25.0%) with top-1 probability below 0.5" in out
    assert "281 tabby, tabby cat" in out
    assert "drift score    0.1250 over the last 4 answers (noise floor 0.2500)" in out


def test_json(metrics_url, capsys):
    assert main(["quality", "--metrics-url", f"{metrics_url}/metrics", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["answers"] == 4
    assert data["refused"] == {"format": 1}
    assert data["top1_buckets"] == [[0.5, 1], ["+Inf", 4]]
    assert data["drift_score"] == 0.125


def test_a_server_without_the_metrics_or_none_at_all_exits_2(metrics_url, capsys):
    assert main(["quality", "--metrics-url", f"{metrics_url}/other"]) == 2
    assert "no densenet_* series" in capsys.readouterr().err
    assert main(["quality", "--metrics-url", f"http://127.0.0.1:{free_port()}/metrics"]) == 2
    assert "cannot read" in capsys.readouterr().err
