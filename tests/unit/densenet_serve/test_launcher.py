import os
import socket
import sys
from pathlib import Path

import pytest

from densenet_serve import ServerOptions, ServerSetupError, TritonServer, find_distribution
from densenet_serve.distribution import stage_backends
from densenet_serve.options import Options
from densenet_serve.ports import free_port, ports_in_use
from densenet_serve.server import server_environment


@pytest.fixture(scope="module")
def dist():
    return find_distribution()


def test_distribution_has_a_stub_for_this_python(dist):
    assert dist.binary.is_file()
    assert os.access(dist.binary, os.X_OK)
    assert dist.stub().is_file()
    assert dist.stub("3.12").is_file()  # the NGC images' python


def test_stage_backends_places_this_pythons_stub(dist, tmp_path):
    backends = stage_backends(dist, tmp_path)
    stub = backends / "python" / "triton_python_backend_stub"
    assert stub.read_bytes() == dist.stub(f"{sys.version_info.major}.{sys.version_info.minor}").read_bytes()
    assert os.access(stub, os.X_OK)
    assert (backends / "python" / "libtriton_python.so").is_file()


def test_command_is_local_and_locked_down_by_default(dist, tmp_path):
    command = ServerOptions(model_repository=tmp_path).command(dist, tmp_path / "backends")
    assert command[0] == str(dist.binary)
    for flag in (
        "--http-address=127.0.0.1",
        "--grpc-address=127.0.0.1",
        "--metrics-address=127.0.0.1",
        "--http-port=8000",
        "--grpc-port=8001",
        "--metrics-port=8002",
        "--model-control-mode=none",
        "--model-config-name=cpu",
        f"--model-repository={tmp_path}",
    ):
        assert flag in command


def test_command_for_the_gpu_config_and_extra_flags(dist, tmp_path):
    options = ServerOptions(
        model_repository=tmp_path, model_config_name=None, host="0.0.0.0", extra_args=("--x=1",)
    )
    command = options.command(dist, tmp_path)
    assert not any(arg.startswith("--model-config-name") for arg in command)
    assert "--http-address=0.0.0.0" in command
    assert command[-1] == "--x=1"


def test_environment_finds_the_wheels_libraries(dist):
    env = server_environment(dist)
    assert env["LD_LIBRARY_PATH"].split(os.pathsep)[0] == str(dist.libs)
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)


@pytest.mark.parametrize(
    "token", ["short", "has,comma-in-it-123", "has:colon-in-it-1234", "a=b-0123456789abcdef"]
)
def test_unsafe_admin_tokens_are_refused(tmp_path, token):
    with pytest.raises(ServerSetupError, match="admin token"):
        ServerOptions(model_repository=tmp_path, admin_token=token)


def test_default_admin_token_is_random(tmp_path):
    assert ServerOptions(tmp_path).admin_token != ServerOptions(tmp_path).admin_token


def test_api_keys_and_limits_are_checked_before_anything_starts(tmp_path, monkeypatch, capsys):
    from densenet_serve.__main__ import build_parser, main

    keys = tmp_path / "keys"
    keys.write_text("a-client-key-0123456789\n")
    monkeypatch.delenv("DENSENET_API_KEY_FILE", raising=False)
    assert Options.from_args(build_parser().parse_args([])).network.api_key_file is None  # off by default
    monkeypatch.setenv("DENSENET_API_KEY_FILE", str(keys))
    assert Options.from_args(build_parser().parse_args([])).network.api_key_file == keys
    # On loopback there is no edge to check keys: refused, saying how to get one.
    assert main(["--model-repository", str(tmp_path), "--api-key-file", str(keys)]) == 2
    assert "network mode only: pass --host 0.0.0.0" in capsys.readouterr().err
    keys.write_text("short\n")
    assert main(["--host", "0.0.0.0", "--model-repository", str(tmp_path), "--api-key-file", str(keys)]) == 2
    err = capsys.readouterr().err
    assert "line 1: an API key must be at least 16 characters" in err
    assert "short" not in err.replace(str(keys), "")
    assert main(["--host", "0.0.0.0", "--model-repository", str(tmp_path), "--rate-limit", "-1"]) == 2
    assert "--rate-limit must be >= 0" in capsys.readouterr().err


def test_a_port_another_server_holds_stops_the_start_naming_it(tmp_path):
    """Else tritonserver fails to bind while the READY polls reach the other server's models."""
    repository = tmp_path / "model_repository"
    (repository / "densenet_ensemble").mkdir(parents=True)
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        taken = other.getsockname()[1]
        options = ServerOptions(model_repository=repository, http_port=taken, grpc_port=free_port())
        with pytest.raises(ServerSetupError, match=rf"port {taken} \(HTTP\) is already in use on 127.0.0.1"):
            TritonServer(options).start()


def test_a_port_a_stopped_server_left_in_time_wait_is_free():
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as tritonserver's listeners do
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first: its port stays in TIME_WAIT
        client.close()
    assert ports_in_use("127.0.0.1", {"HTTP": port}) == []
