"""The data team: bulk import (the CLI's validation: all or nothing, problems named by file, row and
field), the model being served and a reload, pseudonymised exports, and a guardian's deletion request.

Exports never carry a student's id or name: each student appears as a keyed hash (HMAC-SHA256 with
the deployment's key), the same in every export of this deployment so files can be joined, and
useless to anyone without the key. Erased students are gone from the tables, so from every export.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from service.api.deps import PrincipalDep, ServicesDep, require
from service.api.problems import Problem
from service.api.v1.schemas import IsoDate, QueryFlag
from service.store import tables as t
from service.store.erasure import NoSuchStudent, erase_student
from service.store.importer import import_files

router = APIRouter(tags=["data team"])
MAX_UPLOAD = 512 * 1024 * 1024


class ImportResult(BaseModel):
    committed: bool
    files: list[str]
    counts: dict[str, dict[str, int]]
    erased_rows_left_out: int


class ModelStatus(BaseModel):
    ready: bool
    version: str | None
    status: dict[str, Any]


class Reloaded(BaseModel):
    outcome: str
    version: str | None


class Erased(BaseModel):
    student_id: str
    removed: dict[str, int] = Field(description="rows removed, table by table")
    erased_at: datetime
    note: str = "已删除；今后的导入会跳过该学生，导出中不会出现 / deleted; later imports leave the student out, no export contains them"


@router.post(
    "/imports",
    response_model=ImportResult,
    summary="Import contract files (CSV/Parquet; UTF-8, UTF-8 with BOM or GBK): all or nothing",
)
async def imports(
    files: Annotated[
        list[UploadFile], File(description="files named by their record kind, e.g. attempts.csv")
    ],
    who: PrincipalDep,
    svc: ServicesDep,
    dry_run: QueryFlag = Query(False, description="validate only, write nothing"),
) -> ImportResult:
    require(who, "data_team")
    with tempfile.TemporaryDirectory(prefix="jianfu-import-") as tmp:
        paths = []
        for upload in files:
            name = FsPath(upload.filename or "").name
            if not name:
                raise Problem(
                    422, "every file needs a name that says its record kind", kind="invalid-request"
                )
            data = await upload.read(MAX_UPLOAD + 1)
            if len(data) > MAX_UPLOAD:
                raise Problem(413, f"{name} is larger than {MAX_UPLOAD // 2**20} MB", kind="too-large")
            path = FsPath(tmp) / name
            path.write_bytes(data)
            paths.append(path)
        report = import_files(svc.engine, paths, dry_run=dry_run)
        problems = [
            {"file": FsPath(p.file).name, "row": p.row, "field": p.column, "detail": p.en, "detail_zh": p.zh}
            for p in report.problems.shown
        ]
    if report.problems:
        first = problems[0] if problems else {"file": "", "row": None, "field": None, "detail": "invalid"}
        where = f"{first['file']}, row {first['row']}, field {first['field']}"
        raise Problem(
            422, f"nothing was imported: {where}: {first['detail']}", kind="import-refused",
            problems=problems, problem_count=report.problems.count,
        )  # fmt: skip
    if report.committed:
        with svc.lock:
            svc.caches.clear()  # items or answers may have changed: states are rebuilt from the database
    return ImportResult(
        committed=report.committed,
        files=[FsPath(p).name for p, _ in report.files],
        counts={
            k: {"inserted": c.inserted, "updated": c.updated, "unchanged": c.unchanged}
            for k, c in report.counts.items()
        },
        erased_rows_left_out=report.erased_rows,
    )


@router.get(
    "/model", response_model=ModelStatus, summary="The model being served: version, metrics, last check"
)
def model(who: PrincipalDep, svc: ServicesDep) -> ModelStatus:
    require(who, "data_team")
    served = svc.models.current()
    return ModelStatus(ready=served is not None, version=None if served is None else str(served.version),
                       status=svc.models.status())  # fmt: skip


@router.post(
    "/model/reload", response_model=Reloaded, summary="Look for a new champion now (and retry a refused one)"
)
def reload(who: PrincipalDep, svc: ServicesDep) -> Reloaded:
    require(who, "data_team")
    outcome = svc.models.check_once(retry_refused=True)
    served = svc.models.current()
    return Reloaded(outcome=str(outcome), version=None if served is None else str(served.version))


def pseudonym(key: str, student_id: str) -> str:
    return "p-" + hmac.new(key.encode(), student_id.encode(), hashlib.sha256).hexdigest()[:20]


EXPORTS = {
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


class CsvResponse(StreamingResponse):
    media_type = "text/csv"


@router.get(
    "/exports/{kind}",
    summary="A pseudonymised export (CSV): students as keyed hashes, no names",
    response_class=CsvResponse,
    responses={200: {"description": "CSV, UTF-8"}},
)
def export(
    kind: str,
    who: PrincipalDep,
    svc: ServicesDep,
    start: IsoDate | None = Query(None, alias="from"),
    end: IsoDate | None = Query(None, alias="to"),
) -> CsvResponse:
    require(who, "data_team")
    if kind not in EXPORTS:
        raise Problem(404, f"no export {kind!r}; one of {', '.join(EXPORTS)}", kind="not-found")
    header, query_of, night = EXPORTS[kind]
    query = query_of()
    if night is not None and start is not None:
        query = query.where(night >= start)
    if night is not None and end is not None:
        query = query.where(night <= end)
    key = hmac.new(svc.key.encode(), b"export", hashlib.sha256).hexdigest()

    def rows() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        with svc.engine.connect() as conn:
            for row in conn.execute(query):
                values = list(row)
                values[0] = pseudonym(key, values[0])
                writer.writerow(
                    ["" if v is None else v.isoformat() if hasattr(v, "isoformat") else v for v in values]
                )
                if out.tell() > 65536:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
        yield out.getvalue()

    filename = f"jianfu-{kind}-{datetime.now(UTC):%Y%m%d}.csv"
    return CsvResponse(rows(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})  # fmt: skip


@router.delete(
    "/students/{student_id}",
    response_model=Erased,
    summary="Delete a student's data on a guardian's request; the answer says what was removed",
)
def erase(student_id: str, who: PrincipalDep, svc: ServicesDep) -> Erased:
    require(who, "data_team")
    try:
        result = erase_student(svc.engine, student_id, requested_by=who.user_id, now=datetime.now(UTC))
    except NoSuchStudent:
        raise Problem(404, f"no student {student_id}", kind="not-found") from None
    with svc.lock:
        svc.caches.clear()
    svc.principals.forget()  # the student's own account stops working at once, not in a few seconds
    return Erased(**result)
