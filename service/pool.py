"""Planning and model work (a class's plan, a teacher's check or edit of a set, mastery levels) in a
bounded pool of its own, so that it never holds the threads, nor the interpreter, every other route
shares.

A sync route, a sync dependency and `run_in_threadpool` all take one of the same few worker threads
(anyio's default limiter: 40 per process); a request that waits there for the planner holds one,
and forty of them leave a student's `/tonight`, sign-in and `/healthz` waiting behind them. Here the
work runs on `workers` of its own, at most `per_account` requests of one account are in flight
(running or waiting) at once, and at most `queue` more wait for a worker. Past either limit the
request is refused at once (`Busy`: 429 with Retry-After), never queued without bound.

Where the work runs:
- threads (`processes=None`: tests, a model handed to the app): `fn(*args, **tools(), **kwargs)` on
  the pool's threads, `tools()` giving the process's database engine, model and policy book;
- processes (`processes=settings`: the service serving the registry's champion): planning is
  pure-Python work, and a thread of it in the serving process holds the interpreter lock for
  stretches of 5 ms at a time; a request that needs the lock back after each database read waits
  that long each time, so one teacher's planning made a student's `/tonight` take 350 ms at p99.
  In processes of their own (spawned, run at a lower CPU priority: `nice` +10), the planning
  leaves the serving process's interpreter and the cores to the cheap routes. Each worker process
  opens its own engine and policy book and loads the model version the serving process names with
  each piece of work (the same version, from the registry and the compiled-forest cache), keeping
  the students' states for it between requests like the serving process does (they are brought up
  to date from the database on every use: service.planner.context.StateCache). `fn` and its
  arguments go to the worker by pickling: a module-level domain function and plain values.

One pool per process: with several workers or replicas, each holds its own (the per-account limit is
per process too).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import math
import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, TypeVar

from service.errors import Busy, ModelUnavailable
from service.logs import safe_traceback

if TYPE_CHECKING:
    from service.settings import Settings

T = TypeVar("T")


def cores() -> int:
    """The cores this process may run on (its affinity, where the system says; else all of them)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class PlanningPool:
    """`await pool.run(account, fn, *args, **kwargs)`: `fn` on one of the pool's threads, or Busy at once."""

    def __init__(
        self,
        *,
        workers: int,
        per_account: int,
        queue: int,
        tools: Callable[[], dict[str, Any]] = dict,
        processes: Settings | None = None,
        version: Callable[[], str] | None = None,
    ) -> None:
        """`tools()`: the keyword arguments every piece of work gets besides its own (threads);
        `processes` (with `version()`, the model version to plan with now): run the work in worker
        processes started with these settings instead."""
        if workers < 1 or per_account < 1 or queue < 0:
            raise ValueError("a planning pool needs at least one worker, one request per account, queue >= 0")
        if processes is not None and version is None:
            raise ValueError("worker processes need the model version to plan with")
        self.workers, self.per_account, self.capacity = workers, per_account, workers + queue
        self._tools, self._settings, self._version = tools, processes, version
        self._executor: Executor = self._new_executor()
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

    @property
    def in_processes(self) -> bool:
        return self._settings is not None

    def _new_executor(self) -> Executor:
        if self._settings is None:
            return ThreadPoolExecutor(self.workers, thread_name_prefix="planning")
        return ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
            initargs=(self._settings, os.getpid()),
        )  # fmt: skip

    def _submit(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Future[T]:
        if self._version is None:  # threads (no processes): here, in this context (request id, logging)
            bound = functools.partial(_with_tools, self._tools, fn, args, kwargs)
            return self._executor.submit(contextvars.copy_context().run, bound)
        version = self._version()  # no model yet: ModelUnavailable (503), nothing submitted
        try:
            return self._executor.submit(_in_worker, version, fn, args, kwargs)
        except BrokenProcessPool:
            self._replace_broken()
            raise _worker_stopped() from None

    def _replace_broken(self) -> None:
        """A worker process died (killed, out of memory): the executor refuses all work from then
        on, so it is replaced; the work in it at the time fails with 503."""
        with self._lock:
            broken = self._executor
            if not getattr(broken, "_broken", False):
                return  # already replaced (by another request that saw it broken)
            log.error("a planning worker process stopped; starting new ones")
            self._executor = self._new_executor()
        broken.shutdown(wait=False, cancel_futures=True)

    def warm(self, timeout: float) -> bool:
        """Worker processes: start every one and load the model being served in it, waiting at most
        `timeout` seconds (so the first teacher does not wait for it). Returns whether all did."""
        if self._version is None:
            return True
        version = self._version()
        futures = [self._executor.submit(_warm, version) for _ in range(self.workers)]
        done, _ = wait(futures, timeout)  # all of them within `timeout`, not each
        failed = [f for f in done if f.exception() is not None]
        for f in failed:
            log.warning("a planning worker did not start: %s", type(f.exception()).__name__)
        return len(done) == len(futures) and not failed

    async def run(self, account: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **tools, **kwargs)` on one of the pool's workers, counted against `account`
        until it is done — even if the caller goes away first, the work is counted until it stops.
        Raises Busy, without waiting, past the account's or the pool's limit."""
        self._admit(account)
        started = time.monotonic()
        try:
            future: Future[T] = self._submit(fn, args, kwargs)
        except BaseException:  # not submitted (no model, the pool is shut down): nothing to wait for
            self._release(account, started, ran=False)
            raise
        future.add_done_callback(lambda done: self._release(account, started, not done.cancelled()))
        try:
            return await asyncio.wrap_future(future)  # cancelled while waiting: the work is dropped
        except BrokenProcessPool:
            self._replace_broken()
            raise _worker_stopped() from None

    def close(self) -> None:
        """Stop taking work; what is waiting is dropped, what is running finishes."""
        self._executor.shutdown(wait=False, cancel_futures=True)


log = logging.getLogger("jianfu.pool")


def _worker_stopped() -> ModelUnavailable:
    return ModelUnavailable("a planning worker stopped while working; try again", "排题进程意外停止，请重试")


def _with_tools(tools: Callable[[], dict[str, Any]], fn: Callable[..., T], args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> T:  # fmt: skip
    return fn(*args, **tools(), **kwargs)


# --- in a worker process ------------------------------------------------------------------------

_worker: Any = None  # service.worker.PlanningWorker, in a worker process


def _start_worker(settings: Settings, parent: int) -> None:
    """A worker process starts: lower priority, its own engine, book and model holder, and it stops
    when the serving process that started it is gone (killed: nothing else would tell it)."""
    global _worker
    from service.worker import PlanningWorker

    with contextlib.suppress(OSError):  # not allowed here: it runs at the same priority
        os.nice(10)
    _worker = PlanningWorker(settings)
    watch = threading.Thread(target=_watch_parent, args=(parent,), name="parent-watch", daemon=True)
    watch.start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _warm(version: str) -> str:
    _worker.tools(version)
    return version


def _in_worker(version: str, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    """The work, in a worker process. An exception that would not come back whole (one whose
    constructor does not take its own args fails to unpickle in the serving process, and that
    breaks the whole pool) comes back as a RuntimeError naming its kind, with the frames logged here."""
    try:
        return fn(*args, **_worker.tools(version), **kwargs)
    except Exception as exc:
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:
            log.error("planning failed in a worker: %s", safe_traceback(exc))
            raise RuntimeError(f"planning failed in a worker process: {type(exc).__name__}") from None
        raise
