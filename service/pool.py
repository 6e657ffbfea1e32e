"""Planning and model work (a class's plan, a teacher's check or edit of a set, mastery levels) in a
bounded pool of its own, so that it never holds the threads every other route shares.

A sync route, a sync dependency and `run_in_threadpool` all take one of the same few worker threads
(anyio's default limiter: 40 per process); a request that waits there for the planner holds one,
and forty of them leave a student's `/tonight`, sign-in and `/healthz` waiting behind them. Here the
work runs on `workers` threads of its own, at most `per_account` requests of one account are in
flight (running or waiting) at once, and at most `queue` more wait for a thread. Past either limit
the request is refused at once (`Busy`: 429 with Retry-After), never queued without bound.

One pool per process: with several workers or replicas, each holds its own (the per-account limit is
per process too).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from service.errors import Busy

P = ParamSpec("P")
T = TypeVar("T")


def cores() -> int:
    """The cores this process may run on (its affinity, where the system says; else all of them)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class PlanningPool:
    """`await pool.run(account, fn, *args, **kwargs)`: `fn` on one of the pool's threads, or Busy at once."""

    def __init__(self, *, workers: int, per_account: int, queue: int) -> None:
        if workers < 1 or per_account < 1 or queue < 0:
            raise ValueError("a planning pool needs at least one worker, one request per account, queue >= 0")
        self.workers, self.per_account, self.capacity = workers, per_account, workers + queue
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="planning")
        self._lock = threading.Lock()  # admitted on the event loop, released on the pool's threads
        self._of: dict[str, int] = {}  # account -> its requests in flight
        self._in_flight = 0
        self._mean_seconds = 2.0  # how long one piece of work takes, recently (for Retry-After)

    def in_flight(self, account: str | None = None) -> int:
        """Requests admitted and not yet done (running or waiting): the account's, or everyone's."""
        with self._lock:
            return self._in_flight if account is None else self._of.get(account, 0)

    def _retry_after(self, waiting: int) -> int:
        """Seconds until a place is likely free: about one piece of work, more when many are ahead."""
        rounds = max(1.0, waiting / self.workers)
        return min(60, max(1, math.ceil(self._mean_seconds * rounds)))

    def _admit(self, account: str) -> None:
        with self._lock:
            mine = self._of.get(account, 0)
            if mine >= self.per_account:
                raise Busy(
                    f"this account already has {mine} plans, checks or mastery requests running; "
                    "try again when one is done",
                    f"这个账号已有 {mine} 个排题、审核或掌握情况请求在进行中，请等其中一个完成后再试",
                    retry_after=self._retry_after(1),
                )
            if self._in_flight >= self.capacity:
                raise Busy(
                    "the service is planning for too many teachers at once; try again shortly",
                    "同时排题的老师太多，请稍后再试",
                    retry_after=self._retry_after(self._in_flight - self.workers + 1),
                )
            self._of[account] = mine + 1
            self._in_flight += 1

    def _release(self, account: str, started: float, ran: bool = True) -> None:
        with self._lock:
            if ran:
                self._mean_seconds += 0.2 * (time.monotonic() - started - self._mean_seconds)
            left = self._of[account] - 1
            if left:
                self._of[account] = left
            else:
                del self._of[account]
            self._in_flight -= 1

    async def run(self, account: str, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` on the pool's threads (in this context: request id, logging), counted
        against `account` until it is done — even if the caller goes away first, the work is counted
        until it stops. Raises Busy, without waiting, past the account's or the pool's limit."""
        self._admit(account)
        started = time.monotonic()
        try:
            work = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
            future: Future[T] = self._executor.submit(work)
        except BaseException:  # not submitted (the pool is shut down): nothing to wait for
            self._release(account, started, ran=False)
            raise
        future.add_done_callback(lambda done: self._release(account, started, not done.cancelled()))
        return await asyncio.wrap_future(future)  # cancelled while waiting: the work is dropped

    def close(self) -> None:
        """Stop taking work; what is waiting is dropped, what is running finishes."""
        self._executor.shutdown(wait=False, cancel_futures=True)
