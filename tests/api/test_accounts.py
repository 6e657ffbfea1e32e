"""Accounts and sign-in: a verified token is remembered only until it expires and only for its key,
accounts are refused with reasons, and an account's scopes are kept a few seconds and forgotten on
erasure."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine

from service.auth import create_user
from service.store import tables as t
from service.store.db import make_engine
from tests.api.conftest import PASSWORD


def test_a_verified_token_is_remembered_only_until_it_expires_and_only_for_its_key() -> None:
    from datetime import UTC, datetime, timedelta

    from service.auth import AuthError, Claims, issue_token, token_claims

    key = "s" * 40
    token = issue_token(
        key, "u-1", "student", 1, now=datetime.now(UTC) - timedelta(seconds=58), session_id="s-1"
    )
    assert (
        token_claims(key, token) == Claims("u-1", "s-1") == token_claims(key, token)
    )  # the second from memory
    with pytest.raises(AuthError, match="invalid token"):
        token_claims("t" * 40, token)  # remembered for its key, not for any key
    time.sleep(3.1)  # the token expired one second ago
    with pytest.raises(AuthError, match="expired"):
        token_claims(key, token)


def test_accounts_are_refused_with_reasons() -> None:
    from service.auth import AccountError, check_password, hash_password

    stored = hash_password("a-long-secret")
    assert check_password("a-long-secret", stored) and not check_password("a-long-secreT", stored)
    assert "a-long-secret" not in stored
    with pytest.raises(AccountError, match="role"):
        create_user(make_engine("sqlite://"), "x", PASSWORD, "principal")


def test_accounts_are_kept_a_few_seconds_and_forgotten_on_erasure(school: Engine) -> None:
    from sqlalchemy import delete

    from service.auth import PrincipalCache

    user = create_user(school, "t-cache", PASSWORD, "teacher", scopes=[("class", "east-5-1", "math")])
    kept, fresh = PrincipalCache(seconds=60), PrincipalCache(seconds=0)
    assert kept.get(school, user).teaches("east-5-1", "math") and fresh.get(school, user).teaches("east-5-1")
    with school.begin() as conn:
        conn.execute(delete(t.user_scopes).where(t.user_scopes.c.user_id == user))
    assert kept.get(school, user).teaches("east-5-1")  # within its seconds: as read
    assert not fresh.get(school, user).teaches("east-5-1")  # read again: the scope is gone
    kept.forget()
    assert not kept.get(school, user).teaches("east-5-1")
