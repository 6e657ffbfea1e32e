"""The student (and the parent): tonight's work across subjects, answers in batches, the error
book, and a parent's exemption for tonight (T12)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from service.api.deps import PrincipalDep, Services, ServicesDep, require, see_student
from service.api.problems import Problem
from service.api.v1.schemas import (
    AttemptBatch,
    AttemptsStored,
    ErrorBookEntry,
    ExemptionIn,
    ExemptionOut,
    IsoDate,
    IsoTime,
    QueryFlag,
    Tonight,
    TonightItem,
)
from service.auth import Principal
from service.policy.evenings import class_policy, is_exempt, record_exemption
from service.store import tables as t
from service.store.attempts import Answer, AnswerError, record_answers
from service.store.reads import Read, reader

router = APIRouter(tags=["student"])
TIER_ORDER = {"basic": 0, "extension": 1}
# Read on every student's app every evening: plain SQL on the driver (service.store.reads).
TONIGHT = Read("""
    SELECT p.plan_id, p.subject, pi.item_id, pi.tier, pi.position, pi.typical_minutes,
           pi.reason_zh, pi.reason_en, i.kind,
           EXISTS (SELECT 1 FROM attempts a
                   WHERE a.student_id = p.student_id AND a.night = p.night AND a.item_id = pi.item_id)
    FROM plans p
    JOIN plan_items pi ON pi.plan_id = p.plan_id
    JOIN items i ON i.item_id = pi.item_id
    WHERE p.student_id = :student_id AND p.night = :night AND p.status IN ('published', 'done')
