"""The data team's jobs: bulk import (all or nothing, problems named by file, row and field), the
model being served and a reload, pseudonymised exports, and a guardian's deletion request.

Exports never carry a student's id or name: each student appears as a keyed hash (HMAC-SHA256 with
the deployment's key), the same in every export of this deployment so files can be joined, and
useless to anyone without the key. Erased students are gone from the tables, so from every export,
and later imports leave them out.

Plain functions with keyword-only arguments, called by the API's routes (and the CLI's equivalents)
after their permission checks; a refusal is a service.errors exception.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Select, select

from service.errors import ImportRefused, NotFound
from service.runtime import Models
from service.schemas import Erased, ImportResult, ModelStatus, Reloaded
from service.store import tables as t
from service.store.erasure import NoSuchStudent, erase_student
from service.store.importer import import_files


def import_paths(
    *, db: Engine, paths: Sequence[Path], erasure_key: str, dry_run: bool = False
) -> ImportResult:
    """Validate contract files and, if every row of every file is valid (and not a dry run), import
    them in one transaction; otherwise nothing is written and the problems are named. Rows of
    students deleted on a guardian's request are left out and counted, never named."""
    report = import_files(db, list(paths), dry_run=dry_run, erasure_key=erasure_key)
    if report.problems:
        problems = [
            {"file": Path(p.file).name, "row": p.row, "field": p.column, "detail": p.en, "detail_zh": p.zh}
            for p in report.problems.shown
        ]
        first = problems[0] if problems else {"file": "", "row": None, "field": None, "detail": "invalid"}
        where = f"{first['file']}, row {first['row']}, field {first['field']}"
        raise ImportRefused(
            f"nothing was imported: {where}: {first['detail']}", f"没有导入任何数据：{where}：{first.get('detail_zh') or first['detail']}",
            problems=problems, problem_count=report.problems.count,
        )  # fmt: skip
    return ImportResult(
        committed=report.committed,
        files=[Path(p).name for p, _ in report.files],
        counts={
            k: {"inserted": c.inserted, "updated": c.updated, "unchanged": c.unchanged}
            for k, c in report.counts.items()
        },
        erased_rows_left_out=report.erased_rows,
    )


def model_status(*, models: Models) -> ModelStatus:
    served = models.current()
    return ModelStatus(ready=served is not None, version=None if served is None else str(served.version),
                       status=models.status())  # fmt: skip


def reload_model(*, models: Models) -> Reloaded:
    """Look for a new champion now (and retry a version refused before)."""
    outcome = models.check_once(retry_refused=True)
    served = models.current()
    return Reloaded(outcome=str(outcome), version=None if served is None else str(served.version))


def pseudonym(key: str, student_id: str) -> str:
    return "p-" + hmac.new(key.encode(), student_id.encode(), hashlib.sha256).hexdigest()[:20]


EXPORTS: dict[str, tuple[list[str], Callable[[], Select[Any]], Any]] = {
    "attempts": (
        ["student", "class_id", "item_id", "night", "submitted_at", "correct", "seconds", "source"],
        lambda: select(t.attempts.c.student_id, t.students.c.class_id, t.attempts.c.item_id, t.attempts.c.night,
                       t.attempts.c.submitted_at, t.attempts.c.correct, t.attempts.c.seconds, t.attempts.c.source)
        .join(t.students, t.students.c.student_id == t.attempts.c.student_id)
        .order_by(t.attempts.c.submitted_at, t.attempts.c.event_id),
        t.attempts.c.night,
    ),
    "error_book": (
        ["student", "class_id", "item_id", "created_at", "resolved_at", "error_type"],
        lambda: select(t.error_book.c.student_id, t.students.c.class_id, t.error_book.c.item_id,
                       t.error_book.c.created_at, t.error_book.c.resolved_at, t.error_book.c.error_type)
        .join(t.students, t.students.c.student_id == t.error_book.c.student_id)
        .order_by(t.error_book.c.created_at, t.error_book.c.entry_id),
        None,
    ),
}  # fmt: skip


def export_csv(
    *, db: Engine, key: str, kind: str, start: date | None = None, end: date | None = None
) -> Iterator[str]:
    """A pseudonymised export as CSV text in chunks: students as keyed hashes, no names."""
    if kind not in EXPORTS:
        choices = ", ".join(EXPORTS)
        raise NotFound(
            "export",
            kind,
            en=f"no export {kind!r}; one of {choices}",
            zh=f"没有导出 {kind!r}；可选：{choices}",
        )
    header, query_of, night = EXPORTS[kind]
    query = query_of()
    if night is not None and start is not None:
        query = query.where(night >= start)
    if night is not None and end is not None:
        query = query.where(night <= end)
    export_key = hmac.new(key.encode(), b"export", hashlib.sha256).hexdigest()

    def rows() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        with db.connect() as conn:
            for row in conn.execute(query):
                values = list(row)
                values[0] = pseudonym(export_key, values[0])
                writer.writerow(
                    ["" if v is None else v.isoformat() if hasattr(v, "isoformat") else v for v in values]
                )
                if out.tell() > 65536:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
        yield out.getvalue()

    return rows()


def erase(*, db: Engine, student_id: str, erasure_key: str, requested_by: str, now: datetime) -> Erased:
    """A guardian's deletion: every row about the student, in one transaction, and only the keyed
    hash of the id kept (service.store.erasure); the answer says what was removed."""
    try:
        result = erase_student(db, student_id, key=erasure_key, requested_by=requested_by, now=now)
    except NoSuchStudent:
        raise NotFound("student", student_id) from None
    return Erased(**result)
