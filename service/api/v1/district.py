"""The district (教育局): its schools' figures over a period (monitoring, 监测), every class's weekly
notice, the figures as CSV or Excel, and the half-monthly report as a signed PDF or workbook. Classes
are the smallest unit; nothing here names a student. Each route: its permission (an account of the
district, `OfDistrict`), one call to service.district, the answer."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from service import district, district_report
from service.api.deps import OfDistrict, ServicesDep
from service.runtime import Services
from service.schemas import DistrictNotices, DistrictSummary, IsoDate

router = APIRouter(tags=["district"])
XLSX = district_report.MEDIA["xlsx"]


def period(svc: Services, district_id: str, start: date | None, end: date | None) -> tuple[date, date]:
    """The period asked for; a side left out is the last half month's (by the schools' local dates)."""
    first, last = district.default_period(db=svc.engine, district_id=district_id)
    return start or first, end or last


def summary_of(svc: Services, district_id: str, start: date | None, end: date | None) -> DistrictSummary:
    start, end = period(svc, district_id, start, end)
    return district.summary(db=svc.engine, book=svc.book, district_id=district_id, start=start, end=end,
                            min_class_size=svc.settings.district_min_class_size)  # fmt: skip


@router.get(
    "/districts/{district_id}/summary",
    response_model=DistrictSummary,
    summary="The district's figures over a period (default: the last half month): classes and schools only",
)
def summary(
    district_id: str,
    who: OfDistrict,
    svc: ServicesDep,
    start: IsoDate | None = Query(None, alias="from"),
    end: IsoDate | None = Query(None, alias="to"),
) -> DistrictSummary:
    return summary_of(svc, district_id, start, end)


@router.get(
    "/districts/{district_id}/summary.{file_format}",
    summary="The same figures as CSV (UTF-8) or Excel (.xlsx), Chinese headers",
    response_class=Response,
    responses={
        200: {
            "description": "summary.csv: CSV (text/csv, UTF-8 with BOM); summary.xlsx: an Excel workbook",
            "content": {XLSX: {}},
        }
    },
)
def summary_file(
    district_id: str,
    file_format: Literal["csv", "xlsx"],
    who: OfDistrict,
    svc: ServicesDep,
    start: IsoDate | None = Query(None, alias="from"),
    end: IsoDate | None = Query(None, alias="to"),
) -> Response:
    found = summary_of(svc, district_id, start, end)
    name = f"jianfu-district-{district_id}-{found.start.isoformat()}-{found.end.isoformat()}.{file_format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if file_format == "csv":
        return Response(
            "\ufeff" + district.summary_csv(found), media_type="text/csv; charset=utf-8", headers=headers
        )
    content = district_report.table_xlsx(found)
    return Response(content, media_type=XLSX, headers=headers)


@router.get(
    "/districts/{district_id}/notices",
    response_model=DistrictNotices,
    summary="Every class's weekly public notice (R3) of a week: class averages; small classes withheld",
)
def notices(
    district_id: str,
    who: OfDistrict,
    svc: ServicesDep,
    week_of: IsoDate | None = Query(None, description="any day of the week; default: this week"),
) -> DistrictNotices:
    if week_of is None:
        week_of = district.default_period(db=svc.engine, district_id=district_id)[1]
    return district.notices(db=svc.engine, book=svc.book, district_id=district_id, week_of=week_of,
                            min_class_size=svc.settings.district_min_class_size)  # fmt: skip


@router.get(
    "/districts/{district_id}/report.{file_format}",
    summary="The half-monthly report (PDF or .xlsx) with a chart, signed off by you now, archived (R2)",
    response_class=Response,
    responses={
        200: {
            "description": "report.pdf: a PDF (application/pdf, A4); report.xlsx: an Excel workbook "
            "(sheets 汇总 and 图表); the file's SHA-256 in X-Report-SHA256",
            "content": {XLSX: {}},
        }
    },
)
def report(
    district_id: str,
    file_format: Literal["pdf", "xlsx"],
    who: OfDistrict,
    svc: ServicesDep,
    start: IsoDate | None = Query(None, alias="from"),
    end: IsoDate | None = Query(None, alias="to"),
) -> Response:
    start, end = period(svc, district_id, start, end)
    made = district_report.make_report(
        db=svc.engine, book=svc.book, district_id=district_id, start=start, end=end,
        min_class_size=svc.settings.district_min_class_size, file_format=file_format, username=who.username,
        now=datetime.now(UTC), font=svc.settings.pdf_font, cjk_font=svc.settings.pdf_cjk_font,
    )  # fmt: skip
    return Response(made.content, media_type=made.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{made.filename}"',
                             "X-Report-SHA256": made.sha256})  # fmt: skip
