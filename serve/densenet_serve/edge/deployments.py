"""The same edge in production: compose's and Kubernetes' nginx.conf, and compose's one-shot ``edge``."""

from __future__ import annotations

from pathlib import Path

from densenet_contract.files import write_atomically

from ..core import check_admin_token
from ..errors import ServerSetupError
from ..tls import fingerprint, self_signed
from .config import ProxyConfig
from .keys import MAP_FILES, write_map_files

# The same edge in production (docker/), on 8443 (HTTPS) and 8444 (gRPC over TLS).
# `densenet-edge compose|kubernetes` writes these files; tests/deploy checks that the
# committed ones are exactly that. Kubernetes mounts the maps as secrets (written by `densenet-edge maps`);
# compose's one-shot `edge` service writes them at each `up` (`densenet-edge edge`, see prepare_edge).
COMPOSE_EDGE = Path("/etc/nginx/edge")  # the edge volume, written by compose's one-shot `edge`
DEPLOYMENTS = {
    # A container of its own on the compose network (docker/Dockerfile target proxy: Debian's
    # nginx); the root master names Debian's `www-data` for its workers.
    "compose": ProxyConfig(
        host="0.0.0.0", https_port=8443, grpc_port=8444, triton_host="triton",
        triton_http_port=8000, triton_grpc_port=8001,
        certificate=COMPOSE_EDGE / "tls.crt", private_key=COMPOSE_EDGE / "tls.key",
        prefix=Path("/tmp"), workers="auto", worker_user="www-data www-data",
        admin_token_map=COMPOSE_EDGE / MAP_FILES[0], api_keys_map=COMPOSE_EDGE / MAP_FILES[1],
    ),
    # A sidecar in the Triton pod (Triton on the pod's loopback), running as the pod's user.
    "kubernetes": ProxyConfig(
        host="0.0.0.0", https_port=8443, grpc_port=8444,
        triton_http_port=8000, triton_grpc_port=8001,
        certificate=Path("/etc/nginx/tls/tls.crt"), private_key=Path("/etc/nginx/tls/tls.key"),
        prefix=Path("/tmp"), workers="auto",
        admin_token_map=Path("/etc/nginx/edge/admin-token.map"),
        api_keys_map=Path("/etc/nginx/edge/api-keys.map"),
    ),
}  # fmt: skip


def prepare_edge(secrets: Path, edge: Path, token_file: Path) -> list[str]:
    """Compose's one-shot ``edge`` service: the certificate and maps nginx.conf names, in ``edge``.

    The user's certificate (secrets ``tls_certificate`` and ``tls_key``, non-empty) wins; else a
    self-signed one is made once in ``edge``/self-signed and reused. The admin token's map comes
    from secret ``triton_admin_token``, which is also copied to ``token_file`` for Triton (a
    read-only container cannot receive compose's environment secrets itself); the API keys' map
    from secret ``edge_api_keys`` (one key a line; empty: keys off). Returns what it did, in words.
    """
    try:
        token = check_admin_token((secrets / "triton_admin_token").read_text().strip())
    except OSError:
        raise ServerSetupError("no admin token (secret triton_admin_token): set TRITON_ADMIN_TOKEN") from None
    certificate, key = secrets / "tls_certificate", secrets / "tls_key"
    given = [path.is_file() and path.stat().st_size > 0 for path in (certificate, key)]
    if given == [True, True]:
        said = "the given TLS certificate (TLS_CERTIFICATE, TLS_KEY)"
    elif any(given):
        raise ServerSetupError(
            "give both the TLS certificate and its key (TLS_CERTIFICATE and TLS_KEY), or neither"
        )
    else:
        certificate, key = self_signed(edge / "self-signed", "")
        said = f"a self-signed certificate, SHA-256 {fingerprint(certificate)}"
    edge.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name, source in (("tls.crt", certificate), ("tls.key", key)):
        write_atomically(edge / name, source.read_text(), mode=0o600)
    keys = secrets / "edge_api_keys"
    with_keys = keys.is_file() and keys.stat().st_size > 0
    write_map_files(edge, token, keys if with_keys else None)
    write_atomically(token_file, token + "\n", mode=0o600)
    return [said, "client API keys: " + ("from EDGE_API_KEY_FILE" if with_keys else "off")]
