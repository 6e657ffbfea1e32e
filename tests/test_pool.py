"""The planning pool on its own (service.pool): the work runs on the pool's threads, never more than
an account's share or the pool's capacity (threads + queue) is in flight, past either a request is
refused at once with when to try again, and a place is given back when the work is done — also
when the caller went away while it waited."""

from __future__ import annotations

import asyncio
import threading

import pytest

from service.errors import Busy
from service.pool import PlanningPool


def test_the_pool_admits_an_account_s_share_and_its_capacity_then_refuses_at_once() -> None:
    pool = PlanningPool(workers=1, per_account=2, queue=2)
    gate = threading.Event()
    threads: list[str] = []

    def work(value: int) -> int:
        threads.append(threading.current_thread().name)
        gate.wait(30)
        return value * 2

    async def scenario() -> None:
        first = [asyncio.create_task(pool.run("a", work, k)) for k in range(2)]  # one runs, one waits
        late = asyncio.create_task(pool.run("b", work, 7))  # the queue's second place
        await asyncio.sleep(0)
        assert pool.in_flight() == 3 and pool.in_flight("a") == 2
        with pytest.raises(Busy) as mine:  # the account's share is taken
            await pool.run("a", work, 3)
        assert mine.value.extra["retry_after"] >= 1 and "这个账号" in mine.value.zh
        with pytest.raises(Busy) as full:  # capacity 3 (1 thread + 2 waiting) is taken
            await pool.run("c", work, 4)
        assert full.value.extra["retry_after"] >= 1 and "too many" in full.value.en
        gate.set()
        assert await asyncio.gather(*first, late) == [0, 2, 14]
        assert pool.in_flight() == 0
        assert await pool.run("a", work, 5) == 10  # places given back

    try:
        asyncio.run(scenario())
    finally:
        gate.set()
        pool.close()
    assert threads and all(name.startswith("planning") for name in threads)


def test_a_request_whose_caller_went_away_while_it_waited_gives_its_place_back() -> None:
    pool = PlanningPool(workers=1, per_account=1, queue=1)
    gate = threading.Event()

    async def scenario() -> None:
        running = asyncio.create_task(pool.run("a", gate.wait, 30))
        waiting = asyncio.create_task(pool.run("b", gate.wait, 30))
        await asyncio.sleep(0.05)
        waiting.cancel()  # the client hung up before its work started: it is dropped
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.sleep(0)
        assert pool.in_flight("b") == 0 and pool.in_flight() == 1
        gate.set()
        assert await running is True
        assert pool.in_flight() == 0

    try:
        asyncio.run(scenario())
    finally:
        gate.set()
        pool.close()
