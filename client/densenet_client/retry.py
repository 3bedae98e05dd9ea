"""Retries with exponential backoff, for ``ServerUnavailable`` only.

An unreachable server (restarting, not listening yet, a proxy answering 503) or a busy one (its
queues full, this client over its rate limit: ``ServerBusy``) is worth another try, no sooner than
the server's Retry-After;
inference is a pure function, so sending the request again is safe. A refused image or a timeout is
not retried: the first would fail the same way, the second may still be running on the server.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from .errors import ConfigurationError, ServerUnavailable

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How a client retries ``ServerUnavailable`` (and ``ServerBusy``): exponential backoff with jitter.

    Each wait is shortened by a random fraction up to ``jitter`` so that clients that failed together
    do not come back together; a busy server's Retry-After is waited at least.

    Parameters
    ----------
    attempts
        Tries in all (1: no retry).
    initial_backoff_s
        The first wait.
    multiplier
        Each later wait is this many times longer (at least 1) ...
    max_backoff_s
        ... up to this.
    jitter
        The largest random fraction taken off a wait, from 0 (none) up to but not including 1.
    max_elapsed_s
        No retry starts once this many seconds since the first try would be passed.

    Raises
    ------
    ConfigurationError
        For attempts below 1, a jitter outside [0, 1), negative times or a multiplier below 1.
    """

    attempts: int = 4
    initial_backoff_s: float = 0.2
    multiplier: float = 2.0
    max_backoff_s: float = 2.0
    jitter: float = 0.2
    max_elapsed_s: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigurationError(f"attempts must be at least 1, not {self.attempts}")
        if not 0 <= self.jitter < 1:
            raise ConfigurationError(f"jitter must be in [0, 1), not {self.jitter}")
        if min(self.initial_backoff_s, self.max_backoff_s, self.max_elapsed_s) < 0 or self.multiplier < 1:
            raise ConfigurationError("backoff times must be >= 0 and the multiplier >= 1")

    @classmethod
    def never(cls) -> RetryPolicy:
        """One attempt: report unavailability at once.

        Returns
        -------
        RetryPolicy
            ``RetryPolicy(attempts=1)``.
        """
        return cls(attempts=1)

    def backoff_s(self, retry: int, rand: float) -> float:
        """The wait before retry number ``retry`` (1 for the first), given ``rand`` in [0, 1).

        Returns
        -------
        float
            Seconds, before any Retry-After the server asked for.
        """
        base = min(self.max_backoff_s, self.initial_backoff_s * self.multiplier ** (retry - 1))
        return base * (1 - self.jitter * rand)

    def start(
        self, clock: Callable[[], float] = time.monotonic, rand: Callable[[], float] = random.random
    ) -> Backoff:
        """The state of one call: ``clock`` (seconds, monotonic) and ``rand`` (in [0, 1)) for tests."""
        return Backoff(self, clock, rand)

    def call(
        self,
        attempt: Callable[[], T],
        *,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> T:
        """``attempt()``, retried after ``ServerUnavailable`` as the policy allows.

        Parameters
        ----------
        attempt
            The call to make; any other exception passes through at once.
        sleep, clock, rand
            How to wait, tell the time and draw the jitter (the real ones unless a test says).

        Returns
        -------
        T
            What the first successful ``attempt()`` returns.

        Raises
        ------
        ServerUnavailable
            The last one, once no try is left (its ``attempts`` says how many were made).
        """
        backoff = self.start(clock, rand)
        while True:
            try:
                return attempt()
            except ServerUnavailable as error:
                sleep(backoff.next_wait(error))

    async def call_async(
        self,
        attempt: Callable[[], Awaitable[T]],
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        **timing: Callable[[], float],
    ) -> T:
        """The asyncio form of ``call``: ``await attempt()``, retried after ``ServerUnavailable``.

        ``timing`` (``clock``, ``rand``) is as for :meth:`start`; ``sleep`` is awaited.
        """
        backoff = self.start(**timing)
        while True:
            try:
                return await attempt()
            except ServerUnavailable as error:
                await sleep(backoff.next_wait(error))


class Backoff:
    """The state of one call under a policy: how many tries so far, and since when."""

    def __init__(self, policy: RetryPolicy, clock: Callable[[], float], rand: Callable[[], float]) -> None:
        self._policy, self._clock, self._rand = policy, clock, rand
        self._started = clock()
        self.tries = 0

    def next_wait(self, error: ServerUnavailable) -> float:
        """Seconds to wait before the next try; re-raises ``error`` (with the count) when none is left."""
        self.tries += 1
        error.attempts = self.tries
        if self.tries >= self._policy.attempts:
            raise error
        wait = self._policy.backoff_s(self.tries, self._rand())
        retry_after = getattr(error, "retry_after_s", None)
        if retry_after is not None:  # the server said when: no sooner (spread a little later)
            wait = max(wait, retry_after * (1 + self._policy.jitter * self._rand()))
        if self._clock() - self._started + wait > self._policy.max_elapsed_s:
            raise error
        return wait
