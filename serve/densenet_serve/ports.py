"""Ports for servers this package starts: free ones on this machine."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (another process may still take it before the server)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
