"""Network mode's nginx configuration: pure rendering, and nginx's own check of the result."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from densenet_build.repository.pbtxt import parse_model_config
from densenet_serve.edge import __main__ as edge_cli
from densenet_serve.edge import nginx as edge_nginx
from densenet_serve.edge.config import (
    MAX_BODY_BYTES,
    MAX_IMAGE_BYTES,
    ProxyConfig,
    at_most_pattern,
    is_loopback,
    nginx_config,
)
from densenet_serve.edge.deployments import prepare_edge
from densenet_serve.edge.keys import admin_token_map, api_keys_map, read_api_keys
from densenet_serve.edge.nginx import NginxProxy, find_nginx
from densenet_serve.errors import ServerSetupError
from densenet_serve.tls import fingerprint, self_signed, subject_alt_names

REPO_ROOT = Path(__file__).resolve().parents[3]


def config(tmp_path: Path, **changes) -> ProxyConfig:
    return ProxyConfig(
        **{
            "host": "0.0.0.0",
            "https_port": 8443,
            "grpc_port": 8444,
            "triton_http_port": 18000,
            "triton_grpc_port": 18001,
            "certificate": tmp_path / "c.crt",
            "private_key": tmp_path / "c.key",
            "prefix": tmp_path / "nginx",
            **changes,
        }
    )


@pytest.mark.parametrize("limit", [0, 1, 9, 10, 99, 100, 101, 16384, 20000, 99999])
def test_at_most_pattern_matches_exactly_the_integers_up_to_the_limit(limit):
    pattern = re.compile(at_most_pattern(limit))
    for number in range(0, 2 * limit + 1100):
        assert bool(pattern.fullmatch(str(number))) == (number <= limit), number
    assert pattern.fullmatch(f"000{limit}")  # leading zeros: the same number
    for text in ("", "-1", "+1", "1e3", " 1", "0x10"):
        assert not pattern.fullmatch(text), text


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True), ("0.0.0.0", False),
     ("::", False), ("192.168.1.5", False), ("example.org", False)],
)  # fmt: skip
def test_network_mode_starts_beyond_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_config_listens_publicly_and_forwards_to_loopback(tmp_path):
    text = nginx_config(config(tmp_path))
    assert "listen 0.0.0.0:8443 ssl;" in text
    assert "listen 0.0.0.0:8444 ssl http2;" in text
    assert "server 127.0.0.1:18000;" in text
    assert "server 127.0.0.1:18001;" in text
    assert "daemon off;" in text
    assert f"pid {tmp_path}/nginx/nginx.pid;" in text
    assert not re.search(r"\{\{\w+\}\}", text), "a field was left unfilled"


def test_config_caps_bodies_json_and_headers_and_times_out_slow_clients(tmp_path):
    text = nginx_config(config(tmp_path, max_json_bytes=4096, client_timeout_s=7))
    assert f"client_max_body_size {MAX_BODY_BYTES};" in text
    assert "client_max_body_size 4096;" in text  # bodies that are all JSON
    assert f'"~^{at_most_pattern(4096)}$" "";' in text  # Inference-Header-Content-Length
    assert "large_client_header_buffers 4 8k;" in text
    for directive in ("client_header_timeout", "client_body_timeout", "send_timeout"):
        assert f"{directive} 7s;" in text
    assert "proxy_request_buffering on;" in text
    assert 'proxy_set_header Content-Encoding "";' in text


def test_ipv6_addresses_are_bracketed(tmp_path):
    assert "listen [::]:8443 ssl;" in nginx_config(config(tmp_path, host="::"))


@pytest.mark.parametrize("field", ["access_log", "prefix"])
def test_values_that_would_break_the_config_are_refused(tmp_path, field):
    with pytest.raises(ValueError, match=r"cannot go into nginx\.conf"):
        nginx_config(config(tmp_path, **{field: "/tmp/a; include /etc/passwd"}))


def test_unknown_template_fields_are_refused(tmp_path):
    with pytest.raises(KeyError, match="unknown field"):
        nginx_config(config(tmp_path), template="listen {{nonsense}};")


def test_the_body_cap_holds_one_image_of_the_preprocess_limit():
    preprocess = parse_model_config((REPO_ROOT / "model_repository/preprocess/config.pbtxt").read_text())
    assert int(preprocess.parameters["max_bytes"].string_value) == MAX_IMAGE_BYTES
    assert MAX_IMAGE_BYTES < MAX_BODY_BYTES < 20 << 20


def test_missing_nginx_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("NGINX", raising=False)
    monkeypatch.setattr(edge_nginx, "NGINX_SEARCH_PATH", ())
    with pytest.raises(ServerSetupError, match="apt-get install nginx"):
        find_nginx()
    with pytest.raises(ServerSetupError, match="nginx not found at /no/nginx"):
        find_nginx("/no/nginx")


def test_self_signed_certificate_is_made_once_with_the_names_clients_use(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("no openssl CLI")
    certificate, key = self_signed(tmp_path / "tls", "10.1.2.3")
    assert key.stat().st_mode & 0o077 == 0
    text = subprocess.run(
        ["openssl", "x509", "-in", str(certificate), "-noout", "-ext", "subjectAltName", "-fingerprint",
         "-sha256"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "IP Address:127.0.0.1" in text
    assert "IP Address:10.1.2.3" in text
    assert f"Fingerprint={fingerprint(certificate)}" in text
    assert self_signed(tmp_path / "tls", "10.1.2.3") == (certificate, key)
    assert certificate.read_bytes() == self_signed(tmp_path / "tls", "0.0.0.0")[0].read_bytes()


def test_the_unspecified_address_is_not_a_certificate_name():
    assert not any("0.0.0.0" in name for name in subject_alt_names("0.0.0.0"))
    assert "DNS:example.org" in subject_alt_names("example.org")


def test_nginx_accepts_the_rendered_configuration(tmp_path):
    try:
        nginx = find_nginx()
    except ServerSetupError as error:
        pytest.skip(str(error))
    if shutil.which("openssl") is None:
        pytest.skip("no openssl CLI")
    certificate, key = self_signed(tmp_path / "tls", "127.0.0.1")
    edge = NginxProxy(
        config(tmp_path, certificate=certificate, private_key=key), nginx, "an-admin-token-of-16"
    )
    edge.config_path.parent.mkdir(parents=True)
    edge.config_path.write_text(nginx_config(edge.config))
    edge.write_maps()
    result = subprocess.run(edge._argv("-t"), capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def map_regexes(text: str) -> dict[str, str]:
    """The map file's regular expressions (Python-compatible here) and their values."""
    entries = re.findall(r'^"~(.*)" (\S+);$', text, flags=re.MULTILINE)
    return {pattern.replace("\\.", r"\.").replace("\\+", r"\+"): value for pattern, value in entries}


