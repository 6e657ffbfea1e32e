"""What a log line may hold: never answer data (a student's id, an item, right or wrong).

Logs outlive a guardian's deletion, which cannot reach them. So a logged exception shows its kind
and where it was raised (the traceback's frames), never its message: messages carry the values
they failed on. A database error's names the row (PostgreSQL's DETAIL: `Key (student_id, night)=(…)
already exists`; SQLAlchemy adds the statement's parameters unless the engine hides them, which
service.store.db does), a lookup's names its key, a validation error's its input. What identifies
a database failure without data stays: the SQL (placeholders only), SQLSTATE or SQLite's error
name, and the constraint, table and column. An operating-system error keeps its errno and reason
(not the file name).
"""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

from sqlalchemy.exc import StatementError

_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"
MAX_SQL = 2000


def safe_traceback(exc: BaseException) -> str:
    """The exception and those it was raised from, as Python prints them, with every message
    replaced by what says which failure it was without the data (see the module's docstring)."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    parts: list[str] = []
    for error, link in reversed(chain):  # the first cause first, as Python prints them
        if error.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_tb(error.__traceback__))
        parts.append(describe(error) + "\n")
        parts.append(link)
    return "".join(parts).rstrip("\n")


def describe(error: BaseException) -> str:
    """`module.Type: facts`, with only the facts that hold no data."""
    kind = type(error)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    facts: list[str] = []
    if isinstance(error, StatementError):
        if error.statement:
            facts.append(f"[SQL: {error.statement[:MAX_SQL]}]")
        if error.orig is not None:
            facts.append(f"(from {describe(error.orig)})")
    elif isinstance(error, OSError) and error.errno is not None:
        facts.append(f"[Errno {error.errno}] {error.strerror}")
    else:
        diag = getattr(error, "diag", None)  # psycopg
        for label, value in (
            ("sqlstate", getattr(error, "sqlstate", None)),
            ("sqlite", getattr(error, "sqlite_errorname", None)),
            ("constraint", getattr(diag, "constraint_name", None)),
            ("table", getattr(diag, "table_name", None)),
            ("column", getattr(diag, "column_name", None)),
        ):
            if isinstance(value, str) and value:
                facts.append(f"{label}={value}")
    return f"{name}: {' '.join(facts) or '(message withheld: it may hold row values)'}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any structured extras."""

    RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        body.update({k: v for k, v in record.__dict__.items() if k not in self.RESERVED})
        if record.exc_info:
            body["error"] = self.formatException(record.exc_info)
        return json.dumps(body, ensure_ascii=False, default=str)

    def formatException(self, ei: Any) -> str:
        """Kind and frames, never the message: it may hold row values (service.logs)."""
        return safe_traceback(ei[1]) if ei[1] is not None else ""


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for the service's own logs, and for what the server (uvicorn.error: an
    exception it caught) and SQLAlchemy (pool errors; statements if someone turns them on) log,
    which would otherwise reach stderr as plain text, exception messages and all."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("jianfu")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    for name in ("uvicorn.error", "sqlalchemy", "sqlalchemy.engine"):  # MLflow's import takes the last
        other = logging.getLogger(name)
        other.handlers[:] = [handler]
        other.propagate = False
