"""Hot reads as plain SQL on the driver's cursor.

SQLAlchemy Core spends about 100 µs of Python on each statement it builds and runs (the expression,
its cache key, the execution context, the result object); the driver itself answers an indexed read
from SQLite in a few µs. The routes that every student's app calls every evening (the signed-in
account's object checks, tonight's work) read through `reader(engine)` instead: each `Read` is one
SQL text with `:named` parameters, compiled once per dialect by SQLAlchemy (so the same text runs
on SQLite and PostgreSQL) and then executed on the pooled DBAPI connection. Reads only: everything
that writes goes through SQLAlchemy and its transactions.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from sqlalchemy import ClauseElement, Engine, text


class Read:
    """One SELECT, prepared per dialect on first use: SQL text, or a Core statement whose
    parameters are named `bindparam`s (so the same join serves Core and the driver)."""

    def __init__(self, sql: str | ClauseElement) -> None:
        self.statement = text(" ".join(sql.split())) if isinstance(sql, str) else sql
        self._prepared: dict[str, tuple[str, tuple[str, ...] | None]] = {}
        self._lock = threading.Lock()

    def prepared(self, engine: Engine) -> tuple[str, tuple[str, ...] | None]:
        """The dialect's SQL and, for a positional paramstyle (SQLite's '?'), the parameters' order."""
        name = engine.dialect.name
        found = self._prepared.get(name)
        if found is None:
            compiled = self.statement.compile(dialect=engine.dialect)
            order = tuple(getattr(compiled, "positiontup", None) or ()) if engine.dialect.positional else None
            found = (str(compiled), order)
            with self._lock:
                self._prepared[name] = found
        return found


class Reader:
    """Runs `Read`s on one pooled connection."""

    def __init__(self, engine: Engine, cursor: Any) -> None:
        self._engine, self._cursor = engine, cursor
        self._sqlite = engine.dialect.name == "sqlite"

    def all(self, read: Read, **params: Any) -> list[tuple[Any, ...]]:
        sql, order = read.prepared(self._engine)
        if self._sqlite:  # SQLAlchemy keeps dates in SQLite as ISO text; say so rather than rely on sqlite3's
            params = {k: v.isoformat() if isinstance(v, date) else v for k, v in params.items()}
        self._cursor.execute(sql, tuple(params[k] for k in order) if order is not None else params)
        rows: list[tuple[Any, ...]] = self._cursor.fetchall()
        return rows

    def first(self, read: Read, **params: Any) -> tuple[Any, ...] | None:
        rows = self.all(read, **params)
        return rows[0] if rows else None


@contextmanager
def reader(engine: Engine) -> Iterator[Reader]:
    """A reader on a connection from the engine's pool, given back (rolled back: reads only) after."""
    connection = engine.raw_connection()
    cursor = connection.cursor()
    try:
        yield Reader(engine, cursor)
    finally:
        cursor.close()
        connection.close()
