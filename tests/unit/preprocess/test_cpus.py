"""The project's one CPU-count rule, as the preprocess decode pool applies it."""

from __future__ import annotations

import os

import pytest

from densenet_contract import cpus
from preprocess import PreprocessConfig


@pytest.fixture
def cpu_max(tmp_path, monkeypatch):
    """A cgroup v2 cpu.max file this test writes."""
    path = tmp_path / "cpu.max"
    monkeypatch.setattr(cpus, "CGROUP_CPU_MAX", path)
    return path


def test_decode_threads_zero_follows_a_cpu_quota_narrower_than_the_affinity(cpu_max, monkeypatch):
    monkeypatch.setattr(cpus.os, "sched_getaffinity", lambda _pid: set(range(64)))
    cpu_max.write_text("200000 100000\n")
    assert PreprocessConfig(decode_threads=0).threads == 2
    cpu_max.write_text("max 100000\n")
    assert PreprocessConfig(decode_threads=0).threads == 64


def test_without_a_cgroup_file_the_affinity_decides(cpu_max):
    assert not cpu_max.exists()
    assert PreprocessConfig(decode_threads=0).threads == len(os.sched_getaffinity(0))


def test_explicit_decode_threads_are_kept(cpu_max):
    cpu_max.write_text("100000 100000\n")
    assert PreprocessConfig(decode_threads=3).threads == 3
