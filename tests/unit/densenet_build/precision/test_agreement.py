import json
import math

import numpy as np
import pytest

from densenet_build.errors import PrecisionError
from densenet_build.precision.agreement import compare, format_table, require, write_report


def logits(rows: int = 10, classes: int = 1000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((rows, classes, 1, 1)).astype(np.float32)


def test_identical_outputs_agree_fully():
    ref = logits()
    row = compare("same", ref, ref.copy())
    assert (row.images, row.top1_agreement, row.top5_overlap, row.max_abs_diff) == (10, 1.0, 1.0, 0.0)


def test_a_changed_winner_and_a_changed_top5_are_counted():
    ref = logits().reshape(10, 1000)
    cand = ref.copy()
    cand[0, ref[0].argmin()] = ref[0].max() + 1  # image 0: new top-1, one top-5 member pushed out
    row = compare("one flip", ref, cand)
    assert row.top1_agreement == pytest.approx(0.9)
    assert row.top5_overlap == pytest.approx(1 - 0.2 / 10)
    assert row.max_abs_diff == pytest.approx(ref[0].max() + 1 - ref[0].min())


def test_non_finite_outputs_agree_with_nothing():
    ref = logits()
    cand = ref.copy()
    cand[3, 0] = np.nan
    row = compare("nan", ref, cand)
    assert (row.top1_agreement, row.top5_overlap, row.max_abs_diff) == (0.0, 0.0, math.inf)


def test_shape_mismatch_is_an_error():
    with pytest.raises(PrecisionError, match="differs from the reference"):
        compare("bad", logits(), logits(rows=9))


def test_table_report_and_threshold(tmp_path):
    ref = logits()
    worse = ref.copy().reshape(10, 1000)
    for i in range(3):
        worse[i, 0] = 100.0
    rows = [compare("fp32", ref, ref), compare("fp16", ref, ref + 0.001), compare("int8", ref, worse)]
    table = format_table(rows, min_top1=0.9)
    assert "reference" in table.splitlines()[3]
    assert table.splitlines()[4].rstrip().endswith("ok")
    assert "FAIL (< 90.0%)" in table.splitlines()[5]
    nan_row = compare("nan", ref, np.full_like(ref, np.nan))
    report = json.loads(
        write_report(tmp_path / "r.json", [*rows, nan_row], min_top1_agreement=0.9).read_text()
    )
    assert report["min_top1_agreement"] == 0.9
    assert [r["name"] for r in report["results"]] == ["fp32", "fp16", "int8", "nan"]
    assert report["results"][3]["max_abs_diff"] is None  # strict JSON has no Infinity
    with pytest.raises(PrecisionError, match=r"int8 \(70.0%\)"):
        require(rows, 0.9)
    require(rows, 0.7)
