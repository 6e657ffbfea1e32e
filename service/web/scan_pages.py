"""The teacher's "upload scans" page (issue 16): upload the class's marked pile (scanner PDFs, phone
photos) as a background job, see its progress and what it stored and could not read, and the review
queue — each unclear box's crop beside the student's name and the item, one click per box."""

from __future__ import annotations

import shutil
from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service import access, plans, scans
from service.web.pages import _posted, _render, _services, _try
from service.web.session import signed_in

router = APIRouter(include_in_schema=False)
MARKERS = ("teacher", *access.COORDINATORS)


@router.get("/scans", response_class=HTMLResponse)
def scans_page(request: Request, job: str = "") -> Response:
    svc = _services(request)
    who = signed_in(svc, request)

    def load() -> dict[str, Any]:
        access.require(who, *MARKERS)
        classes, subjects = scans.review_scope(db=svc.engine, who=who)
        found = scans.scan_job(jobs=svc.jobs, who=who, job_id=job) if job else None
        reviews = scans.reviews(db=svc.engine, class_ids=classes, subjects=subjects)
        names = plans.class_names(db=svc.engine, class_ids=sorted({r["class_id"] for r in reviews}))
        return {"job": found, "reviews": reviews, "class_names": names}

    found = _try(request, load)
    if isinstance(found, HTMLResponse):
        return found
    return _render(request, "scans.html", who=who, **found)


@router.post("/scans", response_class=HTMLResponse)
async def scans_upload(
    request: Request, csrf: str = Form(""), files: list[UploadFile] = File(...)
) -> Response:
    svc, who = await run_in_threadpool(_posted, request, csrf)

    def start() -> Any:
        access.require(who, *MARKERS)
        job = scans.begin_scan(jobs=svc.jobs, db=svc.engine, who=who)
        folder, taken = svc.jobs.folder_of(job.job_id), set[str]()
        try:
            paths = []
            for f in files:
                path = scans.upload_path(folder=folder, field="files", filename=f.filename, taken=taken)
                with path.open("wb") as out:
                    shutil.copyfileobj(f.file, out)
                paths.append(path)
        except BaseException:
            svc.jobs.discard(job.job_id)
            raise
        return scans.run_scan(
            jobs=svc.jobs, db=svc.engine, job=job, paths=paths, key=svc.settings.sheet_key(), who=who
        )

    done = await run_in_threadpool(_try, request, start)
    if isinstance(done, HTMLResponse):
        return done
    return RedirectResponse(f"/scans?job={done['job_id']}", status_code=303)


def _may_review(svc: Any, who: Any, review_id: str) -> None:
    access.require(who, *MARKERS)
    scans.may_review(db=svc.engine, who=who, review_id=review_id)


@router.get("/scans/reviews/{review_id}/crop.png")
def scans_crop(request: Request, review_id: str) -> Response:
    svc = _services(request)
    who = signed_in(svc, request)

    def crop() -> bytes:
        _may_review(svc, who, review_id)
        return scans.review_crop(db=svc.engine, review_id=review_id)[0]

    png = _try(request, crop)
    if isinstance(png, HTMLResponse):
        return png
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.post("/scans/reviews/{review_id}", response_class=HTMLResponse)
async def scans_resolve(
    request: Request, review_id: str, csrf: str = Form(""), answer: str = Form("")
) -> Response:
    svc, who = await run_in_threadpool(_posted, request, csrf)

    def settle() -> Any:
        from datetime import UTC, datetime

        _may_review(svc, who, review_id)
        return scans.resolve(
            db=svc.engine, review_id=review_id, answer=answer, by=who.user_id, now=datetime.now(UTC)
        )

    done = await run_in_threadpool(_try, request, settle)
    if isinstance(done, HTMLResponse):
        return done
    return RedirectResponse("/scans#queue", status_code=303)
