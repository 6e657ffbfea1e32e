"""What every route needs: the services of this process, the signed-in account, and the checks that
an object is the caller's to see (404 otherwise; a role that may not use a route gets 403)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Engine

from models.bundle import Bundle
from service.api.problems import Problem
from service.auth import AuthError, Principal, PrincipalCache, token_user
from service.planner.context import StateCache
from service.policy.policy import PolicyBook
from service.settings import Settings
from service.store.queries import ClassPlace, StudentPlace, read_class_place, read_student_place
from service.store.reads import Reader, reader

oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/token", auto_error=False)
BEARER = {"WWW-Authenticate": "Bearer"}


class Served(Protocol):
    version: str
    bundle: Bundle


class Models(Protocol):
    """The model holder (service.serving.ModelHolder): the version being served, swapped atomically."""

    @property
    def ready(self) -> bool: ...

    def current(self) -> Any: ...

    def status(self) -> dict[str, Any]: ...

    def check_once(self, retry_refused: bool = False) -> str: ...


@dataclass
class Services:
    settings: Settings
    engine: Engine
    book: PolicyBook
    models: Models
    key: str
    caches: dict[str, StateCache] = field(default_factory=dict)
    principals: PrincipalCache = field(default_factory=PrincipalCache)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def served(self) -> Any:
        served = self.models.current()
        if served is None:
            raise Problem(503, "no model is loaded yet; try again shortly", kind="model-unavailable",
                          headers={"Retry-After": "10"})  # fmt: skip
        return served

    def cache_for(self, served: Any) -> StateCache:
        """The students' states for this model version, kept between requests. A request that
        brings a class's states up to date and reads them holds cache.lock_for(class_id): requests
        for one class take turns, other classes' go on (plan_class takes the lock itself)."""
        with self.lock:
            if served.version not in self.caches:
                self.caches.clear()  # states of a replaced model are of no further use
                self.caches[served.version] = StateCache(served.bundle.priors)
            return self.caches[served.version]


async def services(request: Request) -> Services:  # async: no thread for a lookup
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


async def principal(
    request: Request, token: Annotated[str | None, Depends(oauth2)], svc: ServicesDep
) -> Principal:
    """The signed-in account. Async, so a busy route does not pay a thread hand-off for it: the token
    is checked on the event loop (HMAC, no I/O) and the account comes from the per-process cache; only
    a miss reads the database, in a worker thread."""
    if not token:
        raise Problem(401, "sign in first: POST /v1/token, then send 'Authorization: Bearer <token>'",
                      headers=BEARER, kind="unauthorized")  # fmt: skip
    try:
        user_id = token_user(svc.key, token)
        found = svc.principals.fresh(user_id)
        if found is None:
            found = await run_in_threadpool(svc.principals.get, svc.engine, user_id)
    except AuthError as exc:
        raise Problem(401, str(exc), headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                      kind="unauthorized") from None  # fmt: skip
    request.state.user_id = found.user_id
    return found


PrincipalDep = Annotated[Principal, Depends(principal)]


def require(who: Principal, *roles: str) -> None:
    if who.role not in roles:
        raise Problem(
            403, f"a {who.role} account cannot do this (it needs: {', '.join(roles)})", kind="forbidden"
        )


def _not_found(what: str, ref: str) -> Problem:
    return Problem(404, f"no {what} {ref} among those this account may see", kind="not-found")


def student_facts(engine: Engine, student_id: str, read: Reader | None = None) -> StudentPlace | None:
    if read is None:
        with reader(engine) as fresh:
            return student_facts(engine, student_id, fresh)
    return read_student_place(read, student_id)


def class_facts(engine: Engine, class_id: str) -> ClassPlace | None:
    with reader(engine) as read:
        return read_class_place(read, class_id)


def see_student(
    svc: Services, who: Principal, student_id: str, *, subject: str | None = None, read: Reader | None = None
) -> StudentPlace:
    """The student's facts if this account may see them: themself, their child, their class's teacher
    (of `subject` if given) or head teacher, their school's administrator. (`read`: on a reader the
    route holds already.)"""
    row = student_facts(svc.engine, student_id, read)
    if row is None or not (
        (who.role in ("student", "parent") and student_id in who.students)
        or (who.role in ("teacher", "head_teacher") and who.teaches(row.class_id, subject))
        or (who.role == "school_admin" and row.school_id in who.schools)
    ):
        raise _not_found("student", student_id)
    return row


def see_class(svc: Services, who: Principal, class_id: str, *, subject: str | None = None) -> ClassPlace:
    """The class's facts if this account teaches it (the subject, if given), heads it, or runs its school."""
    row = class_facts(svc.engine, class_id)
    if row is None or not (
        (who.role in ("teacher", "head_teacher") and who.teaches(class_id, subject))
        or (who.role == "school_admin" and row.school_id in who.schools)
    ):
        raise _not_found("class", class_id)
    return row