def test_the_admin_token_matches_exactly_its_value_case_and_all():
    (pattern,) = map_regexes(admin_token_map("Abc.def+ghi/jkl~mn-o_p"))
    assert re.fullmatch(pattern, "Abc.def+ghi/jkl~mn-o_p")
    for other in ("abc.def+ghi/jkl~mn-o_p", "AbcXdef+ghi/jkl~mn-o_p", "Abc.def+ghi/jkl~mn-o_p ", "x"):
        assert not re.fullmatch(pattern, other), other
    with pytest.raises(ServerSetupError, match="at least 16 characters"):
        admin_token_map('short"; }')


def test_api_keys_name_their_clients_by_position_and_never_by_the_key():
    text = api_keys_map(["first-key-0123456789", "Second.key+0123456789"])
    assert text.startswith('default "";')  # an unknown or missing key: 401
    entries = map_regexes(text)
    assert list(entries.values()) == ['"key1"', '"key2"']
    first, second = entries
    assert re.fullmatch(first, "Bearer first-key-0123456789")
    assert not re.fullmatch(first, "Bearer FIRST-key-0123456789")
    assert not re.fullmatch(first, "first-key-0123456789")
    assert re.fullmatch(second, "Bearer Second.key+0123456789")
    assert not re.fullmatch(second, "Bearer SecondXkey+0123456789")
    assert api_keys_map(None) == 'default "-";\n'  # keys off: every client is "-"


