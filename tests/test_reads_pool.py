"""A student's tonight reads on connections of their own (service.runtime `read_engine`): the account
check on that route takes nothing from the pool the writers use. On SQLite, answers waiting for the
write lock during a long import hold every connection of that pool; a tonight that needed one
waited until the import committed (seconds), every few seconds when the account cache expired."""

from __future__ import annotations

from pathlib import Path

from service.auth import PrincipalCache, Throttle, create_user, principal_of, sign_in, token_claims
from service.store.db import make_engine, upgrade
from service.store.reads import reader

KEY = "r" * 40


def test_the_account_check_on_a_reader_takes_no_connection_from_the_writers_pool(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'school.db'}"
    writers = make_engine(url, pool_size=1, max_overflow=0, pool_timeout=1)
    upgrade(writers)
    create_user(writers, "parent-1", "a-long-password-1", "parent")
    signed = sign_in(writers, key=KEY, username="parent-1", password="a-long-password-1", address="127.0.0.1",
                     throttle=Throttle(), minutes=30)  # fmt: skip
    claims = token_claims(KEY, signed.token)
    readers = make_engine(url)
    held = writers.connect()  # the writers' pool is empty: a writer waits for the lock with it
    try:
        with reader(readers) as read:
            # A fresh cache: the account itself is read, as every few seconds in a serving process.
            who = principal_of(writers, PrincipalCache(), claims, read=read)
        assert who.user_id == signed.user_id and who.role == "parent"
    finally:
        held.close()
        readers.dispose()
        writers.dispose()
