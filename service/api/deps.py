"""What every route needs: the services of this process, the signed-in account, and the permission a
route declares — a dependency per kind of caller (`TeacherOfClass`, `GuardianOf`, ...) that runs the
object-level rules of service.access before the handler (someone else's object: 404; a role that
may not use the route: 403)."""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer

from service import access
from service.access import ClassRef, PlanRef, StudentRef
from service.api.problems import Problem
from service.auth import AuthError, Claims, Principal, principal_of, token_claims
from service.runtime import Services
from service.schemas import CheckRequest, PlanRequest, ProgressIn, PublishClass, Subject
from service.store.reads import Reader

oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/token", auto_error=False)
BEARER = {"WWW-Authenticate": "Bearer"}


async def services(request: Request) -> Services:  # async: no thread for a lookup
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def client_address(request: Request) -> str:
    """The client's address as the server saw it. Behind a proxy, `jianfu serve` lets uvicorn put the
    X-Forwarded-For address here only for the proxies JIANFU_FORWARDED_ALLOW_IPS trusts."""
    return request.client.host if request.client is not None else ""


def _invalid_token(exc: AuthError) -> Problem:
    return Problem(401, str(exc), headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                   kind="unauthorized")  # fmt: skip


async def signed(request: Request, token: Annotated[str | None, Depends(oauth2)], svc: ServicesDep) -> Claims:
    """The account and session a valid token names, checked on the event loop (HMAC, no I/O). Whether
    the session is still open is for `principal` (or, on /tonight, the handler's own reader)."""
    if not token:
        raise Problem(401, "sign in first: POST /v1/token, then send 'Authorization: Bearer <token>'",
                      headers=BEARER, kind="unauthorized")  # fmt: skip
    try:
        claims = token_claims(svc.key, token)
    except AuthError as exc:
        raise _invalid_token(exc) from None
    request.state.user_id = claims.user_id
    return claims


SignedDep = Annotated[Claims, Depends(signed)]


async def principal(claims: SignedDep, svc: ServicesDep) -> Principal:
    """The signed-in account: its session looked up in the database on every request (a primary-key
    read, so a signed-out token fails at once on every replica), the account from the per-process
    cache; one worker thread for both."""
    try:
        return await run_in_threadpool(principal_of, svc.engine, svc.principals, claims)
    except AuthError as exc:
        raise _invalid_token(exc) from None


PrincipalDep = Annotated[Principal, Depends(principal)]


def role(*roles: str) -> Any:
    """A dependency: the signed-in account, if its role is one of `roles` (403 otherwise)."""

    async def allowed(who: PrincipalDep) -> Principal:
        access.require(who, *roles)
        return who

    return Depends(allowed)


class ClassScope(NamedTuple):
    who: Principal
    klass: ClassRef
    subject: str | None = None  # the subject the caller acts in, where the route names one


class StudentScope(NamedTuple):
    who: Principal
    student: StudentRef


class PlanScope(NamedTuple):
    who: Principal
    plan: PlanRef


def _class_scope(*roles: str) -> Any:
    def scope(class_id: str, who: PrincipalDep, svc: ServicesDep) -> ClassScope:
        access.require(who, *roles)
        return ClassScope(who, access.see_class(svc.engine, who, class_id))

    return Depends(scope)


def _student_scope(*roles: str) -> Any:
    def scope(student_id: str, who: PrincipalDep, svc: ServicesDep) -> StudentScope:
        if roles:
            access.require(who, *roles)
        return StudentScope(who, access.see_student(svc.engine, who, student_id))

    return Depends(scope)


class DeferredStudent(NamedTuple):
    """The session and the permission to see a student, checked on the handler's own database reader:
    the route every student's app calls each evening then pays one thread hand-off, not two."""

    claims: Claims
    student_id: str
    svc: Services

    def check(self, read: Reader) -> StudentScope:
        try:
            who = principal_of(self.svc.engine, self.svc.principals, self.claims, read=read)
        except AuthError as exc:
            raise _invalid_token(exc) from None
        return StudentScope(who, access.see_student(self.svc.engine, who, self.student_id, read=read))


