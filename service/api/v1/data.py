"""The data team's routes: bulk import (all or nothing, problems named by file, row and field), the
model being served and a reload, pseudonymised exports, and a guardian's deletion request. Each is
the permission (`DataTeam`), one call to service.data_team, and the answer's shape."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from service import data_team
from service.api.deps import DataTeam, ServicesDep
from service.api.problems import Problem
from service.schemas import Erased, ImportResult, IsoDate, ModelStatus, QueryFlag, Reloaded

router = APIRouter(tags=["data team"])
MAX_UPLOAD = 512 * 1024 * 1024


@router.post(
    "/imports",
    response_model=ImportResult,
    summary="Import contract files (CSV/Parquet; UTF-8, UTF-8 with BOM or GBK): all or nothing",
)
async def imports(
    files: Annotated[
        list[UploadFile], File(description="files named by their record kind, e.g. attempts.csv")
    ],
    who: DataTeam,
    svc: ServicesDep,
    dry_run: QueryFlag = Query(False, description="validate only, write nothing"),
) -> ImportResult:
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
        result = await run_in_threadpool(
            lambda: data_team.import_paths(
                db=svc.engine, paths=paths, erasure_key=svc.settings.erasure_key(), dry_run=dry_run
            )
        )
    if result.committed:
        svc.forget_states()  # items or answers may have changed: states are rebuilt from the database
    return result


@router.get(
    "/model", response_model=ModelStatus, summary="The model being served: version, metrics, last check"
)
def model(who: DataTeam, svc: ServicesDep) -> ModelStatus:
    return data_team.model_status(models=svc.models)


@router.post(
    "/model/reload", response_model=Reloaded, summary="Look for a new champion now (and retry a refused one)"
)
def reload(who: DataTeam, svc: ServicesDep) -> Reloaded:
    return data_team.reload_model(models=svc.models)


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
    who: DataTeam,
    svc: ServicesDep,
    start: IsoDate | None = Query(None, alias="from"),
    end: IsoDate | None = Query(None, alias="to"),
) -> CsvResponse:
    chunks = data_team.export_csv(db=svc.engine, key=svc.key, kind=kind, start=start, end=end)
    filename = f"jianfu-{kind}-{datetime.now(UTC):%Y%m%d}.csv"
    return CsvResponse(chunks, media_type="text/csv; charset=utf-8",
                       headers={"Content-Disposition": f'attachment; filename="{filename}"'})  # fmt: skip


@router.delete(
    "/students/{student_id}",
    response_model=Erased,
    summary="Delete a student's data on a guardian's request; the answer says what was removed",
)
def erase(student_id: str, who: DataTeam, svc: ServicesDep) -> Erased:
    result = data_team.erase(db=svc.engine, student_id=student_id, erasure_key=svc.settings.erasure_key(),
                             requested_by=who.user_id, now=datetime.now(UTC))  # fmt: skip
    svc.forget_states()
    svc.principals.forget()  # the student's own account stops working at once, not in a few seconds
    return result
