"""The data team's routes: bulk import as a background job (all or nothing, problems named by file,
row and field; its state polled), the model being served and a reload, pseudonymised exports, and a
guardian's deletion request. Each is the permission (`DataTeam`), one call to service.data_team
(the import: make the job, stream the upload into its folder, start it), and the answer's shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from service import data_team
from service import model_health as health
from service.api.deps import DataTeam, ServicesDep
from service.api.problems import ProblemDetails
from service.api.uploads import receive_files
from service.schemas import Erased, ImportJob, IsoDate, ModelHealth, ModelStatus, QueryFlag, Reloaded

router = APIRouter(tags=["data team"])
MAX_UPLOAD = 512 * 1024 * 1024  # bytes per file
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [data_team.UPLOAD_FIELD],
                    "properties": {
                        data_team.UPLOAD_FIELD: {
                            "type": "array", "minItems": 1,
                            "items": {"type": "string", "contentMediaType": "application/octet-stream"},
                            "description": "files named by their record kind, e.g. attempts.csv "
                            f"(.csv, .xlsx or .parquet, at most {MAX_UPLOAD // 2**20} MB each)",
                        }
                    },
                }
            }
        },
    }
}  # fmt: skip
TOO_LARGE: dict[int | str, dict[str, Any]] = {413: {"description": "a file is larger than the bound, or too many files",
                   "content": {"application/problem+json": {"schema": ProblemDetails.model_json_schema()}}}}  # fmt: skip


@router.post(
    "/imports",
    status_code=202,
    response_model=ImportJob,
    summary="Import contract files (CSV in UTF-8, UTF-8 with BOM or GBK; Excel .xlsx; Parquet) as a background job: all or nothing",
    description="The files are stored and checked in the background; the answer is the job (202, with "
    "`Location`): poll GET /v1/imports/{job_id}. One import at a time per school (409 names the one running).",
    openapi_extra=UPLOAD_BODY,
    responses=TOO_LARGE,
)
async def imports(
    request: Request,
    response: Response,
    who: DataTeam,
    svc: ServicesDep,
    dry_run: QueryFlag = Query(False, description="validate only, write nothing"),
) -> ImportJob:
    # No UploadFile parameter: the body is read only now, after DataTeam has checked the token.
    job = await run_in_threadpool(lambda: data_team.begin_import(jobs=svc.jobs, who=who, dry_run=dry_run))
    folder, taken = svc.jobs.folder_of(job.job_id), set[str]()
    try:
        paths = await receive_files(
            request, max_file_bytes=MAX_UPLOAD,
            place=lambda field, name: data_team.upload_path(folder=folder, field=field, filename=name, taken=taken),
        )  # fmt: skip
    except BaseException:
        await run_in_threadpool(lambda: data_team.abandon_import(jobs=svc.jobs, job_id=job.job_id))
        raise
    started = await run_in_threadpool(
        lambda: data_team.run_import(
            jobs=svc.jobs,
            db=svc.engine,
            job=job,
            paths=paths,
            erasure_key=svc.settings.erasure_key(),
            dry_run=dry_run,
            on_commit=svc.forget_states,
        )
    )
    response.headers["Location"] = f"/v1/imports/{job.job_id}"
    return started


@router.get(
    "/imports/{job_id}",
    response_model=ImportJob,
    summary="An import job: state, progress (rows checked, rows written), problems, and when done its result",
)
def import_job(job_id: str, who: DataTeam, svc: ServicesDep) -> ImportJob:
    return data_team.import_job(jobs=svc.jobs, who=who, job_id=job_id)


@router.get(
    "/model", response_model=ModelStatus, summary="The model being served: version, metrics, last check"
)
def model(who: DataTeam, svc: ServicesDep) -> ModelStatus:
    return data_team.model_status(models=svc.models)


@router.get(
    "/model/health",
    response_model=ModelHealth,
    summary="The served model on live data: calibration, time-bound coverage, answer sources, flags",
    description="For the account's schools (a data team with no school scope: every school), over the "
    "`days` nights up to `until` (default: the latest night with answers): per school and subject the "
    "calibration error of P(correct) and its reliability curve, the share of answers by source; per school "
    "the share of real evenings the time bound covered; flags when coverage falls below 93 % or the "
    "calibration error is more than twice what the version was registered with.",
)
def model_health(
    who: DataTeam,
    svc: ServicesDep,
    days: int = Query(14, ge=1, le=92, description="nights in the window"),
    until: IsoDate | None = Query(None, description="the window's last night (YYYY-MM-DD)"),
) -> ModelHealth:
    served = svc.model()
    return health.model_health(db=svc.engine, bundle=served.bundle, version=served.version,
                               schools=sorted(who.schools) or None, days=days, until=until)  # fmt: skip


@router.post(
    "/model/reload", response_model=Reloaded, summary="Look for a new champion now (and retry a refused one)"
)
def reload(who: DataTeam, svc: ServicesDep) -> Reloaded:
    return data_team.reload_model(models=svc.models)


class CsvResponse(StreamingResponse):
    media_type = "text/csv"


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/exports/{kind}",
    summary="A pseudonymised export (CSV, or Excel with format=xlsx): students as keyed hashes, no names",
    response_class=CsvResponse,
    responses={200: {"description": "CSV, UTF-8; or an Excel workbook (.xlsx) with Chinese headers",
                     "content": {"text/csv": {}, XLSX: {}}}},
)  # fmt: skip
def export(
    kind: str,
    who: DataTeam,
    svc: ServicesDep,
    start: IsoDate | None = Query(None, alias="from"),
    end: IsoDate | None = Query(None, alias="to"),
    file_format: Literal["csv", "xlsx"] = Query(
        "csv", alias="format", description="csv (UTF-8) or xlsx (Excel, Chinese headers)"
    ),
) -> StreamingResponse:
    stamp = f"jianfu-{kind}-{datetime.now(UTC):%Y%m%d}"
    if file_format == "xlsx":
        blocks = data_team.export_xlsx(db=svc.engine, key=svc.key, kind=kind, start=start, end=end)
        return StreamingResponse(blocks, media_type=XLSX,
                                 headers={"Content-Disposition": f'attachment; filename="{stamp}.xlsx"'})  # fmt: skip
    chunks = data_team.export_csv(db=svc.engine, key=svc.key, kind=kind, start=start, end=end)
    return CsvResponse(chunks, media_type="text/csv; charset=utf-8",
                       headers={"Content-Disposition": f'attachment; filename="{stamp}.csv"'})  # fmt: skip


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
