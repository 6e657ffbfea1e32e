"""How often one class plan reads and writes the database: the 45 students of east-5-1 (maths) are
planned, verified and booked in at most STATEMENT_BOUND SQL statements, on SQLite and PostgreSQL,
with the head teacher's split of the evening and with the school's default split.

Counted with a `before_cursor_execute` listener around `plan_class` alone (no HTTP, a cold state
cache, so the item facts and every answer are read too). An executemany counts once: it is one
statement sent with many rows of parameters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from models.bundle import Bundle
from service.planner.plan import plan_class
from service.policy.evenings import set_allocation
from service.policy.policy import PolicyBook
from service.store import tables as t
from tests.conftest import SAMPLES, school_of_own

BOOK = PolicyBook(SAMPLES / "policies")
NIGHT = date(2026, 11, 3)  # a Tuesday
NOW = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
CLASS = "east-5-1"
STATEMENT_BOUND = 60


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def school(request: pytest.FixtureRequest, samples_sqlite: str, tmp_path: Path) -> Iterator[Engine]:
    engine = school_of_own(request, request.param, samples_sqlite, tmp_path)
    yield engine
    engine.dispose()


def _focus(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(t.teaching_progress.c.kp_id)
                .where(
                    t.teaching_progress.c.class_id == CLASS,
                    t.teaching_progress.c.subject == "math",
                    t.teaching_progress.c.taught_on <= NIGHT,
                )
                .order_by(t.teaching_progress.c.taught_on.desc(), t.teaching_progress.c.kp_id)
                .limit(2)
            ).scalars()
        )


@pytest.mark.parametrize("split", ["head teacher's", "school default"])
def test_class_plan_statements_stay_within_the_bound(school: Engine, bundle: Bundle, split: str) -> None:
    if split == "head teacher's":
        set_allocation(school, BOOK, CLASS, NIGHT.weekday(), {"math": 1, "chinese": 1})
    focus = _focus(school)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split())[:60])

    event.listen(school, "before_cursor_execute", count)
    try:
        cp = plan_class(school, bundle, BOOK, CLASS, "math", NIGHT, focus, "teacher-1", now=NOW)
    finally:
        event.remove(school, "before_cursor_execute", count)
    assert cp.summary["students"] == 45 and cp.summary["planned"] == 45
    print(f"{school.dialect.name}, {split} split: {len(statements)} statements for a class of 45")
    common = "\n".join(f"{n:4d} {s}" for s, n in Counter(statements).most_common(8))
    assert len(statements) <= STATEMENT_BOUND, f"{len(statements)} statements; the most frequent:\n{common}"
