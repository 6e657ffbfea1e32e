"""The head teacher and the school: how the class's evenings are split between subjects (班主任协调),
giving a subject's unused minutes to others tonight, each student's evening across subjects, the
weekly public notice of class totals (作业公示, R3: no individual data), and burden monitoring (R4:
estimated against reported time, evenings over the cap flagged)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from fastapi import APIRouter, Path, Query
from sqlalchemy import delete, func, insert, select

from service.api.deps import PrincipalDep, Services, ServicesDep, require, see_class, see_student
from service.api.problems import Problem
from service.api.v1.schemas import (
    AllocationIn,
    Allocations,
    Burden,
    BurdenDay,
    ClassEvening,
    EveningReportIn,
    IsoDate,
    Notice,
    NoticeDay,
    Released,
    ReleaseIn,
    StudentEvening,
)
from service.auth import Principal
from service.policy.budget import evening_cap
from service.policy.evenings import class_policy, evening_spec, release_unused, set_allocation
from service.policy.ledger import LedgerError
from service.store import tables as t
from service.store.queries import HANDED_OUT, SETS_ITEMS

router = APIRouter(tags=["head teacher and school"])
COORDINATORS = ("head_teacher", "school_admin")


def _rule_problem(exc: LedgerError) -> Problem:
    return Problem(
        422, exc.en, kind="rule" if exc.rule else "invalid-request", rule=exc.rule, detail_zh=exc.zh
    )


@router.get(
    "/classes/{class_id}/allocations", response_model=Allocations, summary="The class's split per weekday"
)
def allocations(class_id: str, who: PrincipalDep, svc: ServicesDep) -> Allocations:
    require(who, *COORDINATORS, "teacher")
    see_class(svc, who, class_id)
    weekdays: dict[int, dict[str, float]] = defaultdict(dict)
    with svc.engine.connect() as conn:
        for weekday, subject, weight in conn.execute(
            select(
                t.class_allocations.c.weekday, t.class_allocations.c.subject, t.class_allocations.c.weight
            ).where(t.class_allocations.c.class_id == class_id)
        ):
            weekdays[weekday][subject] = weight
    return Allocations(class_id=class_id, weekdays=dict(sorted(weekdays.items())))


@router.put(
    "/classes/{class_id}/allocations/{weekday}",
    response_model=Allocations,
    summary="Set how the class's evenings on a weekday are split between subjects (T5, T8)",
)
def put_allocation(
    class_id: str,
    body: AllocationIn,
    who: PrincipalDep,
    svc: ServicesDep,
    weekday: int = Path(ge=0, le=6, description="0 = Monday .. 6 = Sunday"),
) -> Allocations:
    require(who, *COORDINATORS)
    see_class(svc, who, class_id)
    try:
        set_allocation(svc.engine, svc.book, class_id, weekday, body.weights)
    except LedgerError as exc:
        raise _rule_problem(exc) from None
    return allocations(class_id, who, svc)


@router.post(
    "/classes/{class_id}/releases",
    response_model=Released,
    summary="Give a subject's unused minutes tonight to other subjects (this night only; the cap stays)",
)
def release(class_id: str, body: ReleaseIn, who: PrincipalDep, svc: ServicesDep) -> Released:
    require(who, *COORDINATORS)
    see_class(svc, who, class_id)
    try:
        moved = release_unused(
            svc.engine, svc.book, class_id, body.night, body.subject, body.to_subjects,
            released_by=who.user_id, now=datetime.now(UTC),
        )  # fmt: skip
    except LedgerError as exc:
        raise _rule_problem(exc) from None
    return Released(class_id=class_id, night=body.night, subject=body.subject, minutes_moved=round(moved, 1))


@router.get(
    "/classes/{class_id}/evenings/{night}",
    response_model=ClassEvening,
    summary="Each student's evening across subjects: cap, what each subject holds, exemption, reported time",
)
def class_evening(class_id: str, night: IsoDate, who: PrincipalDep, svc: ServicesDep) -> ClassEvening:
    require(who, *COORDINATORS)
    see_class(svc, who, class_id)
    return evening_of_class(svc, class_id, night)


def evening_of_class(svc: Services, class_id: str, night: date) -> ClassEvening:
    """Each student's evening across subjects (the caller has checked the account may see the class)."""
    with svc.engine.connect() as conn:
        students = conn.execute(
            select(t.students.c.student_id, t.students.c.display_name)
            .where(t.students.c.class_id == class_id)
            .order_by(t.students.c.student_id)  # by pseudonymous id: an order that says nothing (R5)
        ).all()
        ids = [s.student_id for s in students]
        caps = dict(
            conn.execute(
                select(t.evening_ledger.c.student_id, t.evening_ledger.c.cap_minutes).where(
                    t.evening_ledger.c.student_id.in_(ids), t.evening_ledger.c.night == night
                )
            ).all()
        )
        held: dict[str, dict[str, float]] = defaultdict(dict)
        for sid, subject, minutes in conn.execute(
            select(t.ledger_lines.c.student_id, t.ledger_lines.c.subject, func.sum(t.ledger_lines.c.minutes))
            .where(t.ledger_lines.c.student_id.in_(ids), t.ledger_lines.c.night == night)
            .group_by(t.ledger_lines.c.student_id, t.ledger_lines.c.subject)
        ):
            held[sid][subject] = round(float(minutes), 1)
        planned: dict[str, dict[str, float]] = defaultdict(dict)
        for sid, subject, minutes in conn.execute(
            select(t.plans.c.student_id, t.plans.c.subject, func.sum(t.plans.c.typical_minutes))
            .where(t.plans.c.student_id.in_(ids), t.plans.c.night == night, t.plans.c.status.in_(SETS_ITEMS))
            .group_by(t.plans.c.student_id, t.plans.c.subject)
        ):
            planned[sid][subject] = round(float(minutes), 1)
        exempt = set(
            conn.execute(
                select(t.exemptions.c.student_id).where(
                    t.exemptions.c.student_id.in_(ids), t.exemptions.c.night == night
                )
            ).scalars()
        )
        reported = _reported(conn, ids, night, night)
        specs = {sid: evening_spec(conn, svc.book, sid, night) for sid in ids if sid not in caps}
    return ClassEvening(
        class_id=class_id,
        night=night,
        students=[
            StudentEvening(
                student_id=s.student_id,
                display_name=s.display_name,
                cap_minutes=caps.get(s.student_id) or specs[s.student_id].cap_minutes,
                reserved_minutes=held.get(s.student_id, {}),
                planned_minutes=planned.get(s.student_id, {}),
                exempt=s.student_id in exempt,
                reported_minutes=reported.get((s.student_id, night)),
            )
            for s in students
        ],
    )


