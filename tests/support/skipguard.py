"""No test may disappear silently: every skip is listed at the end, and under ``CI=true`` it fails.

A test skips when something it needs is missing here (nginx, promtool, shellcheck, perf_analyzer,
a GPU ...). `make test` and `.ci/run` install those tools where they can (tests/tools/install-*.sh);
where one could not be installed, the end of pytest's output lists the tests it cost, by file and
reason, under **TESTS NOT RUN**. Under ``CI=true`` (how CI runs `.ci/run`) such a skip is a failure
of that test, and a module skipped as a whole fails the session: a green run has run everything.

Only a test marked ``@pytest.mark.may_skip(reason)`` may skip under CI: the TensorRT tests, which
need NVIDIA's tensorrt image on a GPU, and their stand-ins that skip where TensorRT is there.
Loaded by tests/conftest.py; a new test that skips for a missing tool is covered without a change here.
"""

from __future__ import annotations

import os

import pytest

MARKER = "may_skip"


def strict(environ=os.environ) -> bool:
    """Whether skips fail the run: ``CI`` set to true (CI's runner does), as GitHub Actions and GitLab do."""
    return environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def skip_reason(longrepr) -> str:
    """The reason of a skip report (``longrepr`` is ``(file, line, "Skipped: reason")``)."""
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


def group(skips: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """(file, reason) -> how many of ``skips`` ((nodeid, reason) pairs) it stands for."""
    counts: dict[tuple[str, str], int] = {}
    for nodeid, reason in skips:
        key = (nodeid.split("::", 1)[0], reason)
        counts[key] = counts.get(key, 0) + 1
    return counts


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(reason): this test may skip even under CI=true (only TensorRT's: see skipguard.py)",
    )
    config.pluginmanager.register(SkipGuard(config), "skipguard-session")


class SkipGuard:
    """The skips of one session: each recorded as (nodeid, reason), failed under CI."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.skips: list[tuple[str, str]] = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        outcome = yield
        report = outcome.get_result()
        if not report.skipped or hasattr(report, "wasxfail") or item.get_closest_marker(MARKER):
            return
        reason = skip_reason(report.longrepr)
        self.skips.append((report.nodeid, reason))
        if strict():
            report.outcome = "failed"
            report.longrepr = f"skipped under CI=true, where every test must run: {reason}"

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A module that skips as a whole (``importorskip``, ``allow_module_level``) is seen here."""
        if report.skipped:
            self.skips.append((report.nodeid, skip_reason(report.longrepr)))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        # A skipped module has no test report to fail above: the session fails here.
        if strict() and self.skips and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter, exitstatus: int, config: pytest.Config) -> None:
        skipped = group(self.skips)
        if not skipped:
            return
        verdict = "each FAILS the run under CI=true" if strict() else "under CI=true each fails the run"
        terminalreporter.section(f"TESTS NOT RUN ({verdict})", sep="!", red=True, bold=True)
        for (path, reason), count in sorted(skipped.items()):
            terminalreporter.write_line(f"{count:4d} in {path}: {reason}", red=True, bold=True)
        terminalreporter.write_line(
            "what they check is NOT verified on this machine: install what the reasons name "
            "(`make test` as root does: tests/tools/install-*.sh) and run again",
            red=True,
            bold=True,
        )
