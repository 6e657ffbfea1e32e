"""Worksheets as a PDF (fpdf2) that come back by scanning (issue 16): each student's sheet on as many
A4 pages as its items need (writing kinds get their answer room; a second page rather than tiny
boxes), every page with four corner markers, a QR code (sheet, page, keyed check: service.scanning.sheets),
per item the teacher's mark boxes (right / wrong / half-right where the kind allows / not done), and on
the last page the time bubbles (tens and units of minutes) and a line for a parent's exemption
signature (T12). Everything is placed by service.scanning.layout, which the scanner reads by."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import segno
from fpdf import FPDF

from service.api.problems import Problem
from service.plans import shown
from service.scanning import layout as L
from service.scanning import sheets
from service.web import i18n


def sheet_items(page: dict[str, Any]) -> list[L.SheetItem]:
    return [L.SheetItem(i["item_id"], i["kind"], i["stem"]) for i in page["items"]]


def worksheets_pdf(found: dict[str, Any], lang: str, font: Path, cjk_font: Path, sheet_key: str) -> bytes:
    missing = [str(f) for f in (font, cjk_font) if not f.is_file()]
    if missing:
        raise Problem(503, f"the PDF fonts are not installed ({', '.join(missing)}): apt-get install "
                      "fonts-dejavu-core fonts-droid-fallback, or set JIANFU_PDF_FONT / JIANFU_PDF_CJK_FONT",
                      kind="unavailable")  # fmt: skip
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=False)  # the layout places everything
    pdf.set_margins(L.LEFT, L.TOP)
    pdf.add_font("text", fname=str(font))
    pdf.add_font("cjk", fname=str(cjk_font))
    pdf.set_fallback_fonts(["cjk"])
    pdf.set_title(i18n.word(lang, "worksheets"))
    w = lambda key, **v: i18n.word(lang, key, **v)  # noqa: E731
    for sheet in found["pages"]:
        kind, ref = sheet["sheet"]
        by_id = {i["item_id"]: i for i in sheet["items"]}
        for page in L.paginate(sheet_items(sheet)):
            pdf.add_page()
            _frame(pdf, sheets.encode(key=sheet_key, kind=kind, ref=ref, page=page.page, pages=page.pages,
                                      item_ids=page.item_ids))  # fmt: skip
            pdf.set_xy(L.LEFT, 18)
            pdf.set_font("text", size=15)
            pdf.cell(L.QR_X - L.LEFT - 4, 9, f"{sheet['name']}  ·  {sheet['class_name']}", new_x="LMARGIN",
                     new_y="NEXT")  # fmt: skip
            pdf.set_font("text", size=10)
            pdf.cell(L.QR_X - L.LEFT - 4, 6, f"{found['night'].isoformat()}  ·  "
                     f"{w('set_minutes', typical=shown(sheet['minutes']), bound=shown(sheet['bound']))}  ·  "
                     f"{w('page_of', page=page.page, pages=page.pages)}",
                     new_x="LMARGIN", new_y="NEXT")  # fmt: skip
            pdf.set_font("text", size=7)
            pdf.set_xy(L.LEFT, L.MARK_LABEL_Y)
            pdf.cell(L.MARK_X - L.LEFT - 4, 4, w("marks_hint"), align="R")
            for k, mark in enumerate(L.MARKS):
                pdf.set_xy(L.MARK_X + k * L.BOX_STEP - 1, L.MARK_LABEL_Y)
                pdf.cell(L.BOX + 2, 4, w(f"mark_{mark}"), align="C")
            for slot in page.slots:
                _item(pdf, lang, slot, by_id[slot.item_id])
            if page.time is not None:
                _time(pdf, lang, page.time)
    return bytes(pdf.output())


def _frame(pdf: FPDF, code: str) -> None:
    pdf.set_fill_color(0, 0, 0)
    for m in L.markers():
        pdf.rect(m.x, m.y, m.w, m.h, style="F")
    png = io.BytesIO()
    segno.make_qr(code, error="m").save(png, kind="png", scale=8, border=0)
    pdf.image(png, x=L.QR_X, y=L.QR_Y, w=L.QR_SIZE, h=L.QR_SIZE)


def _item(pdf: FPDF, lang: str, slot: L.Slot, item: dict[str, Any]) -> None:
    w = lambda key, **v: i18n.word(lang, key, **v)  # noqa: E731
    mark = "★" if item["tier"] == "extension" else "●"
    head = (f"{slot.number}. {mark} {i18n.tier_name(lang, item['tier'])} · {i18n.subject_name(lang, item['subject'])}"
            f" · {i18n.kind_name(lang, item['kind'])} · {w('estimated')} {shown(item['typical_minutes'])} "
            f"{w('minutes')}" + (f" · {w('needs_parent')}" if item["needs_parent"] else ""))  # fmt: skip
    width = L.STEM_RIGHT - L.LEFT
    pdf.set_xy(L.LEFT, slot.y)
    pdf.set_font("text", size=9)
    pdf.cell(width, L.HEAD_MM, head, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("text", size=11)
    pdf.multi_cell(width, L.LINE_MM, item["stem"], new_x="LMARGIN", new_y="NEXT")
    if slot.room_mm:
        pdf.set_draw_color(170, 170, 170)
        top = slot.y + L.HEAD_MM + slot.stem_lines * L.LINE_MM + 1
        pdf.rect(L.LEFT, top, width, slot.room_mm - 2)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.3)
    for box in slot.marks.values():
        pdf.rect(box.x, box.y, box.w, box.h)
    pdf.set_line_width(0.2)


def _time(pdf: FPDF, lang: str, time: L.TimeBubbles) -> None:
    w = lambda key, **v: i18n.word(lang, key, **v)  # noqa: E731
    pdf.set_font("text", size=9)
    pdf.set_xy(L.LEFT, L.TIME_TENS_Y - 6.5)
    pdf.cell(0, 4, w("time_bubbles"))
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.3)
    for row, label, step in ((time.tens, w("time_tens"), 10), (time.units, w("time_units"), 1)):
        pdf.set_font("text", size=9)
        pdf.set_xy(L.LEFT, row[0].y)
        pdf.cell(L.TIME_X - L.LEFT - 4, row[0].h, label, align="R")
        pdf.set_font("text", size=6)
        for k, b in enumerate(row):
            pdf.ellipse(b.x, b.y, b.w, b.h)
            pdf.set_xy(b.x - 1, b.y - 2.6)  # the number above the bubble, outside what is read
            pdf.cell(b.w + 2, 2.4, str(k * step), align="C")
    pdf.set_line_width(0.2)
    pdf.set_font("text", size=11)
    pdf.set_xy(L.LEFT, L.SIGN_Y)
    pdf.cell(0, 7, w("parent_sign") + " ______________________")
