import base64

import pytest

from tests.benchmarks.bench_perf_analyzer import PerfAnalyzer, input_data, parse_csv

# Written by perf_analyzer 2.40 (`-f`) for densenet_ensemble on the embedded server.
CSV_2_40 = """\
Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,Server Compute Input,\
Server Compute Infer,Server Compute Output,Client Recv,p50 latency,p90 latency,p95 latency,p99 latency
2,21.9267,41,1253,3,257,87801,1959,5,89267,107143,115771,128273
"""


def test_parse_csv_converts_microseconds_and_sums_the_mean_from_its_parts():
    point = parse_csv(CSV_2_40)
    assert point["images_per_s"] == pytest.approx(21.9267)
    assert (point["p50_ms"], point["p95_ms"], point["p99_ms"]) == pytest.approx((89.267, 115.771, 128.273))
    assert point["mean_ms"] == pytest.approx((41 + 1253 + 3 + 257 + 87801 + 1959 + 5) / 1000)


def test_parse_csv_prefers_avg_latency_when_perf_analyzer_gives_it():
    header, row = CSV_2_40.splitlines()
    assert parse_csv(f"{header},Avg latency\n{row},90000\n")["mean_ms"] == pytest.approx(90.0)


def test_parse_csv_names_a_missing_column():
    with pytest.raises(ValueError, match="no column 'p99 latency'"):
        parse_csv("Concurrency,Inferences/Second,p50 latency,p95 latency,Avg latency\n1,2,3,4,5\n")
    with pytest.raises(ValueError, match="no measurement row"):
        parse_csv(CSV_2_40.splitlines()[0] + "\n")


def test_input_data_is_one_request_per_image_with_its_byte_length():
    images = [b"\xff\xd8jpeg", b"\x89PNG\r\n\x1a\npng-bytes"]
    data = input_data(images)["data"]
    assert [base64.b64decode(d["IMAGE"]["b64"]) for d in data] == images
    assert [d["IMAGE"]["shape"] for d in data] == [[6], [17]]
    with pytest.raises(SystemExit, match="no JPEG or PNG"):
        input_data([])


def test_command_pins_the_concurrency_and_sends_every_header(tmp_path):
    analyzer = PerfAnalyzer("pa", 5000, 20, 10, {"admin-token": "t", "triton-grpc-protocol-admin-token": "t"})
    command = analyzer.command("densenet_ensemble", "host:8001", "grpc", 4, tmp_path / "x.csv")
    text = " ".join(command)
    assert "-m densenet_ensemble -u host:8001 -i grpc --concurrency-range 4:4" in text
    assert "--measurement-interval 5000 --stability-percentage 10" in text
    assert command[-4:] == ["-H", "admin-token:t", "-H", "triton-grpc-protocol-admin-token:t"]
