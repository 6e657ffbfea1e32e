"""Answers coming back from students (app or paper), in batches: stored once each, however often a
batch is re-sent (idempotent by event_id), and fed back (C8): a wrong answer from grade 3 up opens an
error-book entry for the item (R1) unless one is open; a right answer closes the open one.

One batch is one transaction: it is stored whole or not at all, so an acknowledged batch is durable
and an unacknowledged one can simply be sent again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from service.store import tables as t
from service.store.db import writing

MAX_SECONDS = 21_600


@dataclass(frozen=True)
class Answer:
    event_id: str
    item_id: str
    night: date
    submitted_at: datetime  # aware
    correct: bool
    seconds: int | None = None
    score: float | None = None
    source: str = "app"
    error_type: str = "other"
    answer_source: str | None = None  # graded / self_report / teacher (tables.answer_marks); None: not said
    typed: str | None = None  # the typed answer, normalised, when it was graded


class AnswerError(ValueError):
    """A batch that cannot be stored; `problems` name the answer (index) and the field."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{p['pointer']}: {p['detail']}" for p in problems))
        self.problems = problems


def record_answers(engine: Engine, student_id: str, answers: Sequence[Answer]) -> dict[str, Any]:
    """Store a student's batch of answers; what was new, what was already there, what changed in the
    error book. The same batch sent twice at the same moment: one stores it, the other finds it."""
    try:
        return _record(engine, student_id, answers)
    except IntegrityError:  # lost the race to an identical batch: now it is there
        return _record(engine, student_id, answers)


def _record(engine: Engine, student_id: str, answers: Sequence[Answer]) -> dict[str, Any]:
    with writing(engine) as conn:
        return store_answers(conn, student_id, answers)


def store_answers(conn: Any, student_id: str, answers: Sequence[Answer]) -> dict[str, Any]:
    """`record_answers` inside the caller's write transaction (begun by service.store.db.writing), for
    a caller that changes more in the same transaction (a scan's correction replacing an attempt)."""
    problems = []
    seen: set[str] = set()
    for k, a in enumerate(answers):
        if a.event_id in seen:
            problems.append(
                {"pointer": f"/attempts/{k}/event_id", "detail": f"{a.event_id} twice in one batch"}
            )
        seen.add(a.event_id)
        if a.submitted_at.tzinfo is None:
            problems.append({"pointer": f"/attempts/{k}/submitted_at", "detail": "needs a UTC offset"})
        if a.seconds is not None and not 1 <= a.seconds <= MAX_SECONDS:
            problems.append({"pointer": f"/attempts/{k}/seconds", "detail": f"between 1 and {MAX_SECONDS}"})
    grade = conn.execute(
        select(t.classes.c.grade)
        .join(t.students, t.students.c.class_id == t.classes.c.class_id)
        .where(t.students.c.student_id == student_id)
    ).scalar()
    if grade is None:
        raise AnswerError([{"pointer": "", "detail": f"no student {student_id}"}])
    ids = sorted({a.item_id for a in answers})
    known = set(conn.execute(select(t.items.c.item_id).where(t.items.c.item_id.in_(ids))).scalars())
    for k, a in enumerate(answers):
        if a.item_id not in known:
            problems.append(
                {"pointer": f"/attempts/{k}/item_id", "detail": f"no item {a.item_id} in the bank"}
            )
    existing = {
        r.event_id: r
        for r in conn.execute(
            select(t.attempts.c.event_id, t.attempts.c.student_id, t.attempts.c.item_id).where(
                t.attempts.c.event_id.in_(sorted(seen))
            )
        )
    }
    for k, a in enumerate(answers):
        old = existing.get(a.event_id)
        if old is not None and (old.student_id != student_id or old.item_id != a.item_id):
            problems.append(
                {"pointer": f"/attempts/{k}/event_id", "detail": f"{a.event_id} is another answer's id"}
            )
    if problems:
        raise AnswerError(problems)  # nothing written: the transaction is rolled back
    new = sorted(
        (a for a in answers if a.event_id not in existing), key=lambda a: (a.submitted_at, a.event_id)
    )
    if new:
        conn.execute(
            insert(t.attempts),
            [
                {
                    "event_id": a.event_id,
                    "student_id": student_id,
                    "item_id": a.item_id,
                    "night": a.night,
                    "submitted_at": a.submitted_at,
                    "submitted_offset_min": _offset(a.submitted_at),
                    "correct": a.correct,
                    "seconds": a.seconds,
                    "score": a.score,
                    "source": a.source,
                }
                for a in new
            ],
        )
        marks = [a for a in new if a.answer_source is not None]
        if marks:
            conn.execute(
                insert(t.answer_marks),
                [{"event_id": a.event_id, "student_id": student_id, "answer_source": a.answer_source,
                  "typed": a.typed} for a in marks],
            )  # fmt: skip
    opened, closed = _error_book(conn, student_id, grade, new)
    return {
        "stored": len(new),
        "already_stored": len(answers) - len(new),
        "error_book_opened": opened,
        "error_book_resolved": closed,
    }


