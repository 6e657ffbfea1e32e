"""Engines, write transactions and migrations. SQLite gets WAL, foreign keys and a busy timeout on
every connection.

Writers begin with `writing(engine)`: on SQLite that takes the database's one write lock at the
start (`BEGIN IMMEDIATE`), waiting up to the busy timeout, and if another writer still holds it
(`database is locked`) waits again, a bounded number of times, before giving up; nothing of the
transaction has run yet, so a retry repeats nothing. On PostgreSQL it is a plain transaction.
No engine puts a statement's parameters into an error or a log line (hide_parameters).

Migrations run once however many processes start at the same moment (several replicas, several
uvicorn workers, `jianfu db upgrade` beside a starting service): `upgrade` takes a lock first, reads
the schema's revision under it, and migrates in the same transaction only if the schema is behind.
PostgreSQL: a transaction-level advisory lock (`pg_advisory_xact_lock(MIGRATION_LOCK_KEY)`; its DDL
is transactional, so a failed upgrade leaves nothing half done). SQLite: `BEGIN IMMEDIATE`, the
database's one write lock (waiting up to the busy timeout). Whoever comes second waits, then finds
the schema current and does nothing. The service's start calls `ensure_schema`, which reads the
revision without the lock first, so replicas starting on a current schema do not queue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

if TYPE_CHECKING:  # Alembic is imported where migrations run: an import's process never needs it
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK_KEY = int.from_bytes(b"jianfu", "big")  # the advisory lock's key on PostgreSQL
JOBS_LOCK_KEY = int.from_bytes(b"jobs", "big")  # starting a job: one at a time (service.store.jobs)
BUSY_TIMEOUT_SECONDS = 15.0  # SQLite: how long one attempt waits for the write lock
WRITE_ATTEMPTS = 4  # SQLite: attempts to take the write lock before a writer gives up
log = logging.getLogger("jianfu.store")


def make_engine(url: str, *, cache_mb: int = 32, **kwargs: Any) -> Engine:
    """An engine for `url`. SQLite: WAL, foreign keys, a page cache of `cache_mb` per connection (bulk
    imports touch big indexes), and a busy timeout of BUSY_TIMEOUT_SECONDS unless
    `connect_args={"timeout": seconds}` gives another (a test's short wait). Its errors and logs
    never carry a statement's parameters (students' ids, items, right or wrong): hide_parameters, always."""
    kwargs["hide_parameters"] = True
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if parsed.get_backend_name() == "sqlite":
        private_sqlite_file(url)
        connect_args = dict(kwargs.pop("connect_args", {}))
        busy_ms = int(float(connect_args.pop("timeout", BUSY_TIMEOUT_SECONDS)) * 1000)
        engine = create_engine(url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            cursor.execute(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")  # in KiB
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def private_sqlite_file(url: str) -> None:
    """If `url` names a SQLite file: its folder exists and the file exists readable by its owner only
    (0600; it holds minors' records). Made before SQLite opens it, since SQLite creates a file with the
    process's umask (0644 as a rule); SQLite gives its -wal and -shm files the database file's mode.
    A database already there with wider permissions and of this user is narrowed."""
    import os
    import stat

    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return
    if database.startswith("file:"):
        return  # a URI filename: its options are SQLite's business
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        info = path.stat()
        if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
            path.chmod(stat.S_IMODE(info.st_mode) & 0o700)


def is_locked(exc: BaseException) -> bool:
    """SQLite's answer when another connection holds the write lock past the busy timeout."""
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def begin_writing(conn: Connection, attempts: int = WRITE_ATTEMPTS) -> None:
    """Open conn's transaction as a writer. SQLite: take the write lock now (`BEGIN IMMEDIATE`), each
    attempt waiting up to the busy timeout, at most `attempts` times; then `database is locked` is
    raised. Nothing else has run in the transaction yet, so trying again repeats nothing."""
    if conn.dialect.name != "sqlite":
        conn.begin()
        return
    for attempt in range(1, attempts + 1):
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # pysqlite leaves BEGIN to us: this one write-locks
            return
        except OperationalError as exc:
            conn.rollback()
            if not is_locked(exc) or attempt == attempts:
                raise
            log.warning("the database is locked by another writer; waiting again (%d/%d)", attempt, attempts)
            time.sleep(0.05 * attempt)


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction (committed at the end, rolled back on an error), begun by begin_writing:
    the one way the service's writers start, so none of them answers `database is locked` while
    another writer merely holds the lock for a while."""
    with engine.connect() as conn:
        begin_writing(conn)
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def serialise(conn: Connection, key: int) -> None:
    """Take a lock named `key` for the rest of conn's transaction (opening it), across processes and
    replicas: PostgreSQL's transaction-level advisory lock; SQLite's one write lock."""
    if conn.dialect.name == "sqlite":
        begin_writing(conn)
    elif conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    # other databases are not supported; they run unlocked


def lock_key(*parts: object) -> int:
    """A lock's key (a signed 64-bit integer, as PostgreSQL's advisory locks take) naming `parts`,
    e.g. a class, a subject and a night: the same parts give the same key in every process."""
    import hashlib

    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def hold_lock(conn: Connection, key: int) -> None:
    """Inside a transaction begun by `writing`: hold the lock named `key` until it ends. PostgreSQL:
    a transaction-level advisory lock (whoever asks second waits for the first to commit or roll
    back); SQLite: nothing more to take, the transaction holds the database's one write lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def alembic_config(engine: Engine, connection: Connection | None = None) -> Config:
    """Alembic's configuration for this project's migrations on `engine`; with `connection`, the
    migrations run on that connection, inside its transaction (see migrations/env.py)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@dataclass(frozen=True)
class Upgrade:
    """What an upgrade found and did: the revision before and after, and the revisions it applied
    (oldest first; empty when the schema was already current)."""

    before: str | None
    after: str | None
    applied: tuple[str, ...]


def head_revision() -> str | None:
    """The newest revision of the migrations shipped with this code."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(conn: Connection) -> str | None:
    """The revision the database's schema is at (None: no schema yet)."""
    from alembic.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> Upgrade:
    """Bring the database's schema up to `revision` under the migration lock (idempotent: a schema
    already there is left alone, and concurrent callers serialise; see the module docstring)."""
    from alembic import command
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    with engine.connect() as conn:
        serialise(conn, MIGRATION_LOCK_KEY)
        before = current_revision(conn)
        target = script.get_revision(revision)
        if target is not None and before == target.revision:
            conn.rollback()  # releases the lock
            return Upgrade(before, before, ())
        command.upgrade(alembic_config(engine, conn), revision)
        after = current_revision(conn)
        conn.commit()
    applied = () if after == before else _between(script, before, after)
    if applied:
        log.info("database schema upgraded from %s to %s: %s", before, after, ", ".join(applied))
    return Upgrade(before, after, applied)


def _between(script: ScriptDirectory, before: str | None, after: str | None) -> tuple[str, ...]:
    """The revisions after `before` up to and including `after`, oldest first."""
    if after is None:
        return ()
    newest_first = [s.revision for s in script.iterate_revisions(after, before or "base")]
    return tuple(reversed(newest_first))


def ensure_schema(engine: Engine) -> Upgrade:
    """At the service's start: nothing if the schema is at head (read without the lock, so replicas
    starting on a current schema do not queue), else `upgrade` to head under the lock (which reads
    the revision again: another replica may have just done it)."""
    with engine.connect() as conn:
        before = current_revision(conn)
    if before == head_revision():
        return Upgrade(before, before, ())
    return upgrade(engine)
