"""How many of a model's instances are running right now, counted across their processes.

Each python-backend instance is its own process, so the count lives in a small file that every
instance of one server opens; ``fcntl`` locks make each change atomic (a few microseconds). An
instance that dies inside ``running()`` leaves the count one too high: its siblings then run with
their small thread share, which is slower but never wrong, until the server restarts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

from densenet_contract.names import SHM_PREFIX_VARIABLE  # set by the launcher: its server's prefix

_COUNT = struct.Struct("<q")


def busy_path() -> Path:
    """One count per server: under the launcher's prefix for its server, else per parent process
    (every instance's stub is a child of the same tritonserver)."""
    folder = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    prefix = os.environ.get(SHM_PREFIX_VARIABLE) or f"densenet-cpu-{os.getppid()}-"
    return folder / f"{prefix}densenet-busy"


class BusyCounter:
    """A counter shared by every process that opens ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)

    def _add(self, delta: int) -> int:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            raw = os.pread(self._fd, _COUNT.size, 0)
            value = max(0, (_COUNT.unpack(raw)[0] if len(raw) == _COUNT.size else 0) + delta)
            os.pwrite(self._fd, _COUNT.pack(value), 0)
            return value
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def running(self) -> Iterator[int]:
        """Count this caller in while the block runs; yields how many are running, this one included."""
        count = self._add(1)
        try:
            yield count
        finally:
            self._add(-1)

    def value(self) -> int:
        return self._add(0)

    def close(self, remove: bool = False) -> None:
        os.close(self._fd)
        if remove:  # siblings that still have it open keep their copy
            self.path.unlink(missing_ok=True)
