"""Ports for servers this package starts: free ones on this machine."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (another process may still take it before the server)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def ports_in_use(host: str, ports: dict[str, int]) -> list[str]:
    """Which of the named ``ports`` another process already listens on at ``host``.

    ``SO_REUSEADDR`` as servers set it: a port still in TIME_WAIT from a stopped server counts as free.
    """
    taken = []
    for name, port in ports.items():
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                taken.append(f"{port} ({name})")
    return taken
