"""The district's half-monthly report as a document (PDF or Excel): the figures of
service.district per school with a chart, signed off by the account that generated it and when, and
appended to the trusted archive (R2, kind "report") — the figures, who signed and the file's SHA-256,
so a report handed on can be checked against the archive later. A report is archived once for what
it says (district, period, format, figures): asked for again unchanged, it is the report already
issued, with its signature and the same bytes, and nothing is appended (downloading it again
adds no entry).

Nothing in it is about one student (the summary holds none); the chart is drawn with matplotlib (as
PNG, embedded in the PDF and as an image in the workbook), the PDF written with fpdf2 and the
workbook with XlsxWriter, text always written as text (never a formula).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, Engine, select

from service import district
from service.errors import DomainError
from service.policy.policy import PolicyBook
from service.schemas import DistrictSummary
from service.store import tables as t
from service.store.archive import REPORT, Appended, append, canonical
from service.store.db import writing

Format = Literal["pdf", "xlsx"]
MEDIA = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class FontsMissing(DomainError):
    kind = "unavailable"


@dataclass(frozen=True)
class Report:
    content: bytes
    media_type: str
    filename: str
    sha256: str
    archived: Appended | None  # None: the same report was archived already
    summary: DistrictSummary


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def chart_png(found: DistrictSummary, cjk_font: Path | None = None) -> bytes:
    """Per school: the share of classes within the cap by estimated and by reported time (bars), as
    a PNG. Withheld schools are drawn empty and marked."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    families = ["DejaVu Sans"]
    if cjk_font and cjk_font.is_file():  # Latin from DejaVu (matplotlib's own), Chinese from the CJK font
        font_manager.fontManager.addfont(str(cjk_font))
        families.append(font_manager.FontProperties(fname=str(cjk_font)).get_name())
    props = font_manager.FontProperties(family=families)
    names = [s.name for s in found.schools]
    est = [(s.figures.share_within_cap_estimated or 0) * 100 if s.figures else 0 for s in found.schools]
    rep = [(s.figures.share_within_cap_reported or 0) * 100 if s.figures else 0 for s in found.schools]
    height = max(3.0, 0.45 * len(names) + 1.5)
    fig, ax = plt.subplots(figsize=(8, min(height, 40)), dpi=110)
    try:
        ys = range(len(names))
        ax.barh([y - 0.2 for y in ys], est, height=0.38, label="按预计时长 estimated", color="#4C78A8")
        ax.barh([y + 0.2 for y in ys], rep, height=0.38, label="按实际时长 reported", color="#F58518")
        ax.set_yticks(list(ys))
        ax.set_yticklabels(names, fontproperties=props)
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("未超时班级占比 % / classes within the cap", fontproperties=props)
        ax.set_title(f"{found.name}  {found.start} – {found.end}", fontproperties=props)
        ax.legend(prop=props, loc="lower right")
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png")
    finally:
        plt.close(fig)
    return out.getvalue()


def _pdf(found: DistrictSummary, signed: str, at: datetime, png: bytes, font: Path, cjk_font: Path) -> bytes:
    from fpdf import FPDF, FontFace

    missing = [str(f) for f in (font, cjk_font) if not f.is_file()]
    if missing:
        raise FontsMissing(
            f"the PDF fonts are not installed ({', '.join(missing)}): set JIANFU_PDF_FONT / JIANFU_PDF_CJK_FONT",
            f"没有安装 PDF 字体（{', '.join(missing)}）：请设置 JIANFU_PDF_FONT / JIANFU_PDF_CJK_FONT",
        )
    pdf = FPDF(format="A4")
    pdf.set_creation_date(at)  # the signing time, not the rendering's: the same report, the same bytes
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("text", fname=str(font))
    pdf.add_font("cjk", fname=str(cjk_font))
    pdf.set_fallback_fonts(["cjk"])
    pdf.set_title(f"{found.name} 作业监测报告")
    pdf.add_page()
    pdf.set_font("text", size=15)
    pdf.cell(
        0, 9, f"{found.name} · 作业时间监测报告 / homework monitoring report", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("text", size=10)
    pdf.cell(0, 6, f"{found.start.isoformat()} – {found.end.isoformat()}", new_x="LMARGIN", new_y="NEXT")
    f = found.figures
    lines = [
        f"班级数 classes: {f.classes}（{district.totals_note(found.withheld_classes)}）",
        f"按预计时长未超时班级占比 within the cap (estimated): {_pct(f.share_within_cap_estimated)}",
        f"按实际时长未超时班级占比 within the cap (reported, R4): {_pct(f.share_within_cap_reported)}",
        f"实际超时晚数 reported evenings over the cap: {f.evenings_over_cap_reported}"
        + (f"，平均超 {f.over_cap_mean_minutes} 分钟 / {f.over_cap_mean_minutes} min over on average"
           if f.over_cap_mean_minutes is not None else ""),
        f"分层作业占比 sets with both tiers: {_pct(f.tiering_share)}",
        f"非书面作业占比 non-written items (C7): {_pct(f.non_written_share)}",
        f"免写次数 exemptions (T12): {f.exemptions}",
        f"超时学校 schools over the cap: {', '.join(found.over_cap_schools) or '—'}",
    ]  # fmt: skip
    for line in lines:
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.image(io.BytesIO(png), w=pdf.epw)
    pdf.ln(2)
    header, rows = district.summary_rows(found)
    keep = [0, 1, 3, 5, 6, 7, 9, 10, 11, 12]
    widths = [34, 26, 12, 18, 18, 16, 16, 16, 16, 14]
    pdf.set_font("text", size=7)
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=4,
                   headings_style=FontFace(emphasis="", fill_color=(230, 230, 230))) as table:  # fmt: skip
        head = table.row()
        for k in keep:
            head.cell(header[k])
        for row in rows:
            r = table.row()
            for k in keep:
                value = row[k]
                r.cell(_pct(value) if k in (5, 6, 10, 11) else "—" if value is None else str(value))
    pdf.ln(4)
    pdf.set_font("text", size=10)
    pdf.multi_cell(0, 6, signed, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("text", size=8)
    pdf.multi_cell(0, 5, found.note + f"；人数少于 {found.min_class_size} 的班级合并或不单列。", new_x="LMARGIN",
                   new_y="NEXT")  # fmt: skip
    return bytes(pdf.output())


def table_xlsx(
    found: DistrictSummary, signed: str | None = None, png: bytes | None = None, at: datetime | None = None
) -> bytes:
    """The figures as a workbook (sheet 汇总, Chinese headers); with the report's signature and chart
    (sheet 图表) when given, and `at` as its creation time (the same report, the same bytes)."""
    import xlsxwriter

    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        out,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    if at is not None:
        workbook.set_properties({"created": at})
    bold = workbook.add_format({"bold": True})
    pct = workbook.add_format({"num_format": "0%"})
    sheet = workbook.add_worksheet("汇总")
    sheet.write_string(
        0, 0, f"{found.name} 作业时间监测报告 {found.start.isoformat()} – {found.end.isoformat()}", bold
    )
    if signed:
        sheet.write_string(1, 0, signed)
    header, rows = district.summary_rows(found)
    for col, name in enumerate(header):
        sheet.write_string(3, col, name, bold)
    for n, row in enumerate(rows, start=4):
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, float) and col in (5, 6, 10, 11):
                sheet.write_number(n, col, value, pct)
            elif isinstance(value, int | float):
                sheet.write_number(n, col, value)
            else:
                sheet.write_string(n, col, str(value))
    sheet.freeze_panes(4, 0)
    sheet.set_column(0, 1, 22)
    if png is not None:
        chart = workbook.add_worksheet("图表")
        chart.insert_image(0, 0, "chart.png", {"image_data": io.BytesIO(png)})
    workbook.close()
    return out.getvalue()


