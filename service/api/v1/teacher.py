"""The subject teacher: plan a class's homework (drafts, reserved), publish or discard, check a set
written by hand against every rule, edit a draft, record teaching progress, and the class's mastery
levels (levels, never ranks: R5). Each route: its permission, one call to service.plans, the answer.

Planning and model work (plan, check, edit, mastery) runs in the planning pool (service.pool), not
on the threads every route shares: `await svc.planning.run(account, function, ...)` answers 429 at
once when the account or the pool already has its share; the pool hands the function the database,
the model and the policy book (in a worker process: its own)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query

from service import plans, review_report
from service.api.deps import (
    CheckBody,
    CheckerOfStudent,
    MasteryOf,
    PlanBody,
    PlansFor,
    ProgressBody,
    PublishBody,
    PublishesFor,
    ServicesDep,
    TeacherOfPlan,
    TeachesFor,
)
from service.schemas import (
    CheckResult,
    ClassMastery,
    ClassPlanOut,
    EditedPlan,
    EditRequest,
    IsoDate,
    PlanChanged,
    ProgressOut,
    Published,
)

router = APIRouter(tags=["teacher"])


@router.post(
    "/classes/{class_id}/plans",
    response_model=ClassPlanOut,
    summary="Plan tonight's homework for every student of a class (drafts, verified and reserved)",
    responses={409: {"description": "the class already has sets for the subject and night: say `replan`"}},
)
async def plan(class_id: str, body: PlanBody, scope: PlansFor, svc: ServicesDep) -> ClassPlanOut:
    return await svc.planning.run(
        scope.who.user_id, plans.plan_class, class_id=class_id, subject=body.subject, night=body.night,
        focus_kps=body.focus_kps, teacher_id=scope.who.user_id, now=datetime.now(UTC),
        share_minutes=body.share_minutes, replan=body.replan,
    )  # fmt: skip


@router.post("/plans/{plan_id}/publish", response_model=PlanChanged, summary="Publish one draft")
def publish_one(plan_id: str, scope: TeacherOfPlan, svc: ServicesDep) -> PlanChanged:
    return plans.publish_plan(db=svc.engine, plan_id=plan_id, now=datetime.now(UTC))


@router.post(
    "/plans/{plan_id}/discard", response_model=PlanChanged, summary="Discard a draft; its minutes go back"
)
def discard_one(plan_id: str, scope: TeacherOfPlan, svc: ServicesDep) -> PlanChanged:
    return plans.discard_plan(db=svc.engine, plan_id=plan_id)


@router.post(
    "/classes/{class_id}/publish",
    response_model=Published,
    summary="Publish every live draft of the class for a subject and night",
)
def publish_class(class_id: str, body: PublishBody, scope: PublishesFor, svc: ServicesDep) -> Published:
    return plans.publish_class(
        db=svc.engine, class_id=class_id, subject=body.subject, night=body.night, now=datetime.now(UTC)
    )


@router.post(
    "/checks",
    response_model=CheckResult,
    summary="Check a set you wrote against every rule (作业总量审核); nothing is reserved",
)
async def check(body: CheckBody, scope: CheckerOfStudent, svc: ServicesDep) -> CheckResult:
    return await svc.planning.run(
        scope.who.user_id, plans.check_set, student_id=body.student_id, class_id=scope.student.class_id,
        subject=body.subject, night=body.night, items=body.items, checker_id=scope.who.user_id,
    )  # fmt: skip


@router.put(
    "/plans/{plan_id}",
    response_model=EditedPlan,
    summary="Edit one student's draft by hand: re-verified; refused whole with the rules it breaks",
    responses={422: {"description": "the edited set breaks a rule; the draft is unchanged"}},
)
async def edit(plan_id: str, body: EditRequest, scope: TeacherOfPlan, svc: ServicesDep) -> EditedPlan:
    return await svc.planning.run(
        scope.who.user_id, plans.edit_plan, plan_id=plan_id, items=body.items, teacher_id=scope.who.user_id,
        now=datetime.now(UTC),
    )  # fmt: skip


@router.put(
    "/classes/{class_id}/progress",
    response_model=ProgressOut,
    summary="Record what the class has been taught (C2: nothing ahead of it is ever set)",
)
def progress(class_id: str, body: ProgressBody, scope: TeachesFor, svc: ServicesDep) -> ProgressOut:
    return plans.record_progress(
        db=svc.engine, class_id=class_id, grade=scope.klass.grade, subject=body.subject, points=body.points
    )


@router.get(
    "/classes/{class_id}/mastery",
    response_model=ClassMastery,
    summary="Mastery levels (等级 A-D) per student and knowledge point; levels, never ranks (R5)",
)
async def mastery(
    class_id: str,
    scope: MasteryOf,
    svc: ServicesDep,
    night: IsoDate | None = Query(None, description="as of this evening (default: today)"),
) -> ClassMastery:
    assert scope.subject is not None
    return await svc.planning.run(
        scope.who.user_id, plans.class_mastery, class_id=class_id, subject=scope.subject,
        night=night or datetime.now(UTC).date(),
    )  # fmt: skip


@router.get(
    "/classes/{class_id}/review",
    response_model=review_report.ReviewReport,
    summary="The next day's 讲评 report of a night: handed in, right / wrong / not done per item and point, "
    "time; counts, never ranks (R5); points with most students at level D first (R6)",
)
async def review(
    class_id: str,
    scope: MasteryOf,
    svc: ServicesDep,
    night: IsoDate = Query(description="the evening the homework was set for"),
) -> review_report.ReviewReport:
    assert scope.subject is not None  # the class's teacher of this subject, or its head teacher
    return await svc.planning.run(
        scope.who.user_id, review_report.class_review, class_id=class_id, subject=scope.subject, night=night
    )
