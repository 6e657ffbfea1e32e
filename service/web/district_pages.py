"""The district's (教育局) pages: `/district` — its schools' figures over a period (default the last
half month), printable on A4, with the figures as CSV or Excel and the signed half-monthly report
(PDF or Excel) to download — and `/district/notices`, every class's weekly notice (R3). The same
domain functions as API v1's district routes (service.district, service.district_report), after the
same check (service.access.see_district); classes are the smallest unit, nothing names a student."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from service import access, district, district_report
from service.auth import Principal
from service.runtime import Services
from service.web.pages import _on, _render, _services, _try
from service.web.session import signed_in

router = APIRouter(include_in_schema=False)


def _period(svc: Services, district_id: str, start: str, end: str) -> tuple[date, date]:
    first, last = district.default_period(db=svc.engine, district_id=district_id)
    return (_on(start) if start else first), (_on(end) if end else last)


def _mine(who: Principal, wanted: str) -> str:
    access.require(who, "district")
    found = district.district_of(who.districts, wanted or None)
    return access.see_district(who, found)


def _summary(request: Request, district_id: str, start: str, end: str) -> tuple[Principal, Any]:
    svc = _services(request)
    who = signed_in(svc, request)

    def load() -> Any:
        mine = _mine(who, district_id)
        first, last = _period(svc, mine, start, end)
        return district.summary(db=svc.engine, book=svc.book, district_id=mine, start=first, end=last,
                                min_class_size=svc.settings.district_min_class_size)  # fmt: skip

    return who, _try(request, load)


def _query(found: Any) -> str:
    return f"district_id={found.district_id}&start={found.start.isoformat()}&end={found.end.isoformat()}"


@router.get("/district", response_class=HTMLResponse)
def district_page(request: Request, district_id: str = "", start: str = "", end: str = "") -> Response:
    who, found = _summary(request, district_id, start, end)
    if isinstance(found, HTMLResponse):
        return found
    bars = [{"school": s, "est": round((s.figures.share_within_cap_estimated or 0) * 100) if s.figures else 0,
             "rep": round((s.figures.share_within_cap_reported or 0) * 100) if s.figures else 0}
            for s in found.schools]  # fmt: skip
    return _render(request, "district.html", who=who, found=found, bars=bars, query=_query(found))


@router.get("/district/summary.{file_format}")
def district_file(request: Request, file_format: str, district_id: str = "", start: str = "", end: str = "") -> Response:  # fmt: skip
    _, found = _summary(request, district_id, start, end)
    if isinstance(found, HTMLResponse):
        return found
    name = (
        f"jianfu-district-{found.district_id}-{found.start.isoformat()}-{found.end.isoformat()}.{file_format}"
    )
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if file_format == "csv":
        return Response(
            "\ufeff" + district.summary_csv(found), media_type="text/csv; charset=utf-8", headers=headers
        )
    if file_format == "xlsx":
        return Response(
            district_report.table_xlsx(found), media_type=district_report.MEDIA["xlsx"], headers=headers
        )
    return _render(request, "error.html", status=404, problem=f"csv / xlsx: {file_format!r}", violations=[])


@router.get("/district/report.{file_format}")
def district_report_file(request: Request, file_format: str, district_id: str = "", start: str = "", end: str = "") -> Response:  # fmt: skip
    svc = _services(request)
    who = signed_in(svc, request)
    if file_format not in district_report.MEDIA:
        return _render(
            request, "error.html", status=404, problem=f"pdf / xlsx: {file_format!r}", violations=[]
        )

    def make() -> Any:
        mine = _mine(who, district_id)
        first, last = _period(svc, mine, start, end)
        return district_report.make_report(
            db=svc.engine, book=svc.book, district_id=mine, start=first, end=last,
            min_class_size=svc.settings.district_min_class_size, file_format=file_format,  # type: ignore[arg-type]
            username=who.username, now=datetime.now(UTC), font=svc.settings.pdf_font,
            cjk_font=svc.settings.pdf_cjk_font,
        )  # fmt: skip

    made = _try(request, make)
    if isinstance(made, HTMLResponse):
        return made
    return Response(made.content, media_type=made.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{made.filename}"',
                             "X-Report-SHA256": made.sha256})  # fmt: skip


@router.get("/district/notices", response_class=HTMLResponse)
def district_notices(request: Request, district_id: str = "", week_of: str = "") -> Response:
    svc = _services(request)
    who = signed_in(svc, request)

    def load() -> Any:
        mine = _mine(who, district_id)
        on = _on(week_of) if week_of else district.default_period(db=svc.engine, district_id=mine)[1]
        return district.notices(db=svc.engine, book=svc.book, district_id=mine, week_of=on,
                                min_class_size=svc.settings.district_min_class_size)  # fmt: skip

    found = _try(request, load)
    if isinstance(found, HTMLResponse):
        return found
    return _render(request, "district_notices.html", who=who, found=found)
