"""The head teacher and the school: how the class's evenings are split between subjects (班主任协调),
giving a subject's unused minutes to others tonight, each student's evening across subjects, the
weekly public notice of class totals (作业公示, R3: no individual data), and burden monitoring (R4:
estimated against reported time, evenings over the cap flagged). Each route: its permission, one
call to service.evenings, the answer."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Path, Query

from service import evenings
from service.api.deps import CoordinatorOfClass, ReaderOfNotice, ServicesDep, StaffOfClass, StudentOrGuardian
from service.schemas import (
    AllocationIn,
    Allocations,
    Burden,
    ClassEvening,
    EveningReportIn,
    IsoDate,
    Notice,
    Released,
    ReleaseIn,
)

router = APIRouter(tags=["head teacher and school"])


@router.get(
    "/classes/{class_id}/allocations",
    response_model=Allocations,
    summary="The class's split per weekday: as set, and in force (set or the school's default) in minutes",
)
def allocations(class_id: str, scope: StaffOfClass, svc: ServicesDep) -> Allocations:
    return evenings.allocations(db=svc.engine, class_id=class_id, book=svc.book)


@router.put(
    "/classes/{class_id}/allocations/{weekday}",
    response_model=Allocations,
    summary="Set how the class's evenings on a weekday are split between subjects (T5, T8)",
)
def put_allocation(
    class_id: str,
    body: AllocationIn,
    scope: CoordinatorOfClass,
    svc: ServicesDep,
    weekday: int = Path(ge=0, le=6, description="0 = Monday .. 6 = Sunday"),
) -> Allocations:
    return evenings.set_allocation(
        db=svc.engine, book=svc.book, class_id=class_id, weekday=weekday, weights=body.weights
    )


@router.post(
    "/classes/{class_id}/releases",
    response_model=Released,
    summary="Give a subject's unused minutes tonight to other subjects (this night only; the cap stays)",
)
def release(class_id: str, body: ReleaseIn, scope: CoordinatorOfClass, svc: ServicesDep) -> Released:
    return evenings.release(
        db=svc.engine, book=svc.book, class_id=class_id, night=body.night, subject=body.subject,
        to_subjects=body.to_subjects, released_by=scope.who.user_id, now=datetime.now(UTC),
    )  # fmt: skip


@router.get(
    "/classes/{class_id}/evenings/{night}",
    response_model=ClassEvening,
    summary="Each student's evening across subjects: cap, what each subject holds, exemption, reported time",
)
def class_evening(class_id: str, night: IsoDate, scope: CoordinatorOfClass, svc: ServicesDep) -> ClassEvening:
    return evenings.class_evening(db=svc.engine, book=svc.book, class_id=class_id, night=night)


@router.get(
    "/classes/{class_id}/notice",
    response_model=Notice,
    summary="The weekly public notice of class totals (作业公示): averages only, no individual data (R3)",
)
def notice(
    class_id: str,
    who: ReaderOfNotice,
    svc: ServicesDep,
    week_of: IsoDate = Query(description="any day of the week (Monday to Sunday)"),
) -> Notice:
    return evenings.weekly_notice(db=svc.engine, book=svc.book, class_id=class_id, week_of=week_of)


@router.post(
    "/students/{student_id}/evening-reports",
    status_code=201,
    summary="Report the real time of an evening (R4): the student or a parent",
)
def report_evening(
    student_id: str, body: EveningReportIn, scope: StudentOrGuardian, svc: ServicesDep
) -> dict[str, object]:
    return evenings.report_evening(
        db=svc.engine, student_id=student_id, night=body.night, minutes=body.minutes,
        reported_by=scope.who.user_id, now=datetime.now(UTC),
    )  # fmt: skip


@router.get(
    "/classes/{class_id}/burden",
    response_model=Burden,
    summary="Burden monitoring (R4): estimated against reported minutes per day, evenings over the cap",
)
def burden(
    class_id: str,
    scope: CoordinatorOfClass,
    svc: ServicesDep,
    start: IsoDate = Query(alias="from"),
    end: IsoDate = Query(alias="to"),
) -> Burden:
    return evenings.burden(db=svc.engine, book=svc.book, class_id=class_id, start=start, end=end)
