"""The curl command lines (run against the real server in tests/e2e/test_client_cli.py)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from densenet_client import ConfigurationError, parse_endpoint
from densenet_client.cli.curl import json_header, json_output_command, raw_binary_command

HTTP = parse_endpoint("http://localhost:8000")


def test_raw_binary_is_the_readme_one_liner():
    command = raw_binary_command(Path("cat.jpg"), HTTP, "densenet_ensemble")
    assert command == (
        "curl --data-binary @cat.jpg -H 'Inference-Header-Content-Length: 0' "
        "http://localhost:8000/v2/models/densenet_ensemble/infer"
    )


def test_the_json_header_announces_the_image_bytes_and_top_k():
    assert json.loads(json_header(1234, 3)) == {
        "inputs": [
            {
                "name": "IMAGE",
                "datatype": "UINT8",
                "shape": [1, 1234],
                "parameters": {"binary_data_size": 1234},
            }
        ],
        "parameters": {"top_k": 3},
    }
    assert 'parameters":{"top_k' not in json_header(10)


def test_the_json_form_gives_the_exact_header_length():
    command = json_output_command(Path("cat.jpg"), 1234, HTTP, "densenet_ensemble", top_k=3)
    header = json_header(1234, 3)
    assert f"printf %s '{header}'" in command
    assert f"'Inference-Header-Content-Length: {len(header)}'" in command
    assert "cat cat.jpg;" in command


def test_paths_and_urls_are_quoted_for_the_shell():
    odd = Path("my photos/it's a cat.jpg")
    raw = shlex.split(raw_binary_command(odd, HTTP, "densenet_ensemble"))
    assert raw[2] == "@my photos/it's a cat.jpg"
    readable = json_output_command(odd, 5, parse_endpoint("https://gw:443/triton"), "densenet_ensemble")
    assert shlex.quote(str(odd)) in readable
    assert readable.endswith("https://gw:443/triton/v2/models/densenet_ensemble/infer")


def test_curl_needs_the_http_endpoint():
    with pytest.raises(ConfigurationError, match="curl speaks HTTP"):
        raw_binary_command(Path("cat.jpg"), parse_endpoint("grpc://localhost:8001"), "densenet_ensemble")
