"""Work handed off the request path: a daemon thread runs ``write(batch)`` for what was submitted.

The python models' metric updates are each a round trip from the stub to the server process; made
inside ``execute`` they would delay every response, and on a busy host by far more than the work
itself. The models submit what they observed instead, and this thread writes it, in submission
order, everything that piled up in one call. Readers of the metrics see an update shortly after
the response, not before it.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
_STOP = object()


class BackgroundWriter(Generic[T]):
    """Runs ``write(items)`` on one daemon thread for submitted items, oldest first, batched."""

    def __init__(self, write: Callable[[list[T]], None], name: str = "metrics") -> None:
        self._write = write
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.failures = 0  # write calls that raised (reported on stderr, never to a request)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, item: T) -> None:
        self._queue.put(item)

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what is still queued, then stop the thread."""
        self._queue.put(_STOP)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            items, stop = [self._queue.get()], False
            while True:  # everything that piled up goes in one call
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if any(item is _STOP for item in items):
                stop = True
                items = [item for item in items if item is not _STOP]
            if items:
                try:
                    self._write(items)  # type: ignore[arg-type]
                except Exception as error:  # a metrics failure must never stop the writer
                    self.failures += 1
                    print(f"metrics update failed: {type(error).__name__}: {error}", file=sys.stderr)
            if stop:
                return
