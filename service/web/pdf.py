"""Worksheets as a PDF (fpdf2): one A4 page per student, the same content as the printable page —
items with their tier and estimated minutes, room to answer where the kind needs writing, a box for
the real time spent and a line for a parent's exemption signature (T12)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fpdf import FPDF

from service.api.problems import Problem
from service.policy.minutes import shown
from service.web import i18n


def worksheets_pdf(found: dict[str, Any], lang: str, font: Path, cjk_font: Path) -> bytes:
    missing = [str(f) for f in (font, cjk_font) if not f.is_file()]
    if missing:
        raise Problem(503, f"the PDF fonts are not installed ({', '.join(missing)}): apt-get install "
                      "fonts-dejavu-core fonts-droid-fallback, or set JIANFU_PDF_FONT / JIANFU_PDF_CJK_FONT",
                      kind="unavailable")  # fmt: skip
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=36)  # an overlong set runs on rather than lose items
    pdf.add_font("text", fname=str(font))
    pdf.add_font("cjk", fname=str(cjk_font))
    pdf.set_fallback_fonts(["cjk"])
    pdf.set_title(i18n.word(lang, "worksheets"))
    w = lambda key, **v: i18n.word(lang, key, **v)  # noqa: E731
    for page in found["pages"]:
        pdf.add_page()
        pdf.set_font("text", size=15)
        pdf.cell(0, 9, f"{page['name']}  ·  {page['class_name']}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("text", size=10)
        pdf.cell(0, 6, f"{found['night'].isoformat()}  ·  {w('set_minutes', typical=shown(page['minutes']), bound=shown(page['bound']))}",
                 new_x="LMARGIN", new_y="NEXT")  # fmt: skip
        pdf.ln(2)
        for n, item in enumerate(page["items"], start=1):
            mark = "★" if item["tier"] == "extension" else "●"
            head = (f"{n}. {mark} {i18n.tier_name(lang, item['tier'])} · {i18n.subject_name(lang, item['subject'])}"
                    f" · {i18n.kind_name(lang, item['kind'])} · {w('estimated')} {item['typical_minutes']:.0f} "
                    f"{w('minutes')}" + (f" · {w('needs_parent')}" if item["needs_parent"] else ""))  # fmt: skip
            scale = page["scale"]
            pdf.set_font("text", size=9 * scale)
            pdf.cell(0, 5 * scale, head, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("text", size=11 * scale)
            pdf.multi_cell(0, 6 * scale, item["stem"], new_x="LMARGIN", new_y="NEXT")
            room = page["answer_mm"] if item["kind"] in ("written", "practical") else 0.0
            if room and pdf.get_y() + room > pdf.page_break_trigger:
                pdf.add_page()  # an overlong set runs on, named, rather than cover the footer
                pdf.set_font("text", size=9)
                pdf.cell(0, 6, f"{page['name']} ({n})", new_x="LMARGIN", new_y="NEXT")
            if room:
                pdf.set_draw_color(170, 170, 170)
                pdf.rect(pdf.l_margin, pdf.get_y() + 1, pdf.epw, room)
                pdf.ln(room + 3)
            pdf.ln(2 * scale)
        pdf.set_auto_page_break(auto=False)
        pdf.set_y(262)
        pdf.set_font("text", size=11)
        pdf.set_draw_color(0, 0, 0)
        pdf.rect(pdf.l_margin, 262, pdf.epw, 9)
        pdf.set_x(pdf.l_margin + 2)
        pdf.cell(0, 9, w("time_spent"), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        pdf.cell(0, 7, w("parent_sign") + " ______________________", new_x="LMARGIN", new_y="NEXT")
        pdf.set_auto_page_break(auto=True, margin=36)
    return bytes(pdf.output())
