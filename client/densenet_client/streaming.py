"""Ordered, bounded concurrency: results in input order, at most ``concurrency`` calls at a time.

Inputs are consumed lazily (a generator of a million paths is fine): at most ``concurrency``
results are in flight or waiting to be taken. If the consumer stops early, calls not yet started
are cancelled and those running are waited for.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import TypeVar

from .errors import ConfigurationError, DenseNetClientError

In = TypeVar("In")
Out = TypeVar("Out")


def check_concurrency(concurrency: int) -> int:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigurationError(f"concurrency must be a whole number >= 1, not {concurrency!r}")
    return concurrency


def ordered_map(
    call: Callable[[In], Out],
    items: Iterable[In],
    concurrency: int,
    *,
    return_exceptions: bool = False,
    thread_name_prefix: str = "densenet-client",
) -> Iterator[Out | DenseNetClientError]:
    """``call(item)`` for each item on a pool of ``concurrency`` threads, yielded in input order.

    With ``return_exceptions`` a ``DenseNetClientError`` is yielded in its item's place instead of raised.
    """
    check_concurrency(concurrency)
    pool = concurrent.futures.ThreadPoolExecutor(concurrency, thread_name_prefix=thread_name_prefix)
    pending: deque[concurrent.futures.Future[Out]] = deque()
    try:
        for item in items:
            if len(pending) >= concurrency:
                yield _outcome(pending.popleft().result, return_exceptions)
            pending.append(pool.submit(call, item))
        while pending:
            yield _outcome(pending.popleft().result, return_exceptions)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


async def ordered_map_async(
    call: Callable[[In], Awaitable[Out]],
    items: Iterable[In] | AsyncIterable[In],
    concurrency: int,
    *,
    return_exceptions: bool = False,
) -> AsyncIterator[Out | DenseNetClientError]:
    """The asyncio form of ``ordered_map``: at most ``concurrency`` tasks, results in input order."""
    check_concurrency(concurrency)
    pending: deque[asyncio.Task[Out]] = deque()
    try:
        async for item in _aiter(items):
            if len(pending) >= concurrency:
                yield await _outcome_async(pending.popleft(), return_exceptions)
            pending.append(asyncio.ensure_future(call(item)))
        while pending:
            yield await _outcome_async(pending.popleft(), return_exceptions)
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def _outcome(result: Callable[[], Out], return_exceptions: bool) -> Out | DenseNetClientError:
    try:
        return result()
    except DenseNetClientError as error:
        if return_exceptions:
            return error
        raise


async def _outcome_async(task: Awaitable[Out], return_exceptions: bool) -> Out | DenseNetClientError:
    try:
        return await task
    except DenseNetClientError as error:
        if return_exceptions:
            return error
        raise


async def _aiter(items: Iterable[In] | AsyncIterable[In]) -> AsyncIterator[In]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
