import math
import threading

import pytest

from densenet_contract.metrics import BackgroundWriter, BucketCounters, Metrics, cumulative_counts, le_label
from tests.support.metric_family import FakeFamily


def test_items_are_written_in_order_and_close_flushes():
    written: list[list[int]] = []
    writer = BackgroundWriter(written.append)
    for i in range(100):
        writer.submit(i)
    writer.close()
    assert [item for batch in written for item in batch] == list(range(100))
    assert writer.failures == 0


def test_what_piles_up_is_written_in_one_call():
    release, written = threading.Event(), []

    def write(items):
        release.wait(10)  # the first call blocks while more items arrive
        written.append(items)

    writer = BackgroundWriter(write)
    writer.submit(0)
    for i in range(1, 5):
        writer.submit(i)
    release.set()
    writer.close()
    assert [item for batch in written for item in batch] == [0, 1, 2, 3, 4]
    assert len(written) <= 2


def test_a_failing_write_is_counted_and_the_writer_goes_on(capsys):
    written = []

    def write(items):
        if 1 in items:
            raise ValueError("boom")
        written.extend(items)

    writer = BackgroundWriter(write)
    writer.submit(1)
    writer.close()
    assert writer.failures == 1
    writer = BackgroundWriter(write)
    writer.submit(2)
    writer.close()
    assert written == [2]
    assert "metrics update failed: ValueError: boom" in capsys.readouterr().err


def test_an_interval_gathers_what_arrives_into_one_write():
    written = []
    writer = BackgroundWriter(written.append, interval_s=30)
    for i in range(5):
        writer.submit(i)
    writer.close()  # cuts the wait short and writes everything
    assert written == [[0, 1, 2, 3, 4]]


def test_le_labels():
    assert [le_label(b) for b in (0.1, 0.95, 1.0, 16384, 4e7, math.inf)] == [
        "0.1",
        "0.95",
        "1",
        "16384",
        "40000000",
        "+Inf",
    ]


def test_cumulative_counts_are_prometheus_buckets():
    assert cumulative_counts([0.05, 0.1, 0.15, 0.5, 2.0], (0.1, 0.5, 1.0)) == [2, 4, 4, 5]
    assert cumulative_counts([], (0.1,)) == [0, 0]


def test_metrics_make_one_family_per_name_and_keep_it():
    families = []

    def family(name, description, kind):
        families.append(FakeFamily(name, description, kind))
        return families[-1]

    metrics = Metrics(family)
    a = metrics.counter("x_total", "x", reason="a")
    b = metrics.counter("x_total", "x", reason="b")
    metrics.gauge("y", "y").set(3)
    assert [(f.name, f.kind) for f in families] == [("x_total", "COUNTER"), ("y", "GAUGE")]
    assert a is not b


def test_metrics_of_a_family_class_pass_its_kind_attribute():
    class MetricFamily(FakeFamily):  # pb_utils.MetricFamily's shape: keyword arguments, kind constants
        COUNTER, GAUGE = "counter-kind", "gauge-kind"

        def __init__(self, *, name, description, kind):
            super().__init__(name, description, kind)

    metrics = Metrics.of(MetricFamily)
    metrics.counter("x_total", "x").increment(2)
    metrics.gauge("y", "y").set(1)
    assert [f.kind for f in metrics._families.values()] == ["counter-kind", "gauge-kind"]


def test_bucket_counters_increment_each_changed_bucket_once():
    families = {}

    def family(name, description, kind):
        families[name] = FakeFamily(name, description, kind)
        return families[name]

    histogram = Metrics(family).histogram("h", "h", (0.1, 0.5, 1.0))
    assert isinstance(histogram, BucketCounters)
    histogram.add([0.3, 0.4, 0.45, 2.0])
    histogram.add([])
    buckets = {dict(k)["le"]: m for k, m in families["h_bucket"].metrics.items()}
    assert {le: m.value for le, m in buckets.items()} == {"0.1": 0, "0.5": 3, "1": 3, "+Inf": 4}
    assert buckets["0.1"].calls == 0  # unchanged buckets cost no call
    assert all(m.calls == 1 for le, m in buckets.items() if le != "0.1")
    assert families["h_count"].metrics[()].value == 4
    assert families["h_sum"].metrics[()].value == pytest.approx(3.15)
