"""The student (and the parent): tonight's work across subjects, answers in batches, the error
book, and a parent's exemption for tonight (T12). Each route: its permission, one call to
service.evenings or service.records, the answer."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
from fastapi import APIRouter, Query

from service import access, evenings, records
from service.api.deps import (
    AnswersFor,
    GuardianOf,
    ReaderOfItem,
    SeesStudent,
    SeesStudentTonight,
    ServicesDep,
    StudentOrGuardian,
)
from service.schemas import (
    AttemptBatch,
    AttemptsStored,
    ErrorBookByPoint,
    ErrorBookEntry,
    ExemptionIn,
    ExemptionOut,
    IsoDate,
    IsoTime,
    ItemOut,
    QueryFlag,
    StopIn,
    StopOut,
    Tonight,
)
from service.store.reads import reader

router = APIRouter(tags=["student"])


@router.get(
    "/students/{student_id}/tonight",
    response_model=Tonight,
    summary="Tonight's published work across subjects, in order, with each question's text, minutes and "
    "reasons, and whether a parent excused the evening",
)
async def tonight(
    student_id: str,
    scope: SeesStudentTonight,
    svc: ServicesDep,
    night: IsoDate | None = Query(
        None, description="the evening (the school's local date); without it, today in the school's time zone"
    ),
    now: IsoTime | None = Query(
        None,
        description="the time now, with its UTC offset: only what fits before the policy's bedtime is listed",
    ),
) -> Tonight:
    # Async, with the permission check and the reads in one worker thread: for a plain (sync) route
    # FastAPI hands the work to a thread and then the response's validation to another, and on the
    # route every student's app calls each evening those hand-offs cost more than the reads.
    def work() -> Tonight:
        with reader(svc.readers) as read:  # connections of their own too
            who, student = scope.check(read)
            on = night or evenings.school_today(student.timezone, datetime.now(UTC))
            return evenings.tonight(db=svc.engine, book=svc.book, student=student, night=on, now=now,
                                    read=read, subjects=access.subjects_of(who, student))  # fmt: skip

    return await anyio.to_thread.run_sync(work, limiter=svc.reads)  # threads of its own (service.runtime)


@router.post(
    "/students/{student_id}/attempts",
    response_model=AttemptsStored,
    summary="Answers in a batch: stored once each by event_id; wrong ones enter the error book",
)
def attempts(student_id: str, body: AttemptBatch, scope: AnswersFor, svc: ServicesDep) -> AttemptsStored:
    return records.record(db=svc.engine, student_id=student_id, answers=body.attempts,
                          subjects=access.subjects_of(scope.who, scope.student))  # fmt: skip


@router.get(
    "/students/{student_id}/error-book",
    response_model=list[ErrorBookEntry],
    summary="The error book (错题本): open entries first, then the recently resolved",
)
def error_book(
    student_id: str,
    scope: SeesStudent,
    svc: ServicesDep,
    include_resolved: QueryFlag = Query(False, description="also entries already mastered"),
) -> list[ErrorBookEntry]:
    return records.error_book(db=svc.engine, student_id=student_id, include_resolved=include_resolved,
                              subjects=access.subjects_of(scope.who, scope.student))  # fmt: skip


@router.get(
    "/students/{student_id}/error-book/points",
    response_model=ErrorBookByPoint,
    summary="The error book by subject and knowledge point (names, question text), only the student's own "
    "grade and subjects: when each item went wrong and whether it has been right since",
)
def error_book_by_point(
    student_id: str,
    scope: SeesStudent,
    svc: ServicesDep,
    include_resolved: QueryFlag = Query(True, description="also entries answered right since"),
) -> ErrorBookByPoint:
    return records.error_book_by_point(db=svc.engine, student=scope.student, include_resolved=include_resolved,
                                       subjects=access.subjects_of(scope.who, scope.student))  # fmt: skip


@router.post(
    "/students/{student_id}/exemptions",
    response_model=ExemptionOut,
    status_code=201,
    summary="A parent excuses tonight's written work (家长签字免写); nothing moves to another night (T12)",
)
def exemption(student_id: str, body: ExemptionIn, scope: GuardianOf, svc: ServicesDep) -> ExemptionOut:
    return evenings.excuse(
        db=svc.engine, student_id=student_id, night=body.night, recorded_by=scope.who.user_id,
        now=datetime.now(UTC), note=body.note,
    )  # fmt: skip


@router.delete(
    "/students/{student_id}/exemptions",
    response_model=ExemptionOut,
    summary="A parent takes back tonight's excuse (on that evening only): the work is to be done again",
)
def undo_exemption(
    student_id: str,
    scope: GuardianOf,
    svc: ServicesDep,
    night: IsoDate = Query(description="the excused evening: the school's today"),
) -> ExemptionOut:
    return evenings.undo_excuse(db=svc.engine, student=scope.student, night=night, now=datetime.now(UTC))


@router.post(
    "/students/{student_id}/evening-stops",
    response_model=StopOut,
    status_code=201,
    summary="作业熔断: stop the evening when its time is up (the cap reached, or bedtime); what is left is "
    "recorded as not done because time ran out, never held against the student nor carried over",
)
def stop_evening(student_id: str, body: StopIn, scope: StudentOrGuardian, svc: ServicesDep) -> StopOut:
    return evenings.stop_evening(db=svc.engine, book=svc.book, student=scope.student, night=body.night,
                                 now=datetime.now(UTC), stopped_by=scope.who.user_id)  # fmt: skip


@router.get(
    "/items/{item_id}",
    response_model=ItemOut,
    summary="One item: its question text, kind and knowledge points (the answer key only for a teacher of "
    "its subject)",
)
def item(item_id: str, scope: ReaderOfItem, svc: ServicesDep) -> ItemOut:
    return records.item(db=svc.engine, item_id=item_id, with_answer=scope.item.answer_key)
