"""The launcher's watch over a running server and its edge: restart whichever dies, within bounds."""

from __future__ import annotations

import sys
import time

from .core import Watchdog, first_exit
from .edge.nginx import NginxProxy
from .errors import ServeError
from .options import WatchdogOptions
from .server import TritonServer

MAX_RESTARTS = 5
RESTART_WINDOW_S = 600


def supervise(
    server: TritonServer,
    watchdog_options: WatchdogOptions,
    ready_timeout: float,
    proxy: NginxProxy | None = None,
) -> int:
    """Watch the running server (and its proxy); restart whichever dies, and the server after
    ``watchdog_options.failures`` failed health checks in a row.

    Returns only if the watchdog is off and the server exits (its exit code). Raises ``ServeError``
    after more than ``MAX_RESTARTS`` restarts in ``RESTART_WINDOW_S``.
    """
    interval = watchdog_options.interval_s
    watchdog = Watchdog(
        server.http_url, watchdog_options.failures, lambda line: print(f"watchdog: {line}", file=sys.stderr)
    )
    restarts: list[float] = []
    while True:
        assert server.process is not None
        processes = {"tritonserver": server.process}
        if proxy is not None:
            assert proxy.process is not None
            processes["nginx"] = proxy.process
        exited = first_exit(processes, interval if interval > 0 else None)
        if exited is None:
            if not watchdog.due():
                continue
            reason, restart = "health checks failed", "tritonserver"
        else:
            restart, code = exited
            if interval <= 0 and restart == "tritonserver":
                return code
            reason = f"{restart} exited with code {code}"
        now = time.monotonic()
        restarts = [t for t in restarts if now - t < RESTART_WINDOW_S] + [now]
        if len(restarts) > MAX_RESTARTS:
            raise ServeError(
                f"{reason}; {MAX_RESTARTS} restarts in {RESTART_WINDOW_S // 60} minutes, giving up"
            )
        print(f"watchdog: {reason}; restarting {restart}", file=sys.stderr, flush=True)
        if restart == "nginx":
            assert proxy is not None
            _restart_nginx(proxy)
            continue
        server.stop()
        server.start()
        server.wait_ready(ready_timeout)
        print("watchdog: all models READY again", file=sys.stderr, flush=True)
        watchdog.reset()


def _restart_nginx(proxy: NginxProxy) -> None:
    proxy.stop()
    proxy.start()
    proxy.wait_listening()
    print("watchdog: nginx listening again", file=sys.stderr, flush=True)
