"""On SQLite, a writer that finds the database's one write lock held waits and tries again instead of
answering 500 `database is locked` (issue 18, finding 2: an import on one process held the lock past
the busy timeout and students' answers on the other failed). The busy timeout is made short here so
the test is quick: the lock is held for 1.5 times it, so one wait alone would fail."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from models.bundle import Bundle
from service.store.db import make_engine
from tests.api.conftest import NIGHT, World, _world


@pytest.fixture
def short_wait_world(school: Engine, bundle: Bundle, tmp_path: Path) -> Iterator[World]:
    engine = make_engine(str(school.url), connect_args={"timeout": 0.5})
    try:
        yield from _world(engine, bundle, tmp_path)
    finally:
        engine.dispose()


def test_an_answer_waits_for_the_write_lock_instead_of_failing(short_wait_world: World) -> None:
    world = short_wait_world
    student = world.sign_in("s-1")
    with world.engine.connect() as conn:
        busy_seconds = conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() / 1000
    holder = sqlite3.connect(str(world.engine.url.database), check_same_thread=False, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer (an import on another process, say)
    release = threading.Timer(1.5 * busy_seconds, holder.execute, args=("COMMIT",))
    release.start()
    try:
        batch = {"attempts": [{"event_id": "locked-1", "item_id": "math-g5-01-001", "night": str(NIGHT),
                               "submitted_at": f"{NIGHT}T19:00:00+08:00", "correct": True, "seconds": 60}]}  # fmt: skip
        r = student.post(f"/v1/students/{world.student}/attempts", json=batch)
    finally:
        release.join()
        holder.close()
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 1
