"""Atomic writes: a reader sees the old file or the new one, never half of one."""

import stat

import pytest

from densenet_contract.files import replacing, write_atomically


def test_writes_replace_the_file_and_leave_no_part(tmp_path):
    target = tmp_path / "deep" / "model.json"
    write_atomically(target, "old")
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in target.parent.iterdir()] == ["model.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_part(tmp_path):
    target = tmp_path / "plan"
    target.write_text("good")

    def die_half_way():
        with replacing(target) as partial:
            partial.write_text("half")
            raise RuntimeError("the build died")

    with pytest.raises(RuntimeError):
        die_half_way()
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["plan"]


def test_a_private_file_is_never_readable_by_others(tmp_path):
    target = tmp_path / "keys"
    with replacing(target, mode=0o600) as partial:
        assert stat.S_IMODE(partial.stat().st_mode) == 0o600  # before the secret is written
        partial.write_text("secret")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
