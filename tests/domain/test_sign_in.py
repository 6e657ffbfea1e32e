"""Signing in, the domain function on SQLite and PostgreSQL, with a clock of the test's own: the back-off
per account and per address (counted before the password is checked, so tries at once cannot slip
through together), a success resets it, no username is stored, an unknown username costs the same
one scrypt hash as a known one, sessions end at sign-out and old rows go, and the sign-in pool
refuses at once when it is full."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select

from service import auth
from service.auth import AuthError, Throttle, TooManySignIns, create_user, sign_in
from service.store import tables as t

KEY = "k" * 40
PASSWORD = "right-password-1"
T0 = datetime(2026, 11, 10, 19, 0, tzinfo=UTC)
RULES = Throttle(
    free_failures=5, address_free_failures=30, base_seconds=1, max_seconds=60, forget_seconds=3600
)


def _try(
    engine: Engine, username: str, password: str, now: datetime, address: str = "10.0.0.1", **kw: Any
) -> str:
    """'ok', 'wrong' or 'wait <seconds>'."""
    try:
        sign_in(engine, key=KEY, username=username, password=password, address=address,
                throttle=kw.get("throttle", RULES), minutes=60, now=now)  # fmt: skip
    except TooManySignIns as exc:
        return f"wait {exc.retry_after}"
    except AuthError:
        return "wrong"
    return "ok"


@pytest.fixture
def cheap_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Password checks without scrypt's cost (the back-off's arithmetic is what these tests are about)."""
    monkeypatch.setattr(auth, "check_password", lambda password, stored: password == PASSWORD)


def test_200_wrong_passwords_back_off_exponentially_then_the_right_one_works_and_resets(
    engine: Engine, cheap_hash: None
) -> None:
    create_user(engine, "Parent-1", PASSWORD, "parent")
    now, answers = T0, []
    for _ in range(200):  # a try every 0.5 s: most of them inside a back-off
        answers.append(_try(engine, "parent-1" if len(answers) % 2 else "Parent-1", "guess", now))
        now += timedelta(seconds=0.5)
    assert answers[:6] == ["wrong"] * 6  # five failures cost nothing; then 1 s, 2 s, 4 s ... up to 60
    after_each = [answers[i + 1] for i in range(5, 199) if answers[i] == "wrong"]
    assert after_each == ["wait 1", "wait 2", "wait 4", "wait 8", "wait 16", "wait 32", "wait 60"]
    assert answers.count("wrong") == 12  # of 200 guesses in 100 s, 12 were checked
    assert answers[-1].startswith("wait ")
    assert _try(engine, "Parent-1", PASSWORD, now).startswith("wait ")  # even the right one waits
    now += timedelta(seconds=61)
    assert _try(engine, "Parent-1", PASSWORD, now) == "ok"
    assert [_try(engine, "Parent-1", "guess", now) for _ in range(5)] == ["wrong"] * 5  # the count was reset


def test_one_address_trying_many_names_is_held_back_and_no_name_is_stored(
    engine: Engine, cheap_hash: None
) -> None:
    create_user(engine, "student-7", PASSWORD, "student")
    answers = [_try(engine, f"no-such-user-{i}", "guess", T0) for i in range(31)]
    assert answers == ["wrong"] * 31  # thirty failures from one address cost nothing; the 31st: 1 s
    assert _try(engine, "student-7", PASSWORD, T0) == "wait 1"  # the address, whoever it names
    assert _try(engine, "student-7", PASSWORD, T0, address="10.0.0.2") == "ok"  # another address is not
    with engine.connect() as conn:
        keys = [str(k) for k in conn.execute(select(t.sign_in_failures.c.key_hash)).scalars()]
    assert len(keys) == 31 + 2 and all(
        len(k) == 64 and int(k, 16) >= 0 for k in keys
    )  # 31 names, 2 addresses
    assert not any("user" in k or "10.0.0" in k for k in keys)


