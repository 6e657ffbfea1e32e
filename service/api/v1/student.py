"""The student (and the parent): tonight's work across subjects, answers in batches, the error
book, and a parent's exemption for tonight (T12)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from sqlalchemy import select

from service.api.deps import PrincipalDep, ServicesDep, require, see_student
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
from service.policy.ledger import class_policy, is_exempt, record_exemption
from service.store import tables as t
from service.store.attempts import Answer, AnswerError, record_answers

router = APIRouter(tags=["student"])
TIER_ORDER = {"basic": 0, "extension": 1}


@router.get(
    "/students/{student_id}/tonight",
    response_model=Tonight,
    summary="Tonight's published work across subjects, in order, with minutes and reasons",
)
def tonight(
    student_id: str,
    who: PrincipalDep,
    svc: ServicesDep,
    night: IsoDate = Query(description="the evening (the school's local date)"),
    now: IsoTime | None = Query(
        None,
        description="the time now, with its UTC offset: only what fits before the policy's bedtime is listed",
    ),
) -> Tonight:
    facts = see_student(svc, who, student_id)
    with svc.engine.connect() as conn:
        rows = conn.execute(
            select(
                t.plans.c.plan_id,
                t.plans.c.subject,
                t.plans.c.status,
                t.plan_items.c.item_id,
                t.plan_items.c.tier,
                t.plan_items.c.position,
                t.plan_items.c.typical_minutes,
                t.plan_items.c.reason_zh,
                t.plan_items.c.reason_en,
                t.items.c.kind,
            )
            .join(t.plan_items, t.plan_items.c.plan_id == t.plans.c.plan_id)
            .join(t.items, t.items.c.item_id == t.plan_items.c.item_id)
            .where(
                t.plans.c.student_id == student_id,
                t.plans.c.night == night,
                t.plans.c.status.in_(("published", "done")),
            )
        ).all()
        done = set(
            conn.execute(
                select(t.attempts.c.item_id).where(
                    t.attempts.c.student_id == student_id, t.attempts.c.night == night
                )
            ).scalars()
        )
        cap = conn.execute(
            select(t.evening_ledger.c.cap_minutes).where(
                t.evening_ledger.c.student_id == student_id, t.evening_ledger.c.night == night
            )
        ).scalar()
    # Basic work of every subject first (it is mandatory), then the optional extensions.
    rows = sorted(rows, key=lambda r: (TIER_ORDER[r.tier], r.subject, r.position))
    items = [
        TonightItem(
            plan_id=r.plan_id,
            subject=r.subject,
            item_id=r.item_id,
            tier=r.tier,
            kind=r.kind,
            typical_minutes=round(r.typical_minutes, 1),
            reason_zh=r.reason_zh,
            reason_en=r.reason_en,
            done=r.item_id in done,
        )
        for r in rows
    ]
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