""")
CAP = Read("SELECT cap_minutes FROM evening_ledger WHERE student_id = :student_id AND night = :night")


@router.get(
    "/students/{student_id}/tonight",
    response_model=Tonight,
    summary="Tonight's published work across subjects, in order, with minutes and reasons",
)
async def tonight(
    student_id: str,
    who: PrincipalDep,
    svc: ServicesDep,
    night: IsoDate = Query(description="the evening (the school's local date)"),
    now: IsoTime | None = Query(
        None,
        description="the time now, with its UTC offset: only what fits before the policy's bedtime is listed",
    ),
) -> Tonight:
    # Async, with the database work in one worker thread: for a plain (sync) route FastAPI hands the
    # work to a thread and then the response's validation to another, and on the route every student's
    # app calls each evening those hand-offs cost more than the reads.
    return await run_in_threadpool(_tonight, svc, who, student_id, night, now)


def _tonight(svc: Services, who: Principal, student_id: str, night: date, now: datetime | None) -> Tonight:
    with reader(svc.engine) as read:
        facts = see_student(svc, who, student_id, read=read)
        rows = read.all(TONIGHT, student_id=student_id, night=night)
        found = read.first(CAP, student_id=student_id, night=night)
    # Basic work of every subject first (it is mandatory), then the optional extensions.
    rows.sort(key=lambda r: (TIER_ORDER[r[3]], r[1], r[4]))
    items = [
        TonightItem(
            plan_id=plan_id,
            subject=subject,
            item_id=item_id,
            tier=tier,
            kind=kind,
            typical_minutes=round(minutes, 1),
            reason_zh=reason_zh,
            reason_en=reason_en,
            done=bool(done),
        )
        for plan_id, subject, item_id, tier, _, minutes, reason_zh, reason_en, kind, done in rows
    ]
    cap = found[0] if found is not None else None
    planned = round(sum(i.typical_minutes for i in items), 1)
    bedtime, left_out = None, 0
    if now is not None:
        with svc.engine.connect() as conn:
            _, policy = class_policy(conn, svc.book, facts.class_id)
            zone = conn.execute(
                select(t.schools.c.timezone).where(t.schools.c.school_id == facts.school_id)
            ).scalar_one()
        bedtime = policy.bedtime(facts.grade)
        if bedtime is not None:
            hours, minutes = map(int, bedtime.split(":"))
            end = datetime.combine(night, time(hours, minutes), tzinfo=ZoneInfo(zone))
            room = max(0.0, (end - now).total_seconds() / 60.0)
            kept, used = [], 0.0
            for item in items:  # in order: what fits before bedtime, the rest left for the teacher to see
                if item.done or used + item.typical_minutes <= room + 1e-9:
                    kept.append(item)
                    used += 0.0 if item.done else item.typical_minutes
                else:
                    left_out += 1
            items = kept
    return Tonight(
        student_id=student_id,
        night=night,
        cap_minutes=cap,
        planned_minutes=planned,
        items=items,
        left_out=left_out,
        bedtime=bedtime,
    )


@router.post(
    "/students/{student_id}/attempts",
    response_model=AttemptsStored,
    summary="Answers in a batch: stored once each by event_id; wrong ones enter the error book",
)
def attempts(student_id: str, body: AttemptBatch, who: PrincipalDep, svc: ServicesDep) -> AttemptsStored:
    require(who, "student", "teacher")
    see_student(svc, who, student_id)
    answers = [
        Answer(a.event_id, a.item_id, a.night, a.submitted_at, a.correct, a.seconds, a.score, a.source)
        for a in body.attempts
    ]
    try:
        result = record_answers(svc.engine, student_id, answers)
    except AnswerError as exc:
        first = exc.problems[0]
        raise Problem(422, f"{first['pointer']}: {first['detail']}", kind="invalid-request",
                      errors=[{"in": "body", **p} for p in exc.problems]) from None  # fmt: skip
    return AttemptsStored(**result)


@router.get(
    "/students/{student_id}/error-book",
    response_model=list[ErrorBookEntry],
    summary="The error book (错题本): open entries first, then the recently resolved",
)
def error_book(
    student_id: str,
    who: PrincipalDep,
    svc: ServicesDep,
    include_resolved: QueryFlag = Query(False, description="also entries already mastered"),
) -> list[ErrorBookEntry]:
    see_student(svc, who, student_id)
    query = (
        select(t.error_book, t.items.c.subject)
        .join(t.items, t.items.c.item_id == t.error_book.c.item_id)
        .where(t.error_book.c.student_id == student_id)
    )
    if not include_resolved:
        query = query.where(t.error_book.c.resolved_at.is_(None))
    with svc.engine.connect() as conn:
        rows = conn.execute(query).all()
        kps: dict[str, list[str]] = {}
        for item_id, kp in conn.execute(
            select(t.item_kps.c.item_id, t.item_kps.c.kp_id)
            .where(t.item_kps.c.item_id.in_(sorted({r.item_id for r in rows})))
            .order_by(t.item_kps.c.item_id, t.item_kps.c.position)
        ):
            kps.setdefault(item_id, []).append(kp)
    rows = sorted(rows, key=lambda r: (r.resolved_at is not None, r.created_at, r.entry_id))
    return [
        ErrorBookEntry(
            entry_id=r.entry_id,
            item_id=r.item_id,
            subject=r.subject,
            kps=kps.get(r.item_id, []),
            created_at=r.created_at,
            resolved_at=r.resolved_at,
            error_type=r.error_type,
        )
        for r in rows
    ]


@router.post(
    "/students/{student_id}/exemptions",
    response_model=ExemptionOut,
    status_code=201,
    summary="A parent excuses tonight's written work (家长签字免写); nothing moves to another night (T12)",
)
def exemption(student_id: str, body: ExemptionIn, who: PrincipalDep, svc: ServicesDep) -> ExemptionOut:
    require(who, "parent")
    see_student(svc, who, student_id)
    with svc.engine.connect() as conn:
        already = is_exempt(conn, student_id, body.night)
    if not already:
        record_exemption(svc.engine, student_id, body.night, recorded_by=who.user_id, now=datetime.now(UTC),
                         note=body.note)  # fmt: skip
    return ExemptionOut(student_id=student_id, night=body.night, recorded=not already)
