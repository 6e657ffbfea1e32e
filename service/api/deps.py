"""What every route needs: the services of this process, the signed-in account, and the checks that
an object is the caller's to see (404 otherwise; a role that may not use a route gets 403)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Engine, select

from models.bundle import Bundle
from service.api.problems import Problem
from service.auth import AuthError, Principal, PrincipalCache, principal_from_token
from service.planner.context import StateCache
from service.policy.policy import PolicyBook
from service.settings import Settings
from service.store import tables as t

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
    caches: dict[str, tuple[StateCache, threading.Lock]] = field(default_factory=dict)
    principals: PrincipalCache = field(default_factory=PrincipalCache)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def served(self) -> Any:
        served = self.models.current()
        if served is None:
            raise Problem(503, "no model is loaded yet; try again shortly", kind="model-unavailable",
                          headers={"Retry-After": "10"})  # fmt: skip
        return served

    def cache_for(self, served: Any) -> tuple[StateCache, threading.Lock]:
        """The students' states for this model version, kept between requests (one lock each: a
        cache is brought up to date by one request at a time)."""
        with self.lock:
            if served.version not in self.caches:
                self.caches.clear()  # states of a replaced model are of no further use
                self.caches[served.version] = (StateCache(served.bundle.priors), threading.Lock())
            return self.caches[served.version]


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def principal(request: Request, token: Annotated[str | None, Depends(oauth2)], svc: ServicesDep) -> Principal:
    if not token:
        raise Problem(401, "sign in first: POST /v1/token, then send 'Authorization: Bearer <token>'",
                      headers=BEARER, kind="unauthorized")  # fmt: skip
    try:
        found = principal_from_token(svc.engine, svc.key, token, svc.principals)
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


def student_facts(engine: Engine, student_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            select(t.students.c.student_id, t.students.c.class_id, t.classes.c.school_id, t.classes.c.grade)
            .join(t.classes, t.classes.c.class_id == t.students.c.class_id)
            .where(t.students.c.student_id == student_id)
        ).first()


def class_facts(engine: Engine, class_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            select(t.classes.c.class_id, t.classes.c.school_id, t.classes.c.grade).where(
                t.classes.c.class_id == class_id
            )
        ).first()


def see_student(svc: Services, who: Principal, student_id: str, *, subject: str | None = None) -> Any:
    """The student's facts if this account may see them: themself, their child, their class's teacher
    (of `subject` if given) or head teacher, their school's administrator."""
    row = student_facts(svc.engine, student_id)
    allowed = row is not None and (
        (who.role in ("student", "parent") and student_id in who.students)
        or (who.role in ("teacher", "head_teacher") and who.teaches(row.class_id, subject))
        or (who.role == "school_admin" and row.school_id in who.schools)
    )
    if not allowed:
        raise _not_found("student", student_id)
    return row


def see_class(svc: Services, who: Principal, class_id: str, *, subject: str | None = None) -> Any:
    """The class's facts if this account teaches it (the subject, if given), heads it, or runs its school."""
    row = class_facts(svc.engine, class_id)
    allowed = row is not None and (
        (who.role in ("teacher", "head_teacher") and who.teaches(class_id, subject))
        or (who.role == "school_admin" and row.school_id in who.schools)
    )
    if not allowed:
        raise _not_found("class", class_id)
    return row