async def _deferred_student(student_id: str, claims: SignedDep, svc: ServicesDep) -> DeferredStudent:
    return DeferredStudent(claims, student_id, svc)


def _teacher_of_plan(plan_id: str, who: PrincipalDep, svc: ServicesDep) -> PlanScope:
    return PlanScope(who, access.see_plan(svc.engine, who, plan_id))


def _reader_of_notice(class_id: str, who: PrincipalDep, svc: ServicesDep) -> Principal:
    access.see_notice(svc.engine, who, class_id)
    return who


class ItemScope(NamedTuple):
    who: Principal
    item: access.ItemRef


def _reader_of_item(item_id: str, who: PrincipalDep, svc: ServicesDep) -> ItemScope:
    return ItemScope(who, access.see_item(svc.engine, who, item_id))


def _district_scope(district_id: str, who: PrincipalDep) -> Principal:
    access.see_district(who, district_id)
    return who


def check_body(body: CheckRequest) -> CheckRequest:
    return body


def plan_body(body: PlanRequest) -> PlanRequest:
    return body


def publish_body(body: PublishClass) -> PublishClass:
    return body


def progress_body(body: ProgressIn) -> ProgressIn:
    return body


CheckBody = Annotated[CheckRequest, Depends(check_body)]
PlanBody = Annotated[PlanRequest, Depends(plan_body)]
PublishBody = Annotated[PublishClass, Depends(publish_body)]
ProgressBody = Annotated[ProgressIn, Depends(progress_body)]


def _subject_scope(body_of: Any) -> Any:
    """The class's teacher of the subject the body names (the body read once, shared with the route)."""

    def scope(class_id: str, who: PrincipalDep, svc: ServicesDep, body: Any = Depends(body_of)) -> ClassScope:
        access.require(who, "teacher")
        klass = access.see_class(svc.engine, who, class_id, subject=body.subject)
        return ClassScope(who, klass, body.subject)

    return Depends(scope)


def _mastery_scope(
    class_id: str,
    who: PrincipalDep,
    svc: ServicesDep,
    subject: Subject = Query(),
) -> ClassScope:
    access.require(who, "teacher", "head_teacher")
    return ClassScope(who, access.see_class(svc.engine, who, class_id, subject=subject), subject)


def _checker_of_student(body: CheckBody, who: PrincipalDep, svc: ServicesDep) -> StudentScope:
    access.require(who, "teacher", "head_teacher")
    return StudentScope(who, access.see_student(svc.engine, who, body.student_id, subject=body.subject))


# The permissions routes declare: who the caller must be, for the object the route names.
Teacher = Annotated[Principal, role("teacher")]
DataTeam = Annotated[Principal, role("data_team")]
PlansFor = Annotated[ClassScope, _subject_scope(plan_body)]  # the class's teacher of the body's subject
PublishesFor = Annotated[ClassScope, _subject_scope(publish_body)]
TeachesFor = Annotated[ClassScope, _subject_scope(progress_body)]
MasteryOf = Annotated[ClassScope, Depends(_mastery_scope)]
StaffOfClass = Annotated[ClassScope, _class_scope("teacher", *access.COORDINATORS)]
CoordinatorOfClass = Annotated[ClassScope, _class_scope(*access.COORDINATORS)]
ReaderOfNotice = Annotated[Principal, Depends(_reader_of_notice)]
TeacherOfPlan = Annotated[PlanScope, Depends(_teacher_of_plan)]
SeesStudentTonight = Annotated[DeferredStudent, Depends(_deferred_student)]
SeesStudent = Annotated[StudentScope, _student_scope()]
StudentOrGuardian = Annotated[StudentScope, _student_scope("student", "parent")]
GuardianOf = Annotated[StudentScope, _student_scope("parent")]
AnswersFor = Annotated[StudentScope, _student_scope("student", "teacher")]
CheckerOfStudent = Annotated[StudentScope, Depends(_checker_of_student)]
ReaderOfItem = Annotated[ItemScope, Depends(_reader_of_item)]  # set for their child; taught; headed
OfDistrict = Annotated[Principal, Depends(_district_scope)]  # an account of the district (教育局)
