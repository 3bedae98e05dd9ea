"""Run a command with its stderr on a pseudo-terminal, as a user's shell would: progress bars show."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
import threading
from collections.abc import Sequence
from typing import Any


def run_on_terminal(command: Sequence[str], timeout: float = 120, **kwargs: Any) -> tuple[int, str]:
    """``command``'s exit status and what it wrote to stderr, a 24x100 terminal (stdout discarded)."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24x100, like a terminal
    process = subprocess.Popen(list(command), stdout=subprocess.DEVNULL, stderr=terminal, **kwargs)
    os.close(terminal)
    chunks: list[bytes] = []

    def drain() -> None:  # read while it runs, so a full terminal buffer never blocks it
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the other end is closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    status = process.wait(timeout=timeout)
    reader.join(timeout=10)
    os.close(controller)
    return status, b"".join(chunks).decode(errors="replace")
