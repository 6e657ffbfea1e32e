"""A fair share of the machine (issue 18, finding 4): one teacher's plans, checks and mastery
requests must not stall everyone. The planning work is held on a gate (plans.check_set waits for
the test to open it) while requests arrive at once from many threads through one app — one event
loop and one shared threadpool, as a server has. Past an account's share or the pool's capacity a
request is refused with 429 and Retry-After while the gate is still closed; `/healthz`, a student's
tonight, an answer and a parent's sign-in answer while the planning is saturated.

(Before the pool, each of those requests took one of the 40 threads every sync route shares and
waited there for the planner: none answered until the gate opened.)"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from models.bundle import Bundle
from service import plans
from service.auth import create_user
from tests.api.conftest import NIGHT, PASSWORD, PROBLEM, Caller, World, _world

VALVE_SECONDS = 60  # the gate opens by itself at the latest then, so a failing test ends


@pytest.fixture
def world(school: Engine, bundle: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The usual school, served with a small planning pool: 2 threads, 2 waiting, 2 per account."""
    monkeypatch.setenv("JIANFU_PLANNING_WORKERS", "2")
    monkeypatch.setenv("JIANFU_PLANNING_QUEUE", "2")
    monkeypatch.setenv("JIANFU_PLANNING_PER_ACCOUNT", "2")
    yield from _world(school, bundle, tmp_path)


class Gate:
    """plans.check_set, held until the test opens the gate; counts the checks that reached it."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.entered = 0
        self._lock = threading.Lock()
        self._valve = threading.Timer(VALVE_SECONDS, self.opened.set)
        self._valve.start()

    def held(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def check_set(**kwargs: Any) -> Any:
            with self._lock:
                self.entered += 1
            self.opened.wait()
            return real(**kwargs)

        return check_set

    @property
    def closed(self) -> bool:
        return not self.opened.is_set()

    def until(self, condition: Callable[[], bool]) -> None:
        """Wait for the condition (while the gate is closed; a failing test ends when it opens)."""
        while not condition():
            assert self.closed, "the gate opened by itself before the requests got there"
            time.sleep(0.01)

    def open(self) -> None:
        self.opened.set()
        self._valve.cancel()


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    found = Gate()
    monkeypatch.setattr(plans, "check_set", found.held(plans.check_set))
    try:
        yield found
    finally:
        found.open()


def _check(world: World) -> dict[str, Any]:
    return {"student_id": world.student, "night": str(NIGHT), "subject": "math",
            "items": [{"item_id": "math-g5-01-001"}]}  # fmt: skip


def _refused_at_once(r: httpx.Response, gate: Gate) -> None:
    assert r.status_code == 429, (r.status_code, r.text[:300])
    assert gate.closed  # answered while the planning it waits behind was still held
    assert r.headers["content-type"] == PROBLEM and r.json()["detail_zh"]
    assert int(r.headers["retry-after"]) >= 1


def test_planning_past_an_account_s_or_the_pool_s_share_is_refused_at_once(world: World, gate: Gate) -> None:
    create_user(world.engine, "t-math-2", PASSWORD, "teacher", scopes=[("class", "east-5-1", "math")])
    mine, head, colleague = world.sign_in("t-math"), world.sign_in("h-1"), world.sign_in("t-math-2")
    planned = mine.post("/v1/classes/east-5-1/plans", json={"subject": "math", "night": str(NIGHT)})
    assert planned.status_code == 200, planned.text[:300]  # drafts: the planning page shows mastery levels
    body = _check(world)
    with ThreadPoolExecutor(8) as threads:
        running = [threads.submit(mine.post, "/v1/checks", json=body) for _ in range(2)]
        gate.until(lambda: gate.entered == 2)  # the pool's two threads: this account's share
        _refused_at_once(mine.post("/v1/checks", json=body), gate)  # (a) the same account, a third
        mastery = mine.get("/v1/classes/east-5-1/mastery", params={"subject": "math"})
        _refused_at_once(mastery, gate)
        assert "account" in mastery.json()["detail"]
        session = {"Cookie": "jianfu_session=" + mine.headers["Authorization"].removeprefix("Bearer ")}
        page = world.client.get(  # the preview reads the levels stored at planning: no model, no pool
            "/teacher",
            params={"class_id": "east-5-1", "subject": "math", "night": str(NIGHT)},
            headers=session,
        )
        assert page.status_code == 200 and gate.closed  # answered while the account's share is full

        # (b) two more accounts: two requests wait in the queue (2 places), the third finds it full
        others = [threads.submit(c.post, "/v1/checks", json=body) for c in (head, head, colleague)]
        first = next(as_completed(others)).result()
        _refused_at_once(first, gate)
        assert "too many" in first.json()["detail"]
        gate.open()
        assert sorted(f.result().status_code for f in others) == [200, 200, 429]
        assert [f.result().status_code for f in running] == [200, 200]
    assert gate.entered == 4


def test_cheap_routes_answer_while_one_teacher_saturates_planning(
    world: World, gate: Gate, anonymous: Caller, student: Caller
) -> None:
    """The finding's load: forty checks at once from one teacher. Two run (the account's share), the
    rest are refused at once; health, tonight, an answer and a sign-in are answered meanwhile."""
    teacher = world.sign_in("t-math")
    body = _check(world)
    with ThreadPoolExecutor(40) as threads:
        flood = [threads.submit(teacher.post, "/v1/checks", json=body) for _ in range(40)]
        # every request of the flood has either reached the planner or been answered
        gate.until(lambda: gate.entered + sum(f.done() for f in flood) >= 40)
        assert anonymous.get("/healthz").status_code == 200 and gate.closed
        tonight = student.get(f"/v1/students/{world.student}/tonight", params={"night": str(NIGHT)})
        assert tonight.status_code == 200 and gate.closed
        answer = {"attempts": [{"event_id": "fair-1", "item_id": "math-g5-01-001", "night": str(NIGHT),
                                "submitted_at": "2026-11-10T19:30:00+08:00", "correct": True}]}  # fmt: skip
        stored = student.post(f"/v1/students/{world.student}/attempts", json=answer)
        assert stored.status_code == 200 and stored.json()["stored"] == 1 and gate.closed
        signed = anonymous.post("/v1/token", data={"username": "p-1", "password": PASSWORD})
        assert signed.status_code == 200 and gate.closed
        refused = [f.result() for f in flood if f.done()]
        assert len(refused) == 38
        for r in refused:
            _refused_at_once(r, gate)
        gate.open()
        assert Counter(f.result().status_code for f in flood) == {200: 2, 429: 38}
