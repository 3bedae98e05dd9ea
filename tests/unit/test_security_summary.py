"""The summary line-up of skipped security tests (tests/conftest.py): by file and reason."""

from types import SimpleNamespace

from tests.conftest import security_skips


def report(nodeid: str, reason: str) -> SimpleNamespace:
    return SimpleNamespace(nodeid=nodeid, longrepr=("file.py", 1, f"Skipped: {reason}"))


def test_only_the_edges_tests_are_counted_by_file_and_reason():
    reports = [
        report("tests/e2e/test_network_mode.py::test_a", "nginx is not installed"),
        report("tests/e2e/test_network_mode.py::test_b", "nginx is not installed"),
        report("tests/e2e/test_overload.py::test_c", "no openssl CLI"),
        report("tests/e2e/test_ensemble.py::test_d", "nginx is not installed"),  # not an edge test
        report("tests/deploy/test_kubernetes.py::test_the_sidecars_config_passes", "nginx is not installed"),
    ]
    assert security_skips(reports) == {
        ("tests/e2e/test_network_mode.py", "nginx is not installed"): 2,
        ("tests/e2e/test_overload.py", "no openssl CLI"): 1,
        ("tests/deploy/test_kubernetes.py", "nginx is not installed"): 1,
    }