def _reported(conn, ids: list[str], start: date, end: date) -> dict[tuple[str, date], float]:  # type: ignore[no-untyped-def]
    """Real minutes of each evening: the student's or parent's report, else the time the answers
    recorded for that night."""
    found: dict[tuple[str, date], float] = {}
    for sid, night, seconds in conn.execute(
        select(t.attempts.c.student_id, t.attempts.c.night, func.sum(t.attempts.c.seconds))
        .where(t.attempts.c.student_id.in_(ids), t.attempts.c.night >= start, t.attempts.c.night <= end,
               t.attempts.c.seconds.is_not(None))
        .group_by(t.attempts.c.student_id, t.attempts.c.night)
    ):  # fmt: skip
        found[(sid, night)] = round(float(seconds) / 60.0, 1)
    for sid, night, minutes in conn.execute(
        select(t.evening_reports.c.student_id, t.evening_reports.c.night, t.evening_reports.c.minutes).where(
            t.evening_reports.c.student_id.in_(ids),
            t.evening_reports.c.night >= start,
            t.evening_reports.c.night <= end,
        )
    ):
        found[(sid, night)] = round(float(minutes), 1)  # a report says more than answers' times
    return found


def _may_see_notice(who: Principal, svc: ServicesDep, class_id: str) -> None:
    """The public notice is for the class's families and staff: no individual data in it."""
    if who.role in ("student", "parent"):
        with svc.engine.connect() as conn:
            mine = conn.execute(
                select(t.students.c.student_id).where(
                    t.students.c.class_id == class_id, t.students.c.student_id.in_(sorted(who.students))
                )
            ).first()
        if mine is None:
            raise Problem(404, f"no class {class_id} among those this account may see", kind="not-found")
        return
    require(who, *COORDINATORS, "teacher")
    see_class(svc, who, class_id)