def test_tries_at_once_beyond_the_free_ones_get_one_check_per_back_off(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight tries at the same moment (threads, as replicas would): the count is taken before the
    password is checked, so one is checked and seven wait."""
    create_user(engine, "teacher-1", PASSWORD, "teacher")
    started = threading.Barrier(8)

    def slow_check(password: str, stored: str) -> bool:
        threading.Event().wait(0.2)  # a hash's time, while the others arrive
        return password == PASSWORD

    monkeypatch.setattr(auth, "check_password", slow_check)
    no_free = Throttle(free_failures=0, address_free_failures=100, base_seconds=5, max_seconds=60)

    def one(i: int) -> str:
        started.wait()
        return _try(engine, "teacher-1", "guess", T0, address=f"10.0.1.{i}", throttle=no_free)

    with ThreadPoolExecutor(8) as pool:
        answers = sorted(pool.map(one, range(8)))
    assert answers == ["wait 5"] * 7 + ["wrong"]


def test_an_unknown_username_costs_exactly_the_one_hash_a_known_one_does(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_user(engine, "known", PASSWORD, "student")
    calls: list[int] = []
    real = hashlib.scrypt

    def counted(*args: Any, **kwargs: Any) -> bytes:
        calls.append(kwargs.get("n", 0))
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counted)
    assert _try(engine, "known", "guess", T0) == "wrong"
    known = list(calls)
    calls.clear()
    assert _try(engine, "unknown", "guess", T0, address="10.0.0.9") == "wrong"
    assert calls == known == [2**14]  # one hash each, with the same cost


def test_a_session_ends_at_sign_out_and_expired_ones_go_at_a_later_sign_in(engine: Engine) -> None:
    from service.auth import Claims, PrincipalCache, check_session, principal_of, sign_out, token_claims

    user = create_user(engine, "head-1", PASSWORD, "head_teacher")
    with engine.begin() as conn:
        conn.execute(insert(t.sessions).values(session_id="old", user_id=user, created_at=T0 - timedelta(hours=3),
                                               expires_at=T0 - timedelta(hours=2)))  # fmt: skip
    done = sign_in(
        engine, key=KEY, username="head-1", password=PASSWORD, address="a", throttle=RULES, minutes=60
    )
    claims = token_claims(KEY, done.token)
    assert principal_of(engine, PrincipalCache(), claims).user_id == user
    with engine.connect() as conn:
        assert list(conn.execute(select(t.sessions.c.session_id)).scalars()) == [claims.session_id]
    with pytest.raises(AuthError, match="session"):
        check_session(engine, Claims("usr-someone-else", claims.session_id))  # a session is its account's
    sign_out(engine, session_id=claims.session_id)
    with pytest.raises(AuthError, match="signed out"):
        principal_of(engine, PrincipalCache(), claims)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.sessions)).scalar_one() == 0


def test_a_full_sign_in_pool_refuses_at_once() -> None:
    pool = auth.SignInPool(threads=1, queue=1)
    release = threading.Event()
    names: list[str] = []

    def hold() -> str:
        names.append(threading.current_thread().name)
        release.wait(30)
        return "done"

    async def scenario() -> list[str]:
        first = asyncio.ensure_future(pool.run(hold))  # hashing
        second = asyncio.ensure_future(pool.run(hold))  # waiting in the queue
        await asyncio.sleep(0.05)
        with pytest.raises(TooManySignIns) as refused:
            await asyncio.wait_for(pool.run(hold), timeout=5)  # at once, not after the others
        assert refused.value.retry_after >= 1
        release.set()
        return list(await asyncio.gather(first, second))

    assert asyncio.run(scenario()) == ["done", "done"]
    assert names and all(n.startswith("jianfu-sign-in") for n in names)  # its own threads
    assert asyncio.run(pool.run(lambda: "again")) == "again"  # the slots came back
