"""The JSON sidecar beside each plan: written, read back, and clear about what is wrong."""

import json

import pytest

from densenet_build.engine.sidecar import read_sidecar, write_sidecar
from densenet_build.errors import PlanMismatchError


def test_sidecar_round_trip_and_clear_errors(make_plan_info, tmp_path):
    info = make_plan_info()
    path = write_sidecar(info, tmp_path / "p.json")
    assert read_sidecar(path) == info
    with pytest.raises(PlanMismatchError, match="missing: the plan was not built by `densenet-build engine`"):
        read_sidecar(tmp_path / "none.json")
    data = json.loads(path.read_text())
    del data["tensorrt_version"]
    path.write_text(json.dumps(data))
    with pytest.raises(PlanMismatchError, match=r"lacks \['tensorrt_version'\]"):
        read_sidecar(path)