def signature(username: str, at: datetime) -> str:
    return f"生成人 generated by: {username}    生成时间 at: {at.isoformat(timespec='seconds')}"


def _render(found: DistrictSummary, file_format: Format, username: str, at: datetime, font: Path,
            cjk_font: Path) -> bytes:  # fmt: skip
    signed = signature(username, at)
    png = chart_png(found, cjk_font)
    if file_format == "pdf":
        return _pdf(found, signed, at, png, font, cjk_font)
    return table_xlsx(found, signed, png, at)


def _issued(conn: Connection, topic: str, file_format: Format) -> dict[str, Any] | None:
    """The public part of the report last issued in this format for this district and period."""
    e = t.archive_entries
    for text in conn.execute(
        select(e.c.public).where(e.c.kind == REPORT, e.c.topic == topic).order_by(e.c.seq.desc())
    ).scalars():
        public: dict[str, Any] = json.loads(text)
        if public.get("format") == file_format:
            return public
    return None


def make_report(
    *,
    db: Engine,
    book: PolicyBook,
    district_id: str,
    start: date,
    end: date,
    min_class_size: int,
    file_format: Format,
    username: str,
    now: datetime,
    font: Path,
    cjk_font: Path,
) -> Report:
    """The report of the district over the period as a PDF or a workbook, and archived (kind
    "report": the figures, who signed and when, the file's SHA-256).

    A report is issued once: archived once for what it says (the district, the period, the format
    and the figures), signed off by `username` at `now` when it is first issued. Asked for again
    while the figures are unchanged, it is the report already issued, as it was signed (the same
    bytes, the same SHA-256) and nothing is appended; once the figures change, it is issued anew.
    So downloading (or prefetching) a report never adds entries of its own."""
    found = district.summary(db=db, book=book, district_id=district_id, start=start, end=end,
                             min_class_size=min_class_size)  # fmt: skip
    says = canonical(found.model_dump(mode="json"))
    topic = f"district/{district_id}/{start.isoformat()}/{end.isoformat()}"
    name = f"jianfu-district-{district_id}-{start.isoformat()}-{end.isoformat()}.{file_format}"
    not_again: str | None = None  # an issued report that could not be made again byte for byte
    for attempt in range(2):
        with db.connect() as conn:
            issued = _issued(conn, topic, file_format)
        if issued is not None and canonical(issued["summary"]) == says and issued["sha256"] != not_again:
            content = _render(found, file_format, str(issued["signed_by"]),
                              datetime.fromisoformat(issued["signed_at"]), font, cjk_font)  # fmt: skip
            digest = hashlib.sha256(content).hexdigest()
            if digest == issued["sha256"]:
                return Report(content, MEDIA[file_format], name, digest, None, found)
            not_again = str(issued["sha256"])  # (another version of a library): issued anew below
        content = _render(found, file_format, username, now, font, cjk_font)
        digest = hashlib.sha256(content).hexdigest()
        public: dict[str, Any] = {
            "district_id": district_id,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "format": file_format,
            "signed_by": username,
            "signed_at": now.isoformat(),
            "sha256": digest,
            "summary": found.model_dump(mode="json"),
        }
        with writing(db) as conn:
            latest = _issued(conn, topic, file_format)  # again under the lock: issued meanwhile?
            if latest == issued or latest is None or canonical(latest["summary"]) != says or attempt:
                archived = append(conn, kind=REPORT, topic=topic, public=public, now=now)
                return Report(content, MEDIA[file_format], name, digest, archived, found)
        # The same report was issued by another request meanwhile: hand out that one.
    raise AssertionError("unreachable: the second round finds the report issued")  # pragma: no cover
