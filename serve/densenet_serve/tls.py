"""The TLS certificate of network mode: the user's own, or a self-signed one made once and reused.

Clients trust a self-signed certificate by its file (``curl --cacert``, tritonclient's
``root_certificates``) or by the SHA-256 fingerprint the launcher prints.
"""

from __future__ import annotations

import hashlib
import ipaddress
import shutil
import socket
import ssl
import subprocess
from pathlib import Path

from .errors import ServerSetupError

CERTIFICATE_NAME = "densenet-serve.crt"
KEY_NAME = "densenet-serve.key"
VALID_DAYS = 365


def subject_alt_names(host: str) -> list[str]:
    """Names clients may use: loopback, this machine's name, and ``host`` when it is specific."""
    names = ["DNS:localhost", "IP:127.0.0.1", "IP:::1"]
    hostname = socket.gethostname()
    if hostname and hostname != "localhost":
        names.append(f"DNS:{hostname}")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host:
            names.append(f"DNS:{host}")
    else:
        if not address.is_unspecified:
            names.append(f"IP:{address}")
    return list(dict.fromkeys(names))


def self_signed(directory: Path, host: str) -> tuple[Path, Path]:
    """``directory``'s certificate and key; made with the openssl CLI when they do not exist yet."""
    certificate, key = directory / CERTIFICATE_NAME, directory / KEY_NAME
    if certificate.is_file() and key.is_file():
        return certificate, key
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ServerSetupError(
            "no TLS certificate given (--tls-cert/--tls-key) and no `openssl` to make a self-signed one"
        )
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    command = [openssl, "req", "-x509", "-nodes", "-days", str(VALID_DAYS), "-subj", "/CN=densenet-serve"]
    command += ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    command += ["-addext", "subjectAltName=" + ",".join(subject_alt_names(host))]
    command += ["-keyout", str(key), "-out", str(certificate)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise ServerSetupError(f"openssl could not make a certificate: {result.stderr.strip()}")
    key.chmod(0o600)
    return certificate, key


def fingerprint(certificate: Path) -> str:
    """The certificate's SHA-256 fingerprint as browsers and ``openssl x509 -fingerprint`` show it."""
    der = ssl.PEM_cert_to_DER_cert(certificate.read_text())
    return ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest())
