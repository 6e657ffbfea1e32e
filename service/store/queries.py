"""Reads that many parts of the service share, each written once: where a student or a class
belongs (student → class → school → the school's policy file and time zone), the statuses a plan
can have, and which error-book entries are open on an evening.

An error-book entry is open on a night if it was made before that evening began and was not
resolved by then. The evening begins at 19:00 in the school's own time zone (`evening_at`): the
moment the planner plans for (the duration and recall models see the same instant), and the only
one that gives the same answer on SQLite and PostgreSQL and for every school's time zone — a UTC
midnight would call an error made at 07:00 in Beijing the next morning open on the night before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Select, bindparam, select

from service.store import tables as t
from service.store.reads import Read, Reader

EVENING_STARTS = time(19, 0)  # school time
DEFAULT_POLICY = "national"  # a school that names no policy file


class PlanStatus(StrEnum):
    """The statuses of a plan (the `plans.status` CHECK constraint names the same five)."""

    DRAFT = "draft"  # verified and reserved, held until it expires
    PUBLISHED = "published"  # handed out: its minutes stay reserved
    EXEMPTED = "exempted"  # handed out, then excused by a parent (T12)
    DONE = "done"
    DISCARDED = "discarded"  # withdrawn or expired: its minutes were released


# Plans that set their items for the student: they count for C4 (no repeats) and for what the
# student has tonight. Bound as plain strings (a driver may dump an enum by its name).
SETS_ITEMS: tuple[str, ...] = tuple(
    s.value for s in (PlanStatus.DRAFT, PlanStatus.PUBLISHED, PlanStatus.EXEMPTED, PlanStatus.DONE)
)
HANDED_OUT: tuple[str, ...] = (PlanStatus.PUBLISHED.value, PlanStatus.DONE.value)  # R3 notice, R4 burden


class ClassPlace(NamedTuple):
    class_id: str
    school_id: str
    grade: int
    policy_name: str  # the school's policy file (DEFAULT_POLICY if it names none)
    timezone: str


class StudentPlace(NamedTuple):
    student_id: str
    class_id: str
    school_id: str
    grade: int
    policy_name: str
    timezone: str
    display_name: str | None
    personal_cap_minutes: int | None


def _class_columns() -> Select[Any]:
    return select(
        t.classes.c.class_id,
        t.classes.c.school_id,
        t.classes.c.grade,
        t.schools.c.policy,
        t.schools.c.timezone,
    ).join(t.schools, t.schools.c.school_id == t.classes.c.school_id)


def _student_columns() -> Select[Any]:
    """The student → class → school join: every read of where a student belongs starts here."""
    return (
        select(
            t.students.c.student_id,
            t.classes.c.class_id,
            t.classes.c.school_id,
            t.classes.c.grade,
            t.schools.c.policy,
            t.schools.c.timezone,
            t.students.c.display_name,
            t.students.c.personal_cap_minutes,
        )
        .select_from(t.students)
        .join(t.classes, t.classes.c.class_id == t.students.c.class_id)
        .join(t.schools, t.schools.c.school_id == t.classes.c.school_id)
    )


def _class_place(row: Sequence[Any]) -> ClassPlace:
    class_id, school_id, grade, policy, timezone = row
    return ClassPlace(class_id, school_id, int(grade), policy or DEFAULT_POLICY, timezone)


def _student_place(row: Sequence[Any]) -> StudentPlace:
    sid, class_id, school_id, grade, policy, timezone, name, cap = row
    return StudentPlace(sid, class_id, school_id, int(grade), policy or DEFAULT_POLICY, timezone, name, cap)


# The same joins as plain SQL on the driver, for the routes every student's app calls (reads.py).
STUDENT_PLACE = Read(_student_columns().where(t.students.c.student_id == bindparam("student_id")))
CLASS_PLACE = Read(_class_columns().where(t.classes.c.class_id == bindparam("class_id")))


def read_student_place(read: Reader, student_id: str) -> StudentPlace | None:
    row = read.first(STUDENT_PLACE, student_id=student_id)
    return _student_place(row) if row is not None else None


def read_class_place(read: Reader, class_id: str) -> ClassPlace | None:
    row = read.first(CLASS_PLACE, class_id=class_id)
    return _class_place(row) if row is not None else None


def class_place(conn: Connection, class_id: str) -> ClassPlace | None:
    row = conn.execute(_class_columns().where(t.classes.c.class_id == class_id)).first()
    return _class_place(row) if row is not None else None


def student_places(conn: Connection, student_ids: Iterable[str]) -> dict[str, StudentPlace]:
    """Where each of these students belongs (absent: no such student)."""
    ids = sorted(set(student_ids))
    if not ids:
        return {}
    rows = conn.execute(_student_columns().where(t.students.c.student_id.in_(ids)))
    return {p.student_id: p for p in map(_student_place, rows)}


def class_members(conn: Connection, class_id: str) -> list[StudentPlace]:
    """The class's students, by pseudonymous id (an order that says nothing: R5)."""
    rows = conn.execute(
        _student_columns().where(t.students.c.class_id == class_id).order_by(t.students.c.student_id)
    )
    return [_student_place(r) for r in rows]


def evening_at(night: date, timezone: str) -> datetime:
    """When the night's homework evening begins: 19:00 school time."""
    return datetime.combine(night, EVENING_STARTS, ZoneInfo(timezone))


def is_open(created_at: datetime, resolved_at: datetime | None, at: datetime) -> bool:
    """An error-book entry is open at `at` if it was made by then and not resolved by then."""
    return created_at <= at and (resolved_at is None or resolved_at > at)


class OpenEntry(NamedTuple):
    student_id: str
    item_id: str
    created_at: datetime
    resolved_at: datetime | None


def open_entries(
    conn: Connection,
    evenings: Mapping[str, datetime],
    *,
    item_ids: Sequence[str] | None = None,
    subject: str | None = None,
) -> list[OpenEntry]:
    """The error-book entries open at each student's evening (`evenings`: student -> the moment),
    of these items or of this subject's items if given."""
    if not evenings:
        return []
    query = select(
        t.error_book.c.student_id,
        t.error_book.c.item_id,
        t.error_book.c.created_at,
        t.error_book.c.resolved_at,
    ).where(
        t.error_book.c.student_id.in_(sorted(evenings)),
        t.error_book.c.created_at <= max(evenings.values()),
    )
    if item_ids is not None:
        query = query.where(t.error_book.c.item_id.in_(sorted(set(item_ids))))
    if subject is not None:
        query = query.join(t.items, t.items.c.item_id == t.error_book.c.item_id).where(
            t.items.c.subject == subject
        )
    return [
        OpenEntry(*r)
        for r in conn.execute(query)
        if is_open(r.created_at, r.resolved_at, evenings[r.student_id])
    ]
