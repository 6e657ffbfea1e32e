"""The subject teacher: plan a class's homework (drafts, reserved), publish or discard, check a set
written by hand against every rule, and the class's mastery levels (levels, never ranks: R5)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from fastapi import APIRouter
from sqlalchemy import select

from service.api.deps import PrincipalDep, ServicesDep, require, see_class, see_student
from service.api.problems import Problem
from service.api.v1.schemas import (
    CheckRequest,
    CheckResult,
    ClassPlanOut,
    PlanRequest,
    PlanStatus,
    PublishClass,
    Published,
    ViolationOut,
)
from service.planner.plan import plan_class
from service.planner.timing import model_timing
from service.policy.gate import Proposal, context, with_timing
from service.policy.ledger import LedgerError, PlanLine, discard, publish
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
    cache, lock = svc.cache_for(served)
    try:
        with lock:
            result = plan_class(
                svc.engine, served.bundle, svc.book, class_id, body.subject, body.night, body.focus_kps,
                who.user_id, now=datetime.now(UTC), share_minutes=body.share_minutes,
                model_version=str(served.version), cache=cache,
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
    see_student(svc, who, body.student_id, subject=body.subject)
    served = svc.served()
    cache, lock = svc.cache_for(served)
    lines = [PlanLine(i.item_id, i.tier, i.minutes or 0.0, review=i.review) for i in body.items]
    proposal = Proposal("check", who.user_id, body.student_id, body.night, body.subject, lines, 0.0, 0.0)
    try:
        with lock:
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