def test_the_key_file_holds_one_key_a_line_with_comments(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("# rotated 2026-01\n\nfirst-key-0123456789\n  second-key-0123456789  \n")
    assert read_api_keys(keys) == ["first-key-0123456789", "second-key-0123456789"]
    keys.write_text("first-key-0123456789\nshort\n")
    with pytest.raises(ServerSetupError, match="line 2: an API key must be at least 16") as error:
        read_api_keys(keys)
    assert "short" not in str(error.value).split(":", 2)[-1].split("(")[0]
    keys.write_text("# nothing\n")
    with pytest.raises(ServerSetupError, match="holds no API key"):
        read_api_keys(keys)
    with pytest.raises(ServerSetupError, match="cannot read the API key file"):
        read_api_keys(tmp_path / "missing")


def test_limits_are_per_client_and_off_with_zero(tmp_path):
    text = nginx_config(config(tmp_path, rate_limit_per_s=7, rate_limit_burst=3, connection_limit=5))
    assert "rate=7r/s;" in text
    assert "limit_req zone=per_client_rate burst=3 nodelay;" in text
    assert "limit_conn per_client_connections 5;" in text
    assert text.count('default "$binary_remote_addr$api_client";') == 2
    off = nginx_config(config(tmp_path, rate_limit_per_s=0, connection_limit=0))
    assert off.count('default "";') == 2  # an empty key is not counted
    with pytest.raises(ValueError, match="must be >= 0"):
        nginx_config(config(tmp_path, rate_limit_per_s=-1))


def test_only_the_served_models_are_on_the_allow_list(tmp_path):
    text = nginx_config(config(tmp_path, served_models=("a_model", "b")))
    assert "location ~ ^/v2/models/(a_model|b)(/versions/[0-9]+)?/infer$ {" in text
    with pytest.raises(ValueError, match="model name"):
        nginx_config(config(tmp_path, served_models=("a|.*",)))


def test_the_production_maps_are_written_private_from_the_token_and_the_key_file(
    tmp_path, monkeypatch, capsys
):
    keys = tmp_path / "keys"
    keys.write_text("a-client-key-0123456789\n")
    monkeypatch.setenv("TRITON_ADMIN_TOKEN", "an-admin-token-0123456789")
    assert edge_cli.main(["maps", str(tmp_path / "edge"), "--api-key-file", str(keys)]) == 0
    assert (tmp_path / "edge" / "admin-token.map").read_text() == admin_token_map("an-admin-token-0123456789")
    assert (tmp_path / "edge" / "api-keys.map").read_text() == api_keys_map(["a-client-key-0123456789"])
    assert all(path.stat().st_mode & 0o077 == 0 for path in (tmp_path / "edge").iterdir())
    assert "a-client-key" not in capsys.readouterr().out
    monkeypatch.delenv("TRITON_ADMIN_TOKEN")
    assert edge_cli.main(["maps", str(tmp_path / "other")]) == 2
    assert "set TRITON_ADMIN_TOKEN" in capsys.readouterr().err


def test_a_restart_after_the_key_file_broke_keeps_the_keys_in_force(tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("a-client-key-0123456789\n")
    edge = NginxProxy(config(tmp_path), "nginx", "an-admin-token-0123456789", keys)
    edge.config.prefix.mkdir()
    edge.write_maps()
    in_force = edge.config.api_keys_map_path.read_text()
    keys.write_text("short\n")
    with pytest.raises(ServerSetupError, match="line 1"):
        edge.write_maps()  # a reload refuses it ...
    assert edge.config.api_keys_map_path.read_text() == in_force  # ... and changes nothing


TOKEN = "an-admin-token-0123456789"


def edge_secrets(directory: Path, **files: str) -> Path:
    """A /run/secrets as compose mounts it for the one-shot `edge`: unset optional files are empty."""
    directory.mkdir()
    for name in ("triton_admin_token", "tls_certificate", "tls_key", "edge_api_keys"):
        (directory / name).write_text(files.get(name, ""))
    return directory


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
def test_the_compose_edge_makes_a_certificate_once_and_the_maps_from_the_token(tmp_path, capsys):
    secrets = edge_secrets(tmp_path / "secrets", triton_admin_token=TOKEN + "\n")
    edge, token_file = tmp_path / "edge", tmp_path / "token" / "triton_admin_token"
    token_file.parent.mkdir()
    argv = ["edge", str(edge), "--secrets", str(secrets), "--token-file", str(token_file)]
    assert edge_cli.main(argv) == 0
    first = (edge / "tls.crt").read_text()
    assert f"SHA-256 {fingerprint(edge / 'tls.crt')}" in capsys.readouterr().out
    assert (edge / "admin-token.map").read_text() == admin_token_map(TOKEN)
    assert (edge / "api-keys.map").read_text() == api_keys_map(None)  # keys off
    assert token_file.read_text() == TOKEN + "\n"
    assert all(p.stat().st_mode & 0o077 == 0 for p in [*edge.iterdir(), token_file] if p.is_file())
    # The next `up`: the same certificate (clients keep trusting it), the maps rewritten.
    (secrets / "triton_admin_token").write_text("another-admin-token-01234")
    assert edge_cli.main(argv) == 0
    assert (edge / "tls.crt").read_text() == first
    assert (edge / "admin-token.map").read_text() == admin_token_map("another-admin-token-01234")


def test_the_compose_edge_takes_the_users_certificate_and_keys(tmp_path):
    secrets = edge_secrets(
        tmp_path / "secrets",
        triton_admin_token=TOKEN,
        tls_certificate="-----BEGIN CERTIFICATE-----\nmine\n",
        tls_key="-----BEGIN PRIVATE KEY-----\nmine\n",
        edge_api_keys="# clients\na-client-key-0123456789\n",
    )
    said = prepare_edge(secrets, tmp_path / "edge", tmp_path / "token")
    assert said[0] == "the given TLS certificate (TLS_CERTIFICATE, TLS_KEY)"
    assert (tmp_path / "edge" / "tls.crt").read_text().endswith("mine\n")
    assert (tmp_path / "edge" / "tls.key").read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert not (tmp_path / "edge" / "self-signed").exists()
    assert (tmp_path / "edge" / "api-keys.map").read_text() == api_keys_map(["a-client-key-0123456789"])


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"tls_certificate": "cert"}, "give both the TLS certificate and its key"),
        ({"triton_admin_token": "short"}, "16 characters"),
    ],
)
def test_the_compose_edge_refuses_half_a_certificate_or_a_weak_token(tmp_path, files, message):
    secrets = edge_secrets(tmp_path / "secrets", **{"triton_admin_token": TOKEN, **files})
    with pytest.raises(ServerSetupError, match=message):
        prepare_edge(secrets, tmp_path / "edge", tmp_path / "token")
    assert not (tmp_path / "token").exists()
