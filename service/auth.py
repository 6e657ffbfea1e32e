"""Accounts, passwords, access tokens and who may see what.

Passwords are kept as salted scrypt hashes (standard library). Access tokens are JWTs (PyJWT, HS256)
that name the account and its role and expire; what an account may see is read from the database
on every request (`user_scopes`), so a changed or removed scope takes effect at once.

Object-level rules, one place: a student sees themself, a parent their child, a teacher the classes
(and subjects) they teach, a head teacher their classes, a school administrator their school. The
data team works on data, not on individuals' evenings. Someone else's object answers 404 (its
existence is not confirmed); a route the role may not use answers 403.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import Connection, Engine, insert, select

from service.store import tables as t
from service.store.db import writing

ROLES = t.ROLES
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
ISSUER = "jianfu"


class AuthError(Exception):
    """Sign-in or token refused (the API answers 401 with WWW-Authenticate)."""


class AccountError(ValueError):
    """A bad account request (unknown role, duplicate username, scope that does not exist)."""


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt${}${}${}${}${}".format(
        _SCRYPT["n"],
        _SCRYPT["r"],
        _SCRYPT["p"],
        base64.b64encode(salt).decode(),
        base64.b64encode(digest).decode(),
    )


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt), dklen=32, n=int(n), r=int(r), p=int(p)
    )
    return hmac.compare_digest(got, base64.b64decode(digest))


@dataclass(frozen=True)
class Principal:
    """The signed-in account and what it may see."""

    user_id: str
    username: str
    role: str
    students: frozenset[str] = frozenset()  # student: themself; parent: their children
    classes: dict[str, frozenset[str]] = field(default_factory=dict)  # class -> subjects ("" = all)
    schools: frozenset[str] = frozenset()

    def teaches(self, class_id: str, subject: str | None = None) -> bool:
        subjects = self.classes.get(class_id)
        if subjects is None:
            return False
        return subject is None or "" in subjects or subject in subjects


def create_user(
    engine: Engine,
    username: str,
    password: str,
    role: str,
    *,
    scopes: Iterable[tuple[str, str, str]] = (),
    display_name: str | None = None,
    now: datetime | None = None,
) -> str:
    """A new account with its scopes [(kind, ref_id, subject)], all or nothing. Returns its id."""
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if not username or len(username) > 64:
        raise AccountError("a username has 1 to 64 characters")
    if len(password) < 8:
        raise AccountError("a password has at least 8 characters")
    scopes = list(scopes)
    user_id = f"usr-{uuid.uuid4().hex[:16]}"
    with writing(engine) as conn:
        if conn.execute(select(t.users.c.user_id).where(t.users.c.username == username)).first():
            raise AccountError(f"the username {username!r} is taken")
        for kind, ref_id, _subject in scopes:
            _check_scope(conn, kind, ref_id)
        conn.execute(
            insert(t.users).values(
                user_id=user_id,
                username=username,
                password_hash=hash_password(password),
                role=role,
                display_name=display_name,
                disabled=False,
                created_at=now or datetime.now(UTC),
            )
        )
        if scopes:
            conn.execute(
                insert(t.user_scopes),
                [{"user_id": user_id, "kind": k, "ref_id": r, "subject": s} for k, r, s in scopes],
            )
    return user_id


def _check_scope(conn: Connection, kind: str, ref_id: str) -> None:
    table, column = {
        "student": (t.students, t.students.c.student_id),
        "class": (t.classes, t.classes.c.class_id),
        "school": (t.schools, t.schools.c.school_id),
    }.get(kind, (None, None))
    if table is None or column is None:
        raise AccountError(f"unknown scope kind {kind!r}; one of student, class, school")
    if conn.execute(select(column).where(column == ref_id)).first() is None:
        raise AccountError(f"no {kind} {ref_id!r}")


def authenticate(engine: Engine, username: str, password: str) -> str:
    """The account's id if the password is right (and the account is not disabled)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(t.users.c.user_id, t.users.c.password_hash, t.users.c.disabled).where(
                t.users.c.username == username
            )
        ).first()
    if row is None:
        check_password(password, hash_password("x" * 8))  # the same work either way
        raise AuthError("wrong username or password")
    if not check_password(password, row.password_hash) or row.disabled:
        raise AuthError("wrong username or password")
    return str(row.user_id)


