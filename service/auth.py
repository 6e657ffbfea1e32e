"""Accounts, passwords, sign-in, sessions, access tokens and who may see what.

Passwords are kept as salted scrypt hashes (standard library). Access tokens are JWTs (PyJWT, HS256)
that name the account, its role and its session (`sid`) and expire; the session is a row of
`sessions`, looked up by its key on every request and deleted at sign-out, so a signed-out token
stops working at once on every replica. What an account may see is read from the database
(`user_scopes`, kept a few seconds per process: PrincipalCache).

Signing in (`sign_in`) costs one scrypt hash whether the username exists or not, and is throttled
per account and per client address with an exponential back-off whose counts are in the database
(`sign_in_failures`, keyed by an HMAC, never a username): every replica sees them, and a try is
counted before the password is checked, so tries sent at once cannot slip past the back-off
together. The hashing runs in a small pool of its own (SignInPool), never in the server's general
threads; when the pool is full a sign-in is refused at once.

Object-level rules, one place: a student sees themself, a parent their child, a teacher the classes
(and subjects) they teach, a head teacher their classes, a school administrator their school, a
district (教育局) its schools' classes as a whole, never a student. The data team works on data, not on individuals' evenings. Someone else's object answers 404 (its
existence is not confirmed); a route the role may not use answers 403.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import math
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

import jwt
from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from service.settings import Settings
from service.store import tables as t
from service.store.db import writing
from service.store.reads import Read, Reader, reader

ROLES = t.ROLES
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
ISSUER = "jianfu"
R = TypeVar("R")


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
    districts: frozenset[str] = frozenset()  # a district (教育局) account: its district

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
        "district": (t.districts, t.districts.c.district_id),
    }.get(kind, (None, None))
    if table is None or column is None:
        raise AccountError(f"unknown scope kind {kind!r}; one of {', '.join(t.SCOPE_KINDS)}")
    if conn.execute(select(column).where(column == ref_id)).first() is None:
        raise AccountError(f"no {kind} {ref_id!r}")


# The stored hash an unknown username's password is checked against: the same scrypt parameters as
# every account's, so a name that has no account costs exactly the one hash a real one does.
DUMMY_HASH = "scrypt$16384$8$1$qt+2yFGIRG7wNXVuUAQr5g==$30TnOuuEaB8OWtxfxc9IovvP6GGD2tqY6z1l2ft3QMM="


class TooManySignIns(Exception):
    """A sign-in refused before the password is looked at: the back-off holds for this account or
    address, or the sign-in pool is full (the API answers 429 with Retry-After)."""

    def __init__(self, retry_after: float, en: str, zh: str) -> None:
        super().__init__(en)
        self.retry_after = max(1, math.ceil(retry_after))
        self.en, self.zh = en, zh


@dataclass(frozen=True)
class Throttle:
    """The back-off after failed sign-ins (service.settings has the meaning of each)."""

    free_failures: int = 5
    address_free_failures: int = 30
    base_seconds: float = 1.0
    max_seconds: float = 900.0
    forget_seconds: float = 3600.0

    @classmethod
    def of(cls, settings: Settings) -> Throttle:
        return cls(
            settings.sign_in_free_failures,
            settings.sign_in_address_free_failures,
            settings.sign_in_backoff_seconds,
            settings.sign_in_backoff_max_seconds,
            settings.sign_in_forget_seconds,
        )

    def wait(self, failures: int, free: int) -> timedelta:
        """How long the next try waits after `failures` failures: nothing for the first `free`, then
        base, 2 × base, 4 × base ... up to the cap."""
        if failures <= free:
            return timedelta(0)
        return timedelta(seconds=min(self.base_seconds * 2 ** min(failures - free - 1, 40), self.max_seconds))


@dataclass(frozen=True)
class SignedIn:
    user_id: str
    role: str
    token: str
    seconds: int  # how long the token lasts


def sign_in(
    engine: Engine,
    *,
    key: str,
    username: str,
    password: str,
    address: str,
    throttle: Throttle,
    minutes: int,
    now: datetime | None = None,
) -> SignedIn:
    """A new session and its token, if the password is right and the account is not disabled.

    Refuses with TooManySignIns (before any hashing) while the back-off holds for the account or the
    client address, else with AuthError on a wrong name or password (one scrypt hash either way)."""
    now = now or datetime.now(UTC)
    account = _throttle_key(key, "account", username.lower())
    client = _throttle_key(key, "address", address)
    _reserve(engine, client, throttle.address_free_failures, throttle, now)
    try:
        _reserve(engine, account, throttle.free_failures, throttle, now)
    except TooManySignIns:
        _release(engine, client)  # not a password tried: the address's count stays as it was
        raise
    with engine.connect() as conn:
        row = conn.execute(
            select(t.users.c.user_id, t.users.c.password_hash, t.users.c.disabled, t.users.c.role).where(
                t.users.c.username == username
            )
        ).first()
    right = check_password(password, row.password_hash if row is not None else DUMMY_HASH)
    if row is None or not right or row.disabled:
        raise AuthError("wrong username or password")  # the tries stay counted as failures
    session_id = secrets.token_urlsafe(24)
    with engine.begin() as conn:
        conn.execute(delete(t.sign_in_failures).where(t.sign_in_failures.c.key_hash == account))
        _release(engine, client, conn)
        conn.execute(
            insert(t.sessions).values(
                session_id=session_id,
                user_id=row.user_id,
                created_at=now,
                expires_at=now + timedelta(minutes=minutes),
            )
        )
        conn.execute(delete(t.sessions).where(t.sessions.c.expires_at < now))  # signed out by time
        forgotten = now - timedelta(seconds=throttle.forget_seconds)
        conn.execute(
            delete(t.sign_in_failures).where(
                t.sign_in_failures.c.last_failure_at < forgotten, t.sign_in_failures.c.blocked_until < now
            )
        )
    token = issue_token(key, str(row.user_id), str(row.role), minutes, now=now, session_id=session_id)
    return SignedIn(str(row.user_id), str(row.role), token, minutes * 60)


def _throttle_key(key: str, kind: str, value: str) -> str:
    """A keyed hash of what is throttled (no username or address is stored as such)."""
    return hmac.new(key.encode(), f"sign-in:{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def _reserve(engine: Engine, key_hash: str, free: int, throttle: Throttle, now: datetime) -> None:
    """Count this try as a failure now, before the password is checked (a success takes it back), or
    refuse it while the back-off holds. Compare-and-set on the row, so replicas and threads counting
    at the same moment each count once."""
    f = t.sign_in_failures
    for _ in range(20):
        with engine.connect() as conn:
            row = conn.execute(
                select(f.c.failures, f.c.last_failure_at, f.c.blocked_until).where(f.c.key_hash == key_hash)
            ).first()
            if row is not None and row.blocked_until > now:
                raise TooManySignIns(
                    (row.blocked_until - now).total_seconds(),
                    "too many failed sign-ins; wait before trying again",
                    "登录失败次数过多，请稍后再试",
                )
            forgotten = now - timedelta(seconds=throttle.forget_seconds)  # a count this old starts again
            failures = 1 if row is None or row.last_failure_at < forgotten else row.failures + 1
            values = {"failures": failures, "last_failure_at": now,
                      "blocked_until": now + throttle.wait(failures, free)}  # fmt: skip
            try:
                if row is None:
                    conn.execute(insert(f).values(key_hash=key_hash, **values))
                    counted = True
                else:
                    counted = (
                        conn.execute(
                            update(f)
                            .where(
                                f.c.key_hash == key_hash,
                                f.c.failures == row.failures,
                                f.c.last_failure_at == row.last_failure_at,
                            )
                            .values(**values)
                        ).rowcount
                        == 1
                    )
                conn.commit()
            except IntegrityError:  # another sign-in made the row first: read it again
                conn.rollback()
                continue
            if counted:
                return
    raise _busy()  # twenty others counted first: a crowd, not this account's failures


def _busy() -> TooManySignIns:
    return TooManySignIns(1, "too many sign-ins at once; try again", "同时登录的人太多，请稍后再试")


def _release(engine: Engine, key_hash: str, conn: Connection | None = None) -> None:
    """Take back a try counted by `_reserve` that turned out not to be a failure."""
    f = t.sign_in_failures
    statement = update(f).where(f.c.key_hash == key_hash, f.c.failures > 0).values(failures=f.c.failures - 1)
    if conn is not None:
        conn.execute(statement)
        return
    with engine.begin() as own:
        own.execute(statement)


def issue_token(
    key: str, user_id: str, role: str, minutes: int, now: datetime | None = None, *, session_id: str
) -> str:
    """A signed token for a session `sign_in` opened (its `sid`: the token works while the row exists)."""
    now = now or datetime.now(UTC)
    claims = {
        "sub": user_id,
        "sid": session_id,
        "role": role,
        "iss": ISSUER,
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
    }
    return jwt.encode(claims, key, algorithm="HS256")


class Claims(NamedTuple):
    """What a valid token says: the account and its session (still to be checked: `check_session`)."""

    user_id: str
    session_id: str


_VERIFIED: dict[tuple[str, str], tuple[Claims, float]] = {}  # (key, token) -> (claims, expiry)


def token_claims(key: str, token: str) -> Claims:
    """The account and session a token was issued for, if the token is ours, unexpired and well
    formed. A token verified once is remembered until it expires (its claims cannot change; PyJWT's
    checks cost more than the rest of a busy route's work); whether its session is still open is
    for `check_session`, on every request."""
    hit = _VERIFIED.get((key, token))
    if hit is not None and time.time() < hit[1]:
        return hit[0]
    try:
        claims = jwt.decode(
            token, key, algorithms=["HS256"], issuer=ISSUER, options={"require": ["exp", "sub", "iss", "sid"]}
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("the token has expired; sign in again") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid token: {exc}") from None
    if len(_VERIFIED) > 100_000:
        _VERIFIED.clear()
    found = Claims(str(claims["sub"]), str(claims["sid"]))
    _VERIFIED[(key, token)] = (found, float(claims["exp"]))
    return found


SESSION = Read("SELECT user_id FROM sessions WHERE session_id = :session_id")


def check_session(engine: Engine, claims: Claims, read: Reader | None = None) -> None:
    """The token's session is still open (one primary-key read, on every request: a signed-out
    session ends at once on every replica). `read`: a reader the caller holds already."""
    if read is None:
        with reader(engine) as own:
            row = own.first(SESSION, session_id=claims.session_id)
    else:
        row = read.first(SESSION, session_id=claims.session_id)
    if row is None or row[0] != claims.user_id:
        raise AuthError("signed out: this session has ended; sign in again")


def principal_of(
    engine: Engine, cache: PrincipalCache, claims: Claims, read: Reader | None = None
) -> Principal:
    """The signed-in account of a verified token: its session checked in the database (every time),
    the account and its scopes from the per-process cache."""
    check_session(engine, claims, read)
    return cache.get(engine, claims.user_id, read)


def sign_out(engine: Engine, *, session_id: str) -> None:
    """End a session: its token stops working at once, on every replica."""
    with engine.begin() as conn:
        conn.execute(delete(t.sessions).where(t.sessions.c.session_id == session_id))


PRINCIPAL = Read(
    select(
        t.users.c.user_id, t.users.c.username, t.users.c.role, t.users.c.disabled, t.user_scopes.c.kind,
        t.user_scopes.c.ref_id, t.user_scopes.c.subject,
    )
    .outerjoin(t.user_scopes, t.user_scopes.c.user_id == t.users.c.user_id)
    .where(t.users.c.user_id == bindparam("user_id"))
)  # fmt: skip


def load_principal(engine: Engine, user_id: str, read: Reader | None = None) -> Principal:
    """The account and its scopes, in one query (on `read`, a reader the caller holds, if given)."""
    if read is None:
        with reader(engine) as own:
            rows = own.all(PRINCIPAL, user_id=user_id)
    else:
        rows = read.all(PRINCIPAL, user_id=user_id)
    if not rows or rows[0][3]:
        raise AuthError("the account no longer exists or is disabled")
    scopes = [(kind, ref_id, subject) for *_, kind, ref_id, subject in rows if kind is not None]
    classes: dict[str, set[str]] = {}
    for kind, ref_id, subject in scopes:
        if kind == "class":
            classes.setdefault(ref_id, set()).add(subject)
    user_id, username, role = rows[0][:3]
    return Principal(
        user_id,
        username,
        role,
        frozenset(r for k, r, _ in scopes if k == "student"),
        {c: frozenset(s) for c, s in classes.items()},
        frozenset(r for k, r, _ in scopes if k == "school"),
        frozenset(r for k, r, _ in scopes if k == "district"),
    )


class SignInPool:
    """Where sign-ins run: a few threads of their own (scrypt takes a CPU for a tenth of a second or
    more), so sign-ins never hold the server's general worker threads that `/healthz` and a student's
    evening need. `threads` hash at once and `queue` more may wait; past that, TooManySignIns at once."""

    def __init__(self, threads: int = 2, queue: int = 16) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="jianfu-sign-in")
        self._slots = threading.BoundedSemaphore(threads + queue)

    async def run(self, work: Callable[[], R]) -> R:
        if not self._slots.acquire(blocking=False):
            raise _busy()
        try:
            future = self._pool.submit(work)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())  # also when the caller went away
        return await asyncio.wrap_future(future)


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

    def get(self, engine: Engine, user_id: str, read: Reader | None = None) -> Principal:
        """The account, from the cache or read again (on `read` if given: tonight's reads take no
        connection from the pool the writers hold)."""
        found = self.fresh(user_id)
        if found is not None:
            return found
        now = time.monotonic()
        found = load_principal(engine, user_id, read)
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
        "districts": sorted(principal.districts),
    }
