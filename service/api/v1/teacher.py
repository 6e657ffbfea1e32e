"""The subject teacher: plan a class's homework (drafts, reserved), publish or discard, check a set
written by hand against every rule, and the class's mastery levels (levels, never ranks: R5)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

from fastapi import APIRouter, Query
from sqlalchemy import delete, insert, select

from service.api.deps import PrincipalDep, ServicesDep, require, see_class, see_student
from service.api.problems import Problem
from service.api.v1.schemas import (
    CheckRequest,
    CheckResult,
    ClassMastery,
    ClassPlanOut,
    EditedPlan,
    EditRequest,
    IsoDate,
    PlanRequest,
    PlanStatus,
    ProgressIn,
    ProgressOut,
    PublishClass,
    Published,
    StudentLevels,
    Subject,
    ViolationOut,
)
from service.planner.context import load_class
from service.planner.plan import PlannerConfig, mastery_levels, plan_class, score_class
from service.planner.timing import model_timing
from service.policy.evenings import class_policy
from service.policy.gate import Proposal, context, submit_edit, with_timing
from service.policy.ledger import LedgerError, discard, publish
from service.policy.proposal import PlannedItem
from service.policy.verifier import verify
from service.store import tables as t

router = APIRouter(tags=["teacher"])


def _ledger_problem(exc: LedgerError, status: int = 409) -> Problem:
    return Problem(status, exc.en, kind="rule" if exc.rule else "conflict", rule=exc.rule, detail_zh=exc.zh)


@router.post(
    "/classes/{class_id}/plans",
    response_model=ClassPlanOut,
    summary="Plan tonight's homework for every student of a class (drafts, verified and reserved)",
)
def plan(class_id: str, body: PlanRequest, who: PrincipalDep, svc: ServicesDep) -> ClassPlanOut:
    require(who, "teacher")
    see_class(svc, who, class_id, subject=body.subject)
    served = svc.served()
    try:
        result = plan_class(
            svc.engine, served.bundle, svc.book, class_id, body.subject, body.night, body.focus_kps,
            who.user_id, now=datetime.now(UTC), share_minutes=body.share_minutes,
            model_version=str(served.version), cache=svc.cache_for(served),
        )  # fmt: skip
    except LedgerError as exc:
        raise _ledger_problem(exc, 422) from None
    except ValueError as exc:
        raise Problem(422, str(exc), kind="invalid-request") from None
    return ClassPlanOut.model_validate(dataclasses.asdict(result))


def _plan_row(svc: ServicesDep, who: PrincipalDep, plan_id: str):  # type: ignore[no-untyped-def]
    with svc.engine.connect() as conn:
        row = conn.execute(
            select(
                t.plans.c.plan_id, t.plans.c.status, t.plans.c.subject, t.plans.c.night, t.students.c.class_id
            )
            .join(t.students, t.students.c.student_id == t.plans.c.student_id)
            .where(t.plans.c.plan_id == plan_id)
        ).first()
    if row is None or not who.teaches(row.class_id, row.subject):
        raise Problem(404, f"no plan {plan_id} among those this account may see", kind="not-found")
    return row


@router.post("/plans/{plan_id}/publish", response_model=PlanStatus, summary="Publish one draft")
def publish_one(plan_id: str, who: PrincipalDep, svc: ServicesDep) -> PlanStatus:
    require(who, "teacher")
    _plan_row(svc, who, plan_id)
    try:
        publish(svc.engine, plan_id, now=datetime.now(UTC))
    except LedgerError as exc:
        raise _ledger_problem(exc) from None
    return PlanStatus(plan_id=plan_id, status="published")


@router.post(
    "/plans/{plan_id}/discard", response_model=PlanStatus, summary="Discard a draft; its minutes go back"
)
def discard_one(plan_id: str, who: PrincipalDep, svc: ServicesDep) -> PlanStatus:
    require(who, "teacher")
    row = _plan_row(svc, who, plan_id)
    if not discard(svc.engine, plan_id):
        raise Problem(409, f"the plan is {row.status}, not a draft", kind="conflict")
    return PlanStatus(plan_id=plan_id, status="discarded")


@router.post(
    "/classes/{class_id}/publish",
    response_model=Published,
    summary="Publish every live draft of the class for a subject and night",
)
def publish_class(class_id: str, body: PublishClass, who: PrincipalDep, svc: ServicesDep) -> Published:
    require(who, "teacher")
    see_class(svc, who, class_id, subject=body.subject)
    with svc.engine.connect() as conn:
        drafts = list(
            conn.execute(
                select(t.plans.c.plan_id)
                .join(t.students, t.students.c.student_id == t.plans.c.student_id)
                .where(
                    t.students.c.class_id == class_id,
                    t.plans.c.subject == body.subject,
                    t.plans.c.night == body.night,
                    t.plans.c.status == "draft",
                )
                .order_by(t.plans.c.plan_id)
            ).scalars()
        )
    done, refused = [], {}
    now = datetime.now(UTC)
    for plan_id in drafts:
        try:
            publish(svc.engine, plan_id, now=now)
            done.append(plan_id)
        except LedgerError as exc:
            refused[plan_id] = exc.en
    return Published(published=done, not_published=refused)


@router.post(
    "/checks",
    response_model=CheckResult,
    summary="Check a set you wrote against every rule (作业总量审核); nothing is reserved",
)
def check(body: CheckRequest, who: PrincipalDep, svc: ServicesDep) -> CheckResult:
    require(who, "teacher", "head_teacher")
    student = see_student(svc, who, body.student_id, subject=body.subject)
    served = svc.served()
    cache = svc.cache_for(served)
    lines = [PlannedItem(i.item_id, i.tier, i.minutes or 0.0, review=i.review) for i in body.items]
    proposal = Proposal("check", who.user_id, body.student_id, body.night, body.subject, lines, 0.0, 0.0)
    try:
        with cache.lock_for(student.class_id):
            timed = with_timing(proposal, model_timing(svc.engine, served.bundle, cache))
        with svc.engine.connect() as conn:
            found = verify(*context(conn, svc.book, timed))
    except LedgerError as exc:
        raise _ledger_problem(exc, 422) from None
    return CheckResult(
        ok=not found,
        violations=[ViolationOut(rule=v.rule, item_id=v.item_id, zh=v.zh, en=v.en) for v in found],
        typical_minutes=round(sum(i.typical_minutes for i in timed.items), 2),
        conservative_minutes=round(timed.conservative_minutes, 2),
    )


@router.put(
    "/plans/{plan_id}",
    response_model=EditedPlan,
    summary="Edit one student's draft by hand: re-verified; refused whole with the rules it breaks",
    responses={422: {"description": "the edited set breaks a rule; the draft is unchanged"}},
)
def edit(plan_id: str, body: EditRequest, who: PrincipalDep, svc: ServicesDep) -> EditedPlan:
    require(who, "teacher")
    row = _plan_row(svc, who, plan_id)
    if row.status != "draft":
        raise Problem(409, f"the plan is {row.status}; only a draft can be edited", kind="conflict")
    with svc.engine.connect() as conn:
        student_id = conn.execute(
            select(t.plans.c.student_id).where(t.plans.c.plan_id == plan_id)
        ).scalar_one()
    served = svc.served()
    cache = svc.cache_for(served)
    lines = [
        PlannedItem(i.item_id, i.tier, i.minutes or 0.0, "教师选题", "chosen by the teacher", review=i.review)
        for i in body.items
    ]
    proposal = Proposal(plan_id, who.user_id, student_id, row.night, row.subject, lines, 0.0, 0.0,
                        model_version=str(served.version))  # fmt: skip
    try:
        with cache.lock_for(row.class_id):  # the model's minutes, once, while the class's states are ours
            timed = with_timing(proposal, model_timing(svc.engine, served.bundle, cache))
        outcome = submit_edit(
            svc.engine, svc.book, timed, now=datetime.now(UTC), timing=None
        )  # timed already
    except LedgerError as exc:
        raise _ledger_problem(exc, 422) from None
    if not outcome.ok:
        first = outcome.violations[0]
        raise Problem(
            422, f"{first.rule}: {first.en}", kind="rule", rule=first.rule, detail_zh=first.zh,
            violations=[{"rule": v.rule, "item_id": v.item_id, "zh": v.zh, "en": v.en} for v in outcome.violations],
        )  # fmt: skip
    return EditedPlan(
        plan_id=plan_id,
        status="draft",
        items=[
            {"item_id": i.item_id, "tier": i.tier, "typical_minutes": round(i.typical_minutes, 2)}
            for i in timed.items
        ],
        typical_minutes=round(sum(i.typical_minutes for i in timed.items), 2),
        conservative_minutes=round(timed.conservative_minutes, 2),
    )


@router.put(
    "/classes/{class_id}/progress",
    response_model=ProgressOut,
    summary="Record what the class has been taught (C2: nothing ahead of it is ever set)",
)
def progress(class_id: str, body: ProgressIn, who: PrincipalDep, svc: ServicesDep) -> ProgressOut:
    require(who, "teacher")
    klass = see_class(svc, who, class_id, subject=body.subject)
    with svc.engine.begin() as conn:
        points = {
            r.kp_id: r
            for r in conn.execute(
                select(
                    t.knowledge_points.c.kp_id, t.knowledge_points.c.subject, t.knowledge_points.c.grade
                ).where(t.knowledge_points.c.kp_id.in_(sorted(body.points)))
            )
        }
        for kp in body.points:
            found = points.get(kp)
            if found is None or found.subject != body.subject:
                raise Problem(422, f"no {body.subject} knowledge point {kp}", kind="invalid-request",
                              errors=[{"in": "body", "pointer": f"/points/{kp}", "detail": "unknown point"}])  # fmt: skip
            if found.grade > klass.grade:
                raise Problem(
                    422, f"{kp} is in the grade {found.grade} curriculum; the class is in grade {klass.grade} (C1)",
                    kind="rule", rule="C1",
                )  # fmt: skip
        conn.execute(
            delete(t.teaching_progress).where(
                t.teaching_progress.c.class_id == class_id,
                t.teaching_progress.c.kp_id.in_(sorted(body.points)),
            )
        )
        conn.execute(
            insert(t.teaching_progress),
            [
                {"class_id": class_id, "subject": body.subject, "kp_id": kp, "taught_on": d}
                for kp, d in body.points.items()
            ],
        )
    return ProgressOut(class_id=class_id, subject=body.subject, recorded=len(body.points))


@router.get(
    "/classes/{class_id}/mastery",
    response_model=ClassMastery,
    summary="Mastery levels (等级 A-D) per student and knowledge point; levels, never ranks (R5)",
)
def mastery(
    class_id: str,
    who: PrincipalDep,
    svc: ServicesDep,
    subject: Subject = Query(),
    night: IsoDate | None = Query(None, description="as of this evening (default: today)"),
) -> ClassMastery:
    require(who, "teacher", "head_teacher")
    see_class(svc, who, class_id, subject=subject)
    night = night or datetime.now(UTC).date()
    served = svc.served()
    cache = svc.cache_for(served)
    with cache.lock_for(class_id), svc.engine.connect() as conn:
        _, policy = class_policy(conn, svc.book, class_id)
        facts = load_class(conn, policy, class_id, subject, night, served.bundle.priors, cache)
        scored = score_class(served.bundle, facts, facts.candidates, facts.students,
                             PlannerConfig(max_candidates=len(facts.candidates)))  # fmt: skip
    levels = [
        StudentLevels(student_id=s.student_id, display_name=s.display_name, levels=mastery_levels(sc))
        for s, sc in zip(facts.students, scored, strict=True)
    ]
    taught = _recently_taught(svc, class_id, subject, night)
    attention = sorted(x.student_id for x in levels if any(x.levels.get(kp) == "D" for kp in taught))
    return ClassMastery(class_id=class_id, subject=subject, night=night, model_version=str(served.version),
                        levels=levels, attention=attention)  # fmt: skip


def _recently_taught(svc: ServicesDep, class_id: str, subject: str, night: date) -> set[str]:
    with svc.engine.connect() as conn:
        return set(
            conn.execute(
                select(t.teaching_progress.c.kp_id).where(
                    t.teaching_progress.c.class_id == class_id,
                    t.teaching_progress.c.subject == subject,
                    t.teaching_progress.c.taught_on <= night,
                    t.teaching_progress.c.taught_on > night - timedelta(days=14),
                )
            ).scalars()
        )