def issue_token(key: str, user_id: str, role: str, minutes: int, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    claims = {
        "sub": user_id,
        "role": role,
        "iss": ISSUER,
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
    }
    return jwt.encode(claims, key, algorithm="HS256")


_VERIFIED: dict[tuple[str, str], tuple[str, float]] = {}  # (key, token) -> (account, expiry)


def token_user(key: str, token: str) -> str:
    """The account a token was issued to, if the token is ours, unexpired and well formed. A token
    verified once is remembered until it expires (its claims cannot change; PyJWT's checks cost more
    than the rest of a busy route's work)."""
    hit = _VERIFIED.get((key, token))
    if hit is not None and time.time() < hit[1]:
        return hit[0]
    try:
        claims = jwt.decode(
            token, key, algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp", "sub", "iss"]}
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("the token has expired; sign in again") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid token: {exc}") from None
    if len(_VERIFIED) > 100_000:
        _VERIFIED.clear()
    account = str(claims["sub"])
    _VERIFIED[(key, token)] = (account, float(claims["exp"]))
    return account


def load_principal(engine: Engine, user_id: str) -> Principal:
    """The account and its scopes, in one query."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                t.users.c.user_id,
                t.users.c.username,
                t.users.c.role,
                t.users.c.disabled,
                t.user_scopes.c.kind,
                t.user_scopes.c.ref_id,
                t.user_scopes.c.subject,
            )
            .outerjoin(t.user_scopes, t.user_scopes.c.user_id == t.users.c.user_id)
            .where(t.users.c.user_id == user_id)
        ).all()
    if not rows or rows[0].disabled:
        raise AuthError("the account no longer exists or is disabled")
    scopes = [(r.kind, r.ref_id, r.subject) for r in rows if r.kind is not None]
    classes: dict[str, set[str]] = {}
    for kind, ref_id, subject in scopes:
        if kind == "class":
            classes.setdefault(ref_id, set()).add(subject)
    user = rows[0]
    return Principal(
        user.user_id,
        user.username,
        user.role,
        frozenset(r for k, r, _ in scopes if k == "student"),
        {c: frozenset(s) for c, s in classes.items()},
        frozenset(r for k, r, _ in scopes if k == "school"),
    )


class PrincipalCache:
    """Accounts and scopes kept for a few seconds per process, so a busy route does not read them on
    every request; a disabled account or a removed scope takes effect within `seconds`."""

    def __init__(self, seconds: float = 5.0) -> None:
        self.seconds = seconds
        self._found: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def fresh(self, user_id: str) -> Principal | None:
        """The account if read less than `seconds` ago (no database access: safe on the event loop)."""
        with self._lock:
            hit = self._found.get(user_id)
        if hit is not None and time.monotonic() - hit[0] < self.seconds:
            return hit[1]
        return None

    def get(self, engine: Engine, user_id: str) -> Principal:
        found = self.fresh(user_id)
        if found is not None:
            return found
        now = time.monotonic()
        found = load_principal(engine, user_id)
        with self._lock:
            if len(self._found) > 10_000:
                self._found.clear()
            self._found[user_id] = (now, found)
        return found

    def forget(self) -> None:
        with self._lock:
            self._found.clear()


def describe(principal: Principal) -> dict[str, Any]:
    return {
        "user_id": principal.user_id,
        "username": principal.username,
        "role": principal.role,
        "students": sorted(principal.students),
        "classes": {c: sorted(s) for c, s in sorted(principal.classes.items())},
        "schools": sorted(principal.schools),
    }
