"""A stand-in for ``pb_utils.MetricFamily`` that records what the python models' metrics write."""

from __future__ import annotations

from densenet_contract.metrics import Metrics


class FakeMetric:
    def __init__(self):
        self.value, self.calls = 0.0, 0

    def increment(self, value):
        self.value += value
        self.calls += 1

    def set(self, value):
        self.value = value
        self.calls += 1


class FakeFamily:
    def __init__(self, name, description, kind):
        self.name, self.description, self.kind, self.metrics = name, description, kind, {}

    def Metric(self, labels):
        return self.metrics.setdefault(tuple(sorted(labels.items())), FakeMetric())

    def value(self, **labels):
        return self.metrics[tuple(sorted(labels.items()))].value


def recording_metrics() -> tuple[Metrics, dict[str, FakeFamily]]:
    """Metrics whose families are kept by name, to read back as ``families[name].value(**labels)``."""
    families: dict[str, FakeFamily] = {}

    def family(name, description, kind):
        families[name] = FakeFamily(name, description, kind)
        return families[name]

    return Metrics(family), families