@router.get(
    "/classes/{class_id}/notice",
    response_model=Notice,
    summary="The weekly public notice of class totals (作业公示): averages only, no individual data (R3)",
)
def notice(
    class_id: str,
    who: PrincipalDep,
    svc: ServicesDep,
    week_of: IsoDate = Query(description="any day of the week (Monday to Sunday)"),
) -> Notice:
    _may_see_notice(who, svc, class_id)
    monday = week_of - timedelta(days=week_of.weekday())
    with svc.engine.connect() as conn:
        grade, policy = class_policy(conn, svc.book, class_id)
        rows = conn.execute(
            select(t.plans.c.night, t.plans.c.subject, t.plans.c.student_id, t.plans.c.typical_minutes,
                   func.count(t.plan_items.c.item_id))
            .join(t.students, t.students.c.student_id == t.plans.c.student_id)
            .join(t.plan_items, t.plan_items.c.plan_id == t.plans.c.plan_id)
            .where(t.students.c.class_id == class_id, t.plans.c.status.in_(HANDED_OUT),
                   t.plans.c.night >= monday, t.plans.c.night <= monday + timedelta(days=6))
            .group_by(t.plans.c.plan_id, t.plans.c.night, t.plans.c.subject, t.plans.c.student_id,
                      t.plans.c.typical_minutes)
        ).all()  # fmt: skip
        size = conn.execute(select(func.count()).where(t.students.c.class_id == class_id)).scalar_one()
    days = []
    for k in range(7):
        night = monday + timedelta(days=k)
        today = [r for r in rows if r.night == night]
        by_subject: dict[str, float] = defaultdict(float)
        for r in today:
            by_subject[r.subject] += r.typical_minutes
        per = max(size, 1)
        days.append(
            NoticeDay(
                night=night,
                subjects={s: round(m / per, 1) for s, m in sorted(by_subject.items())},
                total_minutes=round(sum(by_subject.values()) / per, 1),
                items=round(sum(r[4] for r in today) / per, 1),
            )
        )
    return Notice(class_id=class_id, week_of=monday, days=days, cap_minutes=evening_cap(policy, grade, None))


@router.post(
    "/students/{student_id}/evening-reports",
    status_code=201,
    summary="Report the real time of an evening (R4): the student or a parent",
)
def report_evening(
    student_id: str, body: EveningReportIn, who: PrincipalDep, svc: ServicesDep
) -> dict[str, object]:
    require(who, "student", "parent")
    see_student(svc, who, student_id)
    with svc.engine.begin() as conn:
        conn.execute(
            delete(t.evening_reports).where(
                t.evening_reports.c.student_id == student_id, t.evening_reports.c.night == body.night
            )
        )
        conn.execute(
            insert(t.evening_reports).values(
                student_id=student_id,
                night=body.night,
                minutes=body.minutes,
                reported_by=who.user_id,
                reported_at=datetime.now(UTC),
            )
        )
    return {"student_id": student_id, "night": str(body.night), "minutes": body.minutes}


@router.get(
    "/classes/{class_id}/burden",
    response_model=Burden,
    summary="Burden monitoring (R4): estimated against reported minutes per day, evenings over the cap",
)
def burden(
    class_id: str,
    who: PrincipalDep,
    svc: ServicesDep,
    start: IsoDate = Query(alias="from"),
    end: IsoDate = Query(alias="to"),
) -> Burden:
    require(who, *COORDINATORS)
    see_class(svc, who, class_id)
    if end < start or (end - start).days > 92:
        raise Problem(422, "'to' must be on or after 'from', at most 92 days later", kind="invalid-request")
    with svc.engine.connect() as conn:
        grade, policy = class_policy(conn, svc.book, class_id)
        students = conn.execute(
            select(t.students.c.student_id, t.students.c.personal_cap_minutes).where(
                t.students.c.class_id == class_id
            )
        ).all()
        ids = [s.student_id for s in students]
        caps = {s.student_id: evening_cap(policy, grade, s.personal_cap_minutes) for s in students}
        planned: dict[tuple[str, date], float] = defaultdict(float)
        for sid, night, minutes in conn.execute(
            select(t.plans.c.student_id, t.plans.c.night, t.plans.c.typical_minutes).where(
                t.plans.c.student_id.in_(ids),
                t.plans.c.night >= start,
                t.plans.c.night <= end,
                t.plans.c.status.in_(HANDED_OUT),
            )
        ):
            planned[(sid, night)] += minutes
        reported = _reported(conn, ids, start, end)
    days = []
    night = start
    while night <= end:
        est = [m for (sid, n), m in planned.items() if n == night]
        real = {sid: m for (sid, n), m in reported.items() if n == night}
        over = sorted(sid for sid, m in real.items() if m > caps[sid] + 1e-9)
        days.append(
            BurdenDay(
                night=night,
                cap_minutes=evening_cap(policy, grade, None),
                estimated_minutes=round(statistics.fmean(est), 1) if est else 0.0,
                reported_minutes=round(statistics.fmean(real.values()), 1) if real else None,
                reports=len(real),
                over_cap=len(over),
                over_cap_students=over,
            )
        )
        night += timedelta(days=1)
    return Burden(class_id=class_id, days=days, flagged=any(d.over_cap for d in days))
