"""Migrations run once, however many processes start at the same moment: several processes (and
several threads) upgrading one empty database at once, on SQLite and on PostgreSQL, end with exactly
one having applied the migrations and the others finding the schema current, without an error;
`jianfu db upgrade` twice is idempotent; a service starting on a current schema does not wait for
the migration lock."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from typer.testing import CliRunner

from jianfu.cli import app
from service.store.db import (
    MIGRATION_LOCK_KEY,
    Upgrade,
    current_revision,
    ensure_schema,
    head_revision,
    make_engine,
    upgrade,
)
from service.store.tables import metadata
from tests.conftest import ROOT, fresh_postgres_database

# Every revision in the migrations folder, in order (each file is named by its revision).
ALL = tuple(
    sorted(
        p.name[:4]
        for p in (Path(__file__).resolve().parent.parent / "service/store/migrations/versions").glob(
            "[0-9]*.py"
        )
    )
)
WORKERS = 4
WORKER = """
import json, sys
from service.store.db import make_engine, upgrade
engine = make_engine(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()  # everyone starts together
done = upgrade(engine)
print(json.dumps({"before": done.before, "after": done.after, "applied": list(done.applied)}), flush=True)
"""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (no schema yet): a SQLite file already in WAL mode, or a new PostgreSQL
    database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
        engine = make_engine(url)
        with engine.connect():  # the connect pragmas switch the file to WAL once
            pass
        engine.dispose()
        return url
    return fresh_postgres_database(request.getfixturevalue("postgres_server"))


@contextmanager
def migration_lock_held(url: str) -> Iterator[Callable[[], int | None]]:
    """Hold the migration lock from outside (as a replica in the middle of migrating would). Yields
    a function answering how many sessions wait for the lock (PostgreSQL; None on SQLite, which
    cannot say)."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield lambda: None
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        conn.commit()

        def waiting() -> int | None:
            with engine.connect() as probe:
                return int(
                    probe.execute(
                        text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                    ).scalar_one()
                )

        try:
            yield waiting
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            conn.commit()
    engine.dispose()


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _schema_is_complete(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision() == ALL[-1]
            assert set(metadata.tables) <= set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _exactly_one_applied(results: list[Upgrade]) -> None:
    appliers = [r for r in results if r.applied]
    assert len(appliers) == 1, results
    assert appliers[0] == Upgrade(None, ALL[-1], ALL)
    assert all(r == Upgrade(ALL[-1], ALL[-1], ()) for r in results if r is not appliers[0]), results


def test_processes_starting_at_once_migrate_once(empty_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, empty_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for _ in range(WORKERS)
    ]
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        with migration_lock_held(empty_url) as waiting:
            for p in procs:  # all go at once, into a lock someone else holds
                assert p.stdin is not None
                p.stdin.write("go\n")
                p.stdin.flush()
            if waiting() is None:
                time.sleep(1.5)  # SQLite cannot list who waits: give them time to reach the lock
            else:
                assert _wait_for(lambda: waiting() == WORKERS, 60), f"{waiting()} of {WORKERS} wait"
            assert all(p.poll() is None for p in procs), "a worker did not wait for the lock"
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    results = []
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        assert "Traceback" not in err and "Error" not in err, err
        answer = json.loads(out)
        results.append(Upgrade(answer["before"], answer["after"], tuple(answer["applied"])))
    _exactly_one_applied(results)
    _schema_is_complete(empty_url)


def test_threads_starting_at_once_migrate_once(empty_url: str) -> None:
    engine = make_engine(empty_url)
    barrier = threading.Barrier(WORKERS)
    results: list[Upgrade] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            barrier.wait(30)
            results.append(upgrade(engine))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(WORKERS)]
    try:
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
    finally:
        engine.dispose()
    assert not errors, errors
    assert len(results) == WORKERS
    _exactly_one_applied(results)
    _schema_is_complete(empty_url)


def test_jianfu_db_upgrade_twice_is_idempotent(empty_url: str, runner: CliRunner) -> None:
    first = runner.invoke(app, ["db", "upgrade", "--database", empty_url])
    assert first.exit_code == 0, first.output
    assert f"applied {', '.join(ALL)} (from an empty database)" in first.output
    second = runner.invoke(app, ["db", "upgrade", "--database", empty_url])
    assert second.exit_code == 0, second.output
    assert f"schema already current ({ALL[-1]})" in second.output
    assert "applied" not in second.output
    _schema_is_complete(empty_url)


def test_a_start_on_a_current_schema_does_not_wait_for_the_lock(empty_url: str) -> None:
    engine: Engine = make_engine(empty_url)
    try:
        assert ensure_schema(engine) == Upgrade(None, ALL[-1], ALL)  # behind: migrated
        with migration_lock_held(empty_url):  # someone holds the lock (SQLite would wait 30 s)
            started = time.monotonic()
            assert ensure_schema(engine) == Upgrade(ALL[-1], ALL[-1], ())
            assert time.monotonic() - started < 10
    finally:
        engine.dispose()
