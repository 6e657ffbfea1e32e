"""Engines and migrations. SQLite gets WAL, foreign keys and a busy timeout on every connection;
no engine puts a statement's parameters into an error or a log line (hide_parameters).

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK_KEY = int.from_bytes(b"jianfu", "big")  # the advisory lock's key on PostgreSQL
log = logging.getLogger("jianfu.store")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`. Its errors and logs never carry a statement's parameters (students' ids,
    items, right or wrong): hide_parameters, always."""
    kwargs["hide_parameters"] = True
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute(
                "PRAGMA cache_size=-131072"
            )  # 128 MB of page cache: bulk imports touch big indexes
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def alembic_config(engine: Engine, connection: Connection | None = None) -> Config:
    """Alembic's configuration for this project's migrations on `engine`; with `connection`, the
    migrations run on that connection, inside its transaction (see migrations/env.py)."""
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
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(conn: Connection) -> str | None:
    """The revision the database's schema is at (None: no schema yet)."""
    return MigrationContext.configure(conn).get_current_revision()


def _lock(conn: Connection) -> None:
    """Take the migration lock for the rest of conn's transaction (opening it)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # pysqlite leaves BEGIN to us: this one writes-locks
    elif conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    # other databases are not supported; they migrate unlocked


def upgrade(engine: Engine, revision: str = "head") -> Upgrade:
    """Bring the database's schema up to `revision` under the migration lock (idempotent: a schema
    already there is left alone, and concurrent callers serialise; see the module docstring)."""
    script = ScriptDirectory(str(MIGRATIONS))
    with engine.connect() as conn:
        _lock(conn)
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
