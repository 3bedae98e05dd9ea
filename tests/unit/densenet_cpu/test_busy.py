"""The busy count shared by the CPU model's instances (separate processes)."""

from __future__ import annotations

import multiprocessing

from densenet_contract.names import SHM_PREFIX_VARIABLE
from densenet_cpu.busy import BusyCounter, busy_path


def _hammer(path: str, rounds: int, seen: multiprocessing.Queue) -> None:
    counter = BusyCounter(path)
    highest = 0
    for _ in range(rounds):
        with counter.running() as running:
            highest = max(highest, running)
    counter.close()
    seen.put(highest)


def test_counts_the_callers_inside_and_returns_to_zero(tmp_path):
    counter = BusyCounter(tmp_path / "busy")
    other = BusyCounter(tmp_path / "busy")  # a second instance opening the same count
    with counter.running() as first:
        assert first == 1
        with other.running() as second:
            assert second == 2
        assert counter.value() == 1
    assert other.value() == 0
    counter.close()
    other.close(remove=True)
    assert not (tmp_path / "busy").exists()


def test_changes_from_many_processes_are_atomic(tmp_path):
    context = multiprocessing.get_context("spawn")
    seen = context.Queue()
    workers = [context.Process(target=_hammer, args=(str(tmp_path / "busy"), 300, seen)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    highest = [seen.get(timeout=10) for _ in workers]
    assert all(1 <= h <= len(workers) for h in highest)
    # Lost updates would leave the count away from zero after every +1 was matched by a -1.
    assert BusyCounter(tmp_path / "busy").value() == 0


def test_the_count_file_carries_the_launchers_prefix(monkeypatch):
    """The launcher removes what starts with its server's prefix: the count file goes with it."""
    monkeypatch.setenv(SHM_PREFIX_VARIABLE, "densenet-serve-abc123-")
    assert busy_path().name.startswith("densenet-serve-abc123-")
    monkeypatch.delenv(SHM_PREFIX_VARIABLE)
    assert busy_path().name.startswith("densenet-cpu-")
