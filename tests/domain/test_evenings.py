"""service.evenings without HTTP: tonight's work in order and within the cap, a parent's excuse
(T12), the weekly notice with class averages only (R3), burden against reported time (R4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from service import evenings, plans
from service.errors import Invalid
from service.runtime import Services
from service.store import tables as t
from tests.domain.conftest import CLASS, NIGHT, ref, students_of

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


def _plan_and_publish(svc: Services) -> None:
    plans.plan_class(db=svc.engine, model=svc.model(), book=svc.book, class_id=CLASS, subject="math",
                     night=NIGHT, focus_kps=[], teacher_id="t-math", now=NOW)  # fmt: skip
    published = plans.publish_class(db=svc.engine, class_id=CLASS, subject="math", night=NIGHT, now=NOW)
    assert len(published.published) == 45 and not published.not_published


def test_tonight_lists_the_published_set_basic_first_within_the_cap(svc: Services) -> None:
    student = ref(svc.engine, students_of(svc.engine)[0])
    assert evenings.tonight(db=svc.engine, book=svc.book, student=student, night=NIGHT).items == []
    _plan_and_publish(svc)
    tonight = evenings.tonight(db=svc.engine, book=svc.book, student=student, night=NIGHT)
    assert tonight.items and tonight.cap_minutes == 60
    tiers = [i.tier for i in tonight.items]
    assert tiers == sorted(tiers, key=lambda x: x != "basic")  # the mandatory part first
    assert 0 < tonight.planned_minutes <= 60 and all(i.reason_zh and i.reason_en for i in tonight.items)
    late = datetime(
        2026, 11, 10, 13, 10, tzinfo=UTC
    )  # 21:10 in the school's zone, ten minutes before bedtime
    short = evenings.tonight(db=svc.engine, book=svc.book, student=student, night=NIGHT, now=late)
    assert short.bedtime == "21:20" and short.left_out > 0
    assert [i.item_id for i in short.items] == [i.item_id for i in tonight.items][: len(short.items)]


def test_an_excused_evening_is_recorded_once_and_sets_nothing(svc: Services) -> None:
    sid = students_of(svc.engine)[0]
    first = evenings.excuse(db=svc.engine, student_id=sid, night=NIGHT, recorded_by="p-1", now=NOW)
    again = evenings.excuse(db=svc.engine, student_id=sid, night=NIGHT, recorded_by="p-1", now=NOW)
    assert (
        first.recorded
        and not again.recorded
        and evenings.is_excused(db=svc.engine, student_id=sid, night=NIGHT)
    )
    out = plans.plan_class(db=svc.engine, model=svc.model(), book=svc.book, class_id=CLASS, subject="math",
                           night=NIGHT, focus_kps=[], teacher_id="t-math", now=NOW)  # fmt: skip
    mine = next(s for s in out.students if s.student_id == sid)
    assert mine.status == "exempt" and not mine.items  # T12


def test_the_weekly_notice_holds_class_averages_and_names_no_one(svc: Services) -> None:
    _plan_and_publish(svc)
    notice = evenings.weekly_notice(
        db=svc.engine, book=svc.book, class_id=CLASS, week_of=NIGHT + timedelta(days=3)
    )
    assert notice.week_of.weekday() == 0 and notice.cap_minutes == 60
    tuesday = next(d for d in notice.days if d.night == NIGHT)
    assert 0 < tuesday.subjects["math"] <= 60 and tuesday.items > 0
    with svc.engine.connect() as conn:
        ids = set(conn.execute(select(t.students.c.student_id)).scalars())
    assert not any(sid in notice.model_dump_json() for sid in ids)  # R3


def test_burden_compares_estimates_with_reported_time_and_flags_an_evening_over_the_cap(
    svc: Services,
) -> None:
    _plan_and_publish(svc)
    sid = students_of(svc.engine)[0]
    evenings.report_evening(
        db=svc.engine, student_id=sid, night=NIGHT, minutes=75, reported_by="p-1", now=NOW
    )
    burden = evenings.burden(db=svc.engine, book=svc.book, class_id=CLASS, start=NIGHT, end=NIGHT)
    day = burden.days[0]
    assert (
        burden.flagged and day.over_cap_students == [sid] and day.reports == 1 and day.estimated_minutes > 0
    )
    evenings.report_evening(
        db=svc.engine, student_id=sid, night=NIGHT, minutes=50, reported_by="p-1", now=NOW
    )
    again = evenings.burden(db=svc.engine, book=svc.book, class_id=CLASS, start=NIGHT, end=NIGHT)
    assert not again.flagged and again.days[0].reports == 1  # a new report replaces the old one
    with pytest.raises(Invalid):
        evenings.burden(
            db=svc.engine, book=svc.book, class_id=CLASS, start=NIGHT, end=NIGHT + timedelta(days=400)
        )


def test_the_head_teacher_s_evening_and_the_notice_show_the_sets_minutes_and_no_excused_evening(
    svc: Services,
) -> None:
    """The class's evening and the weekly notice count the same minutes as the plan's answer and the
    student's tonight (service.policy.minutes); an excused evening counts none and no subject; the
    evening says which subjects have homework tonight, handed out or still drafts."""
    out = plans.plan_class(db=svc.engine, model=svc.model(), book=svc.book, class_id=CLASS, subject="math",
                           night=NIGHT, focus_kps=[], teacher_id="t-math", now=NOW)  # fmt: skip
    sets = [s for s in out.students if s.plan_id]
    assert len(sets) == 45
    for s in sets[:40]:
        assert s.plan_id is not None
        plans.publish_plan(db=svc.engine, plan_id=s.plan_id, now=NOW)
    excused = sets[0].student_id  # a published set, then the parent's excuse
    evenings.excuse(db=svc.engine, student_id=excused, night=NIGHT, recorded_by="p-1", now=NOW, note="发烧")
    evening = evenings.class_evening(db=svc.engine, book=svc.book, class_id=CLASS, night=NIGHT)
    assert evening.excused == 1
    assert [h.model_dump() for h in evening.homework] == [{"subject": "math", "handed_out": 39, "drafts": 5}]
    rows = {s.student_id: s for s in evening.students}
    mine = rows[excused]
    assert mine.exempt and (mine.typical_minutes, mine.bound_minutes, mine.subjects) == (0.0, 0.0, [])
    assert not mine.planned_minutes and not mine.reserved_minutes
    for k, s in enumerate(sets[1:], start=1):
        row = rows[s.student_id]
        assert (row.typical_minutes, row.bound_minutes) == (s.typical_minutes, s.conservative_minutes)
        assert (row.planned_minutes, row.reserved_minutes) == ({"math": s.typical_minutes},
                                                               {"math": s.conservative_minutes})  # fmt: skip
        assert row.subjects == (["math"] if k < 40 else [])  # a draft is not homework handed out
        if k < 40:  # the student's own page says the same
            tonight = evenings.tonight(db=svc.engine, book=svc.book, student=ref(svc.engine, s.student_id),
                                       night=NIGHT)  # fmt: skip
            assert (tonight.planned_minutes, tonight.bound_minutes) == (
                row.typical_minutes,
                row.bound_minutes,
            )
    notice = evenings.weekly_notice(db=svc.engine, book=svc.book, class_id=CLASS, week_of=NIGHT)
    tuesday = next(d for d in notice.days if d.night == NIGHT)
    handed_out = sum(s.typical_minutes for s in sets[1:40])  # published, not excused
    assert tuesday.subjects == {"math": round(handed_out / 45, 1)}
    assert tuesday.total_minutes == round(handed_out / 45, 1)
