"""The student's evening in service.evenings without HTTP (issue 17): 作业熔断 — an evening stops only
when its time is up (the cap reached by real minutes, or bedtime in the school's zone), what is left
is recorded as not done because time ran out (censored, never a wrong answer nor an error-book
entry), once; a parent's excuse is undone on its own evening only, and then counts again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from service import evenings, plans, records
from service.errors import Conflict
from service.runtime import Services
from service.schemas import AttemptIn
from service.store import tables as t
from service.store.erasure import erase_student
from tests.domain.conftest import CLASS, NIGHT, ref, students_of

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)  # 17:00 at the school (Asia/Shanghai)
BEDTIME_PASSED = datetime(2026, 11, 10, 13, 30, tzinfo=UTC)  # 21:30 there; bedtime 21:20


def _plan_and_publish(svc: Services) -> None:
    plans.plan_class(db=svc.engine, model=svc.model(), book=svc.book, class_id=CLASS, subject="math",
                     night=NIGHT, focus_kps=[], teacher_id="t-math", now=NOW)  # fmt: skip
    published = plans.publish_class(db=svc.engine, class_id=CLASS, subject="math", night=NIGHT, now=NOW)
    assert published.published


def _counts(svc: Services, sid: str) -> tuple[int, int, int]:
    with svc.engine.connect() as conn:
        return (
            conn.execute(select(func.count()).where(t.attempts.c.student_id == sid)).scalar_one(),
            conn.execute(select(func.count()).where(t.error_book.c.student_id == sid)).scalar_one(),
            conn.execute(select(func.count()).where(t.time_outs.c.student_id == sid)).scalar_one(),
        )


def test_an_evening_stops_only_when_its_time_is_up_and_what_is_left_is_censored(svc: Services) -> None:
    _plan_and_publish(svc)
    first, second = students_of(svc.engine)[:2]
    student = ref(svc.engine, first)
    kw = {"db": svc.engine, "book": svc.book, "student": student, "night": NIGHT}
    assert evenings.time_up(**kw, now=NOW) is None
    with pytest.raises(Conflict) as refused:
        evenings.stop_evening(**kw, now=NOW, stopped_by="p-1")
    assert "not up yet" in refused.value.en and "还没有用完" in refused.value.zh
    assert _counts(svc, first)[2] == 0  # nothing recorded

    before = _counts(svc, first)
    evenings.report_evening(
        db=svc.engine, student_id=first, night=NIGHT, minutes=60, reported_by="p-1", now=NOW
    )
    assert evenings.time_up(**kw, now=NOW) == "cap"  # the cap (60) reached by real minutes
    stop = evenings.stop_evening(**kw, now=NOW, stopped_by="p-1")
    tonight = evenings.tonight(**kw)
    assert stop.recorded and stop.reason == "cap" and stop.minutes_spent == 60
    assert sorted(stop.items_left) == sorted(i.item_id for i in tonight.items) and stop.items_left
    assert tonight.stopped == "cap" and all(i.timed_out and not i.done for i in tonight.items)
    attempts, book, outs = _counts(svc, first)
    assert (attempts, book) == before[:2] and outs == len(stop.items_left)  # never held against them
    with svc.engine.connect() as conn:
        assert set(
            conn.execute(select(t.time_outs.c.censored).where(t.time_outs.c.student_id == first)).scalars()
        ) == {True}
    again = evenings.stop_evening(**kw, now=BEDTIME_PASSED, stopped_by="s-1")
    assert not again.recorded and again.reason == "cap" and _counts(svc, first)[2] == outs  # once

    other = {**kw, "student": ref(svc.engine, second)}
    assert evenings.time_up(**other, now=BEDTIME_PASSED) == "bedtime"
    assert evenings.stop_evening(**other, now=BEDTIME_PASSED, stopped_by="s-2").reason == "bedtime"


def test_an_excused_evening_cannot_be_stopped_and_an_excuse_is_undone_on_its_evening_only(
    svc: Services,
) -> None:
    _plan_and_publish(svc)
    sid = students_of(svc.engine)[0]
    student = ref(svc.engine, sid)
    evenings.excuse(db=svc.engine, student_id=sid, night=NIGHT, recorded_by="p-1", now=NOW, note="发烧")
    with pytest.raises(Conflict):
        evenings.stop_evening(db=svc.engine, book=svc.book, student=student, night=NIGHT, now=BEDTIME_PASSED,
                              stopped_by="p-1")  # fmt: skip
    evening = evenings.class_evening(db=svc.engine, book=svc.book, class_id=CLASS, night=NIGHT)
    mine = next(s for s in evening.students if s.student_id == sid)
    assert mine.exempt and not mine.planned_minutes and not mine.reserved_minutes  # counts no minutes
    with pytest.raises(Conflict):  # the next day: the excused evening stays as recorded (T12)
        evenings.undo_excuse(db=svc.engine, student=student, night=NIGHT, now=NOW + timedelta(days=1))
    undone = evenings.undo_excuse(db=svc.engine, student=student, night=NIGHT, now=NOW)
    assert undone.recorded and not undone.excused
    assert not evenings.tonight(db=svc.engine, book=svc.book, student=student, night=NIGHT).excused
    evening = evenings.class_evening(db=svc.engine, book=svc.book, class_id=CLASS, night=NIGHT)
    assert sum(next(s for s in evening.students if s.student_id == sid).planned_minutes.values()) > 0


def test_a_guardian_s_deletion_removes_the_evening_s_marks_stops_and_time_outs(svc: Services) -> None:
    _plan_and_publish(svc)
    sid = students_of(svc.engine)[0]
    student = ref(svc.engine, sid)
    tonight = evenings.tonight(db=svc.engine, book=svc.book, student=student, night=NIGHT)
    answer = AttemptIn(event_id="gone-1", item_id=tonight.items[0].item_id, night=NIGHT, submitted_at=NOW,
                       correct=True, seconds=60)  # fmt: skip
    records.record(db=svc.engine, student_id=sid, answers=[answer])
    evenings.stop_evening(db=svc.engine, book=svc.book, student=student, night=NIGHT, now=BEDTIME_PASSED,
                          stopped_by="p-1")  # fmt: skip
    removed = erase_student(svc.engine, sid, key="e" * 40, requested_by="data", now=NOW)["removed"]
    assert removed["answer_marks"] == 1 and removed["evening_stops"] == 1 and removed["time_outs"] >= 1
    with svc.engine.connect() as conn:
        for table in (t.answer_marks, t.evening_stops, t.time_outs):
            assert conn.execute(select(func.count()).where(table.c.student_id == sid)).scalar_one() == 0
