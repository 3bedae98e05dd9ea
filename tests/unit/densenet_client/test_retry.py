"""The retry policy under a fake clock: what is retried, how long it waits, when it gives up."""

from __future__ import annotations

import asyncio

import pytest

from densenet_client import (
    ConfigurationError,
    InvalidImage,
    RetryPolicy,
    ServerBusy,
    ServerUnavailable,
    Timeout,
)


class FakeClock:
    """time.monotonic and time.sleep (or asyncio.sleep) that only move when the code sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def sleep_async(self, seconds: float) -> None:
        self.sleep(seconds)


class Flaky:
    """Fails with the given errors, one per call, then answers "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"

    async def call_async(self) -> str:
        return self()


def unavailable() -> ServerUnavailable:
    return ServerUnavailable("cannot reach the server at http://h:1: Connection refused")


def test_unavailability_is_retried_with_exponential_backoff_until_it_answers():
    clock, attempt = FakeClock(), Flaky(unavailable(), unavailable(), unavailable())
    policy = RetryPolicy(attempts=4, initial_backoff_s=0.2, multiplier=2, max_backoff_s=10, jitter=0)
    assert policy.call(attempt, sleep=clock.sleep, clock=clock.clock) == "ok"
    assert attempt.calls == 4
    assert clock.sleeps == pytest.approx([0.2, 0.4, 0.8])


def test_it_gives_up_after_all_attempts_and_says_how_many():
    clock, attempt = FakeClock(), Flaky(*(unavailable() for _ in range(10)))
    with pytest.raises(ServerUnavailable) as caught:
        RetryPolicy(attempts=3, jitter=0).call(attempt, sleep=clock.sleep, clock=clock.clock)
    assert attempt.calls == 3
    assert len(clock.sleeps) == 2
    assert caught.value.attempts == 3
    assert str(caught.value).endswith("(gave up after 3 attempts)")


@pytest.mark.parametrize("error", [InvalidImage("not a recognised image format"), Timeout("no answer")])
def test_bad_input_and_timeouts_are_never_retried(error):
    clock, attempt = FakeClock(), Flaky(error)
    with pytest.raises(type(error)):
        RetryPolicy(attempts=5).call(attempt, sleep=clock.sleep, clock=clock.clock)
    assert attempt.calls == 1
    assert clock.sleeps == []


def test_backoff_is_capped():
    policy = RetryPolicy(initial_backoff_s=0.5, multiplier=3, max_backoff_s=2, jitter=0)
    assert [policy.backoff_s(n, 0.0) for n in (1, 2, 3, 4)] == [0.5, 1.5, 2, 2]


def test_jitter_only_shortens_the_wait_within_its_fraction():
    policy = RetryPolicy(initial_backoff_s=1.0, jitter=0.25)
    assert policy.backoff_s(1, 0.0) == 1.0
    assert policy.backoff_s(1, 0.999999) == pytest.approx(0.75, abs=1e-5)
    clock, attempt = FakeClock(), Flaky(unavailable(), unavailable())
    policy.call(attempt, sleep=clock.sleep, clock=clock.clock, rand=lambda: 0.5)
    assert clock.sleeps == pytest.approx([0.875, 1.75])


def test_no_retry_starts_past_the_elapsed_budget():
    clock = FakeClock()
    slow = Flaky(unavailable(), unavailable(), unavailable())

    def attempt():
        clock.now += 2.0  # each try takes 2 s before failing
        return slow()

    policy = RetryPolicy(attempts=10, initial_backoff_s=1, multiplier=1, jitter=0, max_elapsed_s=5.5)
    with pytest.raises(ServerUnavailable) as caught:
        policy.call(attempt, sleep=clock.sleep, clock=clock.clock)
    # t=2 fail, wait 1 -> t=3; t=5 fail, and 5 + 1 > 5.5: give up
    assert slow.calls == 2
    assert caught.value.attempts == 2


def test_never_tries_once():
    clock, attempt = FakeClock(), Flaky(unavailable())
    with pytest.raises(ServerUnavailable):
        RetryPolicy.never().call(attempt, sleep=clock.sleep, clock=clock.clock)
    assert attempt.calls == 1


def test_the_async_form_behaves_the_same():
    clock, attempt = FakeClock(), Flaky(unavailable(), unavailable())
    policy = RetryPolicy(attempts=3, initial_backoff_s=0.1, jitter=0)
    result = asyncio.run(policy.call_async(attempt.call_async, sleep=clock.sleep_async, clock=clock.clock))
    assert result == "ok"
    assert clock.sleeps == pytest.approx([0.1, 0.2])
    refused = Flaky(InvalidImage("bad"))
    with pytest.raises(InvalidImage):
        asyncio.run(policy.call_async(refused.call_async, sleep=clock.sleep_async, clock=clock.clock))
    assert refused.calls == 1


@pytest.mark.parametrize(
    "options",
    [{"attempts": 0}, {"jitter": 1.0}, {"jitter": -0.1}, {"initial_backoff_s": -1}, {"multiplier": 0.5}],
)
def test_invalid_policies_are_refused(options):
    with pytest.raises(ConfigurationError):
        RetryPolicy(**options)


def busy(retry_after_s: float | None) -> ServerBusy:
    return ServerBusy("the server at http://h:1 is busy", retry_after_s=retry_after_s)


def test_a_busy_server_is_retried_no_sooner_than_its_retry_after():
    clock, attempt = FakeClock(), Flaky(busy(1.0), busy(1.0), busy(None))
    policy = RetryPolicy(attempts=4, initial_backoff_s=0.2, multiplier=2, max_backoff_s=10, jitter=0)
    assert policy.call(attempt, sleep=clock.sleep, clock=clock.clock) == "ok"
    # Retry-After 1 s beats the backoff's 0.2 and 0.4; without one, the backoff (0.8) alone.
    assert clock.sleeps == pytest.approx([1.0, 1.0, 0.8])


def test_clients_told_the_same_retry_after_do_not_come_back_together():
    policy = RetryPolicy(initial_backoff_s=0.1, jitter=0.2)
    waits = [
        policy.start(clock=lambda: 0.0, rand=lambda r=r: r).next_wait(busy(1.0)) for r in (0.0, 0.5, 0.9)
    ]
    assert waits == pytest.approx([1.0, 1.1, 1.18])


def test_a_retry_after_beyond_the_elapsed_budget_gives_up_at_once():
    clock, attempt = FakeClock(), Flaky(busy(60.0))
    with pytest.raises(ServerBusy):
        RetryPolicy(max_elapsed_s=30).call(attempt, sleep=clock.sleep, clock=clock.clock)
    assert clock.sleeps == []
