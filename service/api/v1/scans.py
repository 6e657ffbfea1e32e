"""Scanned worksheets (issue 16): a teacher uploads the class's marked pile (scanner PDFs, phone
photos) as a background job and polls it; the review queue of unclear boxes and corrections, each
box's crop, and one answer per box. Each route: its permission (a teacher, head teacher or school
administrator; the sheets and reviews of classes they mark), one call to service.scans, the answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from service import access, scans
from service.api.deps import ServicesDep, role
from service.api.uploads import receive_files
from service.auth import Principal

router = APIRouter(tags=["scanned worksheets"])
Marker = Annotated[Principal, role("teacher", *access.COORDINATORS)]
MAX_SCAN = 200 * 1024 * 1024  # bytes per file
SCAN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "properties": {
                        "files": {
                            "type": "array", "minItems": 1,
                            "items": {"type": "string", "contentMediaType": "application/octet-stream"},
                            "description": "scanner PDFs (150-300 dpi) and phone photos (.jpg, .png), "
                            f"pages in any order, at most {MAX_SCAN // 2**20} MB each",
                        }
                    },
                }
            }
        },
    }
}  # fmt: skip


class Resolution(BaseModel):
    answer: str = Field(description="right / wrong / half / not_done for a box; confirm / keep for a "
                        "correction; the minutes (digits) for a time", max_length=16)  # fmt: skip


@router.post("/scans", status_code=202, summary="Upload marked worksheets (a background job): attempts, "
             "error book and the evening's time from what is certain; unclear boxes to the review queue",
             openapi_extra=SCAN_BODY)  # fmt: skip
async def upload_scans(request: Request, response: Response, who: Marker, svc: ServicesDep) -> dict[str, Any]:
    job = await run_in_threadpool(lambda: scans.begin_scan(jobs=svc.jobs, db=svc.engine, who=who))
    folder, taken = svc.jobs.folder_of(job.job_id), set[str]()
    try:
        paths = await receive_files(request, max_file_bytes=MAX_SCAN,
                                    place=lambda field, name: scans.upload_path(folder=folder, field=field,
                                                                                filename=name, taken=taken))  # fmt: skip
    except BaseException:
        await run_in_threadpool(lambda: svc.jobs.discard(job.job_id))
        raise
    started = await run_in_threadpool(lambda: scans.run_scan(jobs=svc.jobs, db=svc.engine, job=job, paths=paths,
                                                             key=svc.settings.sheet_key(), who=who))  # fmt: skip
    response.headers["Location"] = f"/v1/scans/{job.job_id}"
    return started


@router.get("/scans/reviews", summary="The open review queue: unclear boxes, corrections, unclear times")
def review_queue(who: Marker, svc: ServicesDep) -> list[dict[str, Any]]:
    classes, subjects = scans.review_scope(db=svc.engine, who=who)
    return [{k: v for k, v in r.items() if k != "fills"} | {"crop": f"/v1/scans/reviews/{r['review_id']}/crop.png"}
            for r in scans.reviews(db=svc.engine, class_ids=classes, subjects=subjects)]  # fmt: skip


def _may_review(svc: Any, who: Principal, review_id: str) -> None:
    scans.may_review(db=svc.engine, who=who, review_id=review_id)


@router.get("/scans/reviews/{review_id}/crop.png", summary="A review's boxes as scanned (PNG)",
            response_class=Response, responses={200: {"content": {"image/png": {}}}})  # fmt: skip
def review_crop(review_id: str, who: Marker, svc: ServicesDep) -> Response:
    _may_review(svc, who, review_id)
    png, _ = scans.review_crop(db=svc.engine, review_id=review_id)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.post("/scans/reviews/{review_id}", summary="Settle one review with the teacher's answer")
def resolve_review(review_id: str, body: Resolution, who: Marker, svc: ServicesDep) -> dict[str, Any]:
    _may_review(svc, who, review_id)
    return scans.resolve(
        db=svc.engine, review_id=review_id, answer=body.answer, by=who.user_id, now=datetime.now(UTC)
    )


@router.get("/scans/{job_id}", summary="A scan job: state, progress (pages read), and when done what was stored "
            "and the pages that could not be read")  # fmt: skip
def scan_job(job_id: str, who: Marker, svc: ServicesDep) -> dict[str, Any]:
    return scans.scan_job(jobs=svc.jobs, who=who, job_id=job_id)
