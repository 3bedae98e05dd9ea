"""The launcher core the embedded launcher and the container entry point share."""

from __future__ import annotations

import subprocess
import sys

import pytest

from densenet_serve.core import (
    RESTRICTED_APIS,
    Watchdog,
    check_admin_token,
    first_exit,
    tritonserver_flags,
)
from densenet_serve.distribution import TritonDistribution
from densenet_serve.errors import ServerSetupError
from densenet_serve.health import Health
from densenet_serve.server import ServerOptions


@pytest.mark.parametrize(
    "token", ["short", "a" * 15, "a" * 20 + ",b", "a" * 20 + ":b", "a" * 20 + "=b", "a b" * 9]
)
def test_admin_tokens_that_are_short_or_break_the_flag_are_refused(token):
    with pytest.raises(ServerSetupError, match="at least 16 characters"):
        check_admin_token(token)


def test_flags_are_hardened_and_carry_the_token():
    flags = tritonserver_flags("/models", "t" * 16, 30)
    assert flags[0] == "--model-repository=/models"
    assert {"--model-control-mode=none", "--strict-readiness=true", "--exit-timeout-secs=30"} <= set(flags)
    restriction = f"{','.join(RESTRICTED_APIS)}:admin-token={'t' * 16}"
    assert f"--http-restricted-api={restriction}" in flags
    assert f"--grpc-restricted-protocol={restriction}" in flags


def test_the_embedded_launcher_uses_the_same_flags(tmp_path):
    options = ServerOptions(tmp_path, admin_token="x" * 20)
    dist = TritonDistribution(tmp_path / "tritonserver", tmp_path / "libs")
    command = options.command(dist, tmp_path / "backends")
    shared = tritonserver_flags(tmp_path, "x" * 20, options.exit_timeout_s)
    assert command[1 : 1 + len(shared)] == shared


def test_watchdog_is_due_after_failures_in_a_row():
    answers = iter([False, False, True, False, False, False])
    lines = []
    watchdog = Watchdog("url", failures=3, report=lines.append, probe=lambda _: Health(next(answers), "x"))
    assert [watchdog.due() for _ in range(6)] == [False, False, False, False, False, True]
    assert lines[-1] == "health inference failed (3/3): x"
    watchdog.reset()
    assert watchdog.failed == 0


def test_a_busy_server_is_not_restarted_unless_it_stays_busy():
    busy, failed, ok = Health(True, "queues full", busy=True), Health(False, "x"), Health(True, "ok")
    answers = iter([failed, failed, busy, busy, failed, ok, busy, busy, busy, busy])
    lines = []
    watchdog = Watchdog("url", failures=3, report=lines.append, probe=lambda _: next(answers), busy_checks=4)
    # Busy answers neither fail nor clear the count of failures; four busy in a row restart it.
    assert [watchdog.due() for _ in range(10)] == [False] * 4 + [True] + [False] * 4 + [True]
    assert lines[2] == "server busy (1/4 checks in a row): queues full"
    assert lines[-1] == "server busy (4/4 checks in a row): queues full"


def test_first_exit_names_the_process_and_its_code():
    quick = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    slow = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert first_exit({"slow": slow, "quick": quick}, timeout=60) == ("quick", 3)
        assert first_exit({"slow": slow}, timeout=0.3) is None
    finally:
        slow.kill()
        slow.wait()