def withdraw_answer(conn: Any, event_id: str) -> bool:
    """Remove a stored answer that turned out to be misread (a scan's correction), inside the caller's
    write transaction, and undo what it did to the error book (see `_error_book`): a wrong answer's
    entry goes unless a later wrong answer on the item, before the entry was resolved, would have
    opened it (then it is that answer's); an entry a right answer resolved is open again unless a
    later right answer would have resolved it (then it is resolved then). False: no such answer."""
    a, book = t.attempts, t.error_book
    old = conn.execute(select(a).where(a.c.event_id == event_id)).first()
    if old is None:
        return False
    conn.execute(delete(t.answer_marks).where(t.answer_marks.c.event_id == event_id))
    conn.execute(delete(a).where(a.c.event_id == event_id))
    same = (a.c.student_id == old.student_id, a.c.item_id == old.item_id, a.c.correct.is_(bool(old.correct)))
    if not old.correct:
        entry = conn.execute(
            select(book).where(book.c.student_id == old.student_id, book.c.event_id == event_id)
        ).first()
        if entry is None:
            return True
        later = select(a).where(*same, a.c.submitted_at >= entry.created_at)
        if entry.resolved_at is not None:
            later = later.where(a.c.submitted_at <= entry.resolved_at)
        cause = conn.execute(later.order_by(a.c.submitted_at, a.c.event_id).limit(1)).first()
        if cause is None:
            conn.execute(delete(book).where(book.c.entry_id == entry.entry_id))
        else:
            conn.execute(update(book).where(book.c.entry_id == entry.entry_id).values(
                event_id=cause.event_id, created_at=cause.submitted_at,
                created_offset_min=cause.submitted_offset_min))  # fmt: skip
        return True
    entry = conn.execute(
        select(book).where(
            book.c.student_id == old.student_id,
            book.c.item_id == old.item_id,
            book.c.resolved_at == old.submitted_at,
        )
    ).first()
    still_open = conn.execute(
        select(book.c.entry_id).where(
            book.c.student_id == old.student_id, book.c.item_id == old.item_id, book.c.resolved_at.is_(None)
        )
    ).first()
    if entry is not None and still_open is None:  # (one open entry per item at most)
        closer = conn.execute(
            select(a).where(*same, a.c.submitted_at >= entry.created_at)
            .order_by(a.c.submitted_at, a.c.event_id).limit(1)
        ).first()  # fmt: skip
        conn.execute(update(book).where(book.c.entry_id == entry.entry_id).values(
            resolved_at=None if closer is None else closer.submitted_at,
            resolved_offset_min=None if closer is None else closer.submitted_offset_min))  # fmt: skip
    return True


def _error_book(conn: Any, student_id: str, grade: int, new: Sequence[Answer]) -> tuple[int, int]:
    if not new:
        return 0, 0
    open_entries = {
        r.item_id: r.entry_id
        for r in conn.execute(
            select(t.error_book.c.item_id, t.error_book.c.entry_id).where(
                t.error_book.c.student_id == student_id,
                t.error_book.c.resolved_at.is_(None),
                t.error_book.c.item_id.in_(sorted({a.item_id for a in new})),
            )
        )
    }
    opened = closed = 0
    for a in new:  # in time order
        entry = open_entries.get(a.item_id)
        if a.correct and entry is not None:
            conn.execute(
                update(t.error_book)
                .where(t.error_book.c.entry_id == entry)
                .values(resolved_at=a.submitted_at, resolved_offset_min=_offset(a.submitted_at))
            )
            del open_entries[a.item_id]
            closed += 1
        elif not a.correct and entry is None and grade >= 3:  # R1: an error book from grade 3
            entry = f"eb-{uuid.uuid4().hex[:16]}"
            conn.execute(
                insert(t.error_book).values(
                    entry_id=entry,
                    student_id=student_id,
                    item_id=a.item_id,
                    created_at=a.submitted_at,
                    created_offset_min=_offset(a.submitted_at),
                    error_type=a.error_type,
                    event_id=a.event_id,
                )
            )
            open_entries[a.item_id] = entry
            opened += 1
    return opened, closed


def _offset(at: datetime) -> int:
    offset = at.utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0
