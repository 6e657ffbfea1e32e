"""The next day's 讲评 report as a page (`/teacher/review`, printable on A4): for the class's subject
teacher and its head teacher, the same domain function as `GET /v1/classes/{id}/review`
(service.review_report.class_review, model work: in the planning pool), after the same checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from service import access, evenings, review_report
from service.web.pages import _on, _planning, _render, _services, _try
from service.web.session import signed_in

router = APIRouter(include_in_schema=False)


@router.get("/teacher/review", response_class=HTMLResponse)
async def review_page(request: Request, class_id: str = "", subject: str = "", night: str = "") -> Response:
    svc = _services(request)
    who = await run_in_threadpool(signed_in, svc, request)

    def load() -> dict[str, Any]:
        access.require(who, "teacher", "head_teacher")
        if who.role == "teacher":  # the classes and subjects this account teaches
            choices = sorted((c, s) for c, subjects in who.classes.items() for s in subjects if s)
        else:  # a head teacher: every subject of the classes they head
            choices = [(c, s) for c in sorted(who.classes)
                       for s in evenings.class_subjects(db=svc.engine, class_id=c)]  # fmt: skip
        chosen, chosen_subject = (
            (class_id, subject) if class_id and subject else (choices[0] if choices else ("", ""))
        )
        if not chosen:
            return {"choices": choices, "class_id": "", "subject": "", "night": _on(night)}
        klass = access.see_class(svc.engine, who, chosen, subject=chosen_subject)
        yesterday = evenings.school_today(klass.timezone, datetime.now(UTC)) - timedelta(days=1)
        return {
            "choices": choices,
            "class_id": chosen,
            "subject": chosen_subject,
            "night": _on(night, yesterday),
        }

    found = await run_in_threadpool(_try, request, load)
    if isinstance(found, HTMLResponse):
        return found
    report = None
    if found["class_id"]:
        report = await _planning(request, who, review_report.class_review, class_id=found["class_id"],
                                 subject=found["subject"], night=found["night"])  # fmt: skip
        if isinstance(report, HTMLResponse):
            return report
    return _render(request, "review.html", who=who, report=report, **found)
