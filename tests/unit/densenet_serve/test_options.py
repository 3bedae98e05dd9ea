"""The launcher's settings: flags first, then the environment, then the defaults."""

from pathlib import Path

import pytest

from densenet_contract.cli import EXIT_UNUSABLE
from densenet_serve.__main__ import build_parser, main
from densenet_serve.errors import ServerSetupError
from densenet_serve.options import Options


def options(*argv: str, environ=None) -> Options:
    return Options.from_args(build_parser().parse_args(list(argv)), environ)


def test_ports_from_environment_and_flags(monkeypatch):
    monkeypatch.setenv("HTTP_PORT", "9000")
    monkeypatch.setenv("GRPC_PORT", "9001")
    monkeypatch.setenv("METRICS_PORT", "9002")
    args = options()
    assert (args.http_port, args.grpc_port, args.metrics_port) == (9000, 9001, 9002)
    args = options("--http-port", "7000")
    assert args.http_port == 7000
    assert args.host == "127.0.0.1"


def test_bad_port_in_environment_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HTTP_PORT", "eighty")
    with pytest.raises(ServerSetupError, match="HTTP_PORT='eighty' is not a port number"):
        options()


def test_a_bad_port_is_exit_status_2_with_one_line(monkeypatch, capsys):
    monkeypatch.setenv("HTTP_PORT", "eighty")
    assert main([]) == EXIT_UNUSABLE
    assert capsys.readouterr().err == "error: HTTP_PORT='eighty' is not a port number\n"


def test_every_setting_has_its_flag_and_its_variable(tmp_path):
    environ = {
        "TRITON_HOST": "0.0.0.0",
        "TRITON_ADMIN_TOKEN": "from-the-environment-0123456789",
        "DENSENET_API_KEY_FILE": "/keys",
        "XDG_CACHE_HOME": str(tmp_path),
    }
    from_environment = options(environ=environ)
    assert from_environment.host == "0.0.0.0"
    assert from_environment.network_mode
    assert from_environment.admin_token == "from-the-environment-0123456789"
    assert from_environment.network.api_key_file == Path("/keys")
    assert from_environment.network.tls_dir == tmp_path / "densenet-serve" / "tls"
    flags = options(
        "--host",
        "localhost",
        "--admin-token",
        "from-the-flag-0123456789abc",
        "--api-key-file",
        "/other",
        "--tls-dir",
        "/tls",
        "--model-config-name",
        "",
        environ=environ,
    )
    assert (flags.host, flags.network_mode, flags.admin_token) == (
        "localhost",
        False,
        "from-the-flag-0123456789abc",
    )
    assert (flags.network.api_key_file, flags.network.tls_dir) == (Path("/other"), Path("/tls"))
    assert flags.model_config_name is None
    assert options(environ={}).admin_token is None


def test_server_options_stay_on_loopback_in_network_mode(tmp_path):
    local = options("--model-repository", str(tmp_path), "--http-port", "7000", environ={}).server_options()
    assert (local.host, local.http_port, local.model_repository) == ("127.0.0.1", 7000, tmp_path.resolve())
    edge = options("--host", "0.0.0.0", "--internal-http-port", "7100", environ={}).server_options()
    assert (edge.host, edge.http_port) == ("127.0.0.1", 7100)
    assert edge.grpc_port not in (0, 8001)  # a free one
