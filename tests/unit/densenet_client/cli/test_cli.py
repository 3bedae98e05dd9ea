"""The CLI's argument handling and messages, without a server (the real runs are in tests/e2e)."""

from __future__ import annotations

from pathlib import Path

import pytest

from densenet_client import parse_endpoint
from densenet_client.cli import main
from densenet_client.cli.curl import raw_binary_command
from densenet_serve.ports import free_port


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "cat.jpg"
    path.write_bytes(b"\xff\xd8 not really a jpeg")
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["classify", "x.jpg", "--top-k", "0"], "must be a whole number from 1 to 1000, not '0'"),
        (["classify", "x.jpg", "--top-k", "many"], "not 'many'"),
        (["classify", "x.jpg", "--concurrency", "0"], "must be a whole number of at least 1, not '0'"),
        (["classify", "x.jpg", "--protocol", "ftp"], "invalid choice"),
        (["classify"], "the following arguments are required: PATH"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(args, message, capsys):
    with pytest.raises(SystemExit) as caught:
        main(args)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


def test_nothing_to_classify_exits_2(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("no images here")
    assert main(["classify", str(tmp_path), "--url", f"http://127.0.0.1:{free_port()}"]) == 2
    assert "no images found" in capsys.readouterr().err


def test_an_unreachable_server_exits_2_without_a_traceback(image, capsys):
    assert main(["classify", str(image), "--url", f"grpc://127.0.0.1:{free_port()}"]) == 2
    err = capsys.readouterr().err
    assert "error: cannot reach the server at grpc://127.0.0.1:" in err
    assert "gave up after 4 attempts" in err
    assert "Traceback" not in err


def test_a_bad_url_exits_2(image, capsys):
    assert main(["classify", str(image), "--url", "ftp://host"]) == 2
    assert "unsupported URL scheme 'ftp'" in capsys.readouterr().err


def test_curl_prints_both_forms_after_comments(image, capsys):
    assert main(["curl", str(image), "--url", "http://triton:8000", "--top-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.startswith("#") for line in lines] == [True, False, True, False]
    assert lines[1] == raw_binary_command(image, parse_endpoint("http://triton:8000"), "densenet_ensemble")
    assert '"top_k":3' in lines[3]


def test_curl_one_form_prints_just_the_command(image, capsys):
    assert main(["curl", str(image), "--form", "json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.startswith("{ printf %s ")
    assert "http://localhost:8000/v2/models/densenet_ensemble/infer" in out


def test_curl_refuses_grpc_and_missing_images(image, tmp_path, capsys):
    assert main(["curl", str(image), "--url", "grpc://localhost:8001"]) == 2
    assert "curl speaks HTTP" in capsys.readouterr().err
    assert main(["curl", str(tmp_path / "gone.jpg")]) == 2
    assert "gone.jpg: No such file or directory" in capsys.readouterr().err


def test_status_of_an_unreachable_server_exits_1(capsys):
    assert main(["status", "--url", f"http://127.0.0.1:{free_port()}"]) == 1
    assert "live: no  ready: no" in capsys.readouterr().out


def test_the_api_key_file_is_read_and_a_bad_one_is_a_clear_error(image, tmp_path, capsys):
    from densenet_client.cli.options import api_key

    key = tmp_path / "key"
    key.write_text("# for the edge\n\n  cli-test-key-0123456789  \nsecond-line-ignored\n")
    assert api_key(key) == "cli-test-key-0123456789"
    assert api_key(None) is None
    key.write_text("# nothing else\n")
    assert main(["classify", str(image), "--api-key-file", str(key)]) == 2
    assert "holds no key" in capsys.readouterr().err
    assert main(["classify", str(image), "--api-key-file", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "cannot read the API key file" in err
    assert "Traceback" not in err
