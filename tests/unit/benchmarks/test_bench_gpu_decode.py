"""The GPU decode benchmark says what it needs instead of failing where there is no CUDA torchvision."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_gpu_decode.py"


def load():
    spec = importlib.util.spec_from_file_location("bench_gpu_decode", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.may_skip("where a CUDA GPU is, the benchmark runs instead of exiting")
def test_without_a_gpu_it_exits_2_saying_why(tmp_path, capsys):
    try:
        import torch

        if torch.cuda.is_available():
            pytest.skip("a CUDA GPU is here: the benchmark would run")
    except ImportError:
        pass
    assert load().main([str(tmp_path)]) == 2
    assert "needs " in capsys.readouterr().err
    assert "bench_gpu_decode" not in sys.modules  # loaded from its file, not from an installed copy
