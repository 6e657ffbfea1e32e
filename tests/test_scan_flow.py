"""Scanned worksheets end to end in a real browser (issue 16): a teacher plans and publishes the
class's maths, downloads the class's worksheets (the service's PDF), and the pile comes back marked —
benchmarks/scan_gen.py marks the PDF's pages (ticks, crosses, fills, scribbles, the time bubbles;
some items marked twice, so that their boxes are unclear), scans them as a flatbed at 150 dpi (turned,
blurred, noisy, pages shuffled and some upside down, a blank and a foreign page mixed in), and a page
printed with a forger's key is added as a phone photo. The teacher uploads the pile on /scans, reads
what was stored and which pages were refused, confirms each unclear box in the review queue, and the
database holds the marks as paper attempts, the wrong ones in the error book and the written minutes
as the evenings' reports; uploading the same pile again stores nothing twice.

`make scan-images` runs this with JIANFU_SCREENSHOTS=docs/screenshots: the review page and one
marked scan as the reader received it (the README's images)."""

from __future__ import annotations

import re
import time
from datetime import date
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
from playwright.sync_api import Page, expect
from sqlalchemy import select

from benchmarks.scan_gen import make_scans, printed_pages
from service import plans
from service.settings import Settings
from service.store import tables as t
from service.web.pdf import worksheets_pdf
from tests.browser import CLASS, Site, accessible, shot, sign_in
from tests.conftest import database_digest

NIGHT = date(2026, 11, 18)
PILE = 5  # students whose sheets come back in the pile (every page of each)
MARK_WORDS = {"right": "对", "wrong": "错", "half": "半对", "not_done": "未做"}
KEPT_APART = ("jobs", "sessions")  # what uploading itself writes: the job, the session seen


def _upload(page: Page, site: Site, files: list[Path]) -> dict[str, Any]:
    """Upload the files on /scans, wait (reloading, as the page's refresh link does) until the job
    has finished, and return the job as the page shows it."""
    page.goto(f"{site.base}/scans")
    page.get_by_label("文件").set_input_files([str(f) for f in files])
    page.get_by_role("button", name="上传并读取").click()
    expect(page).to_have_url(re.compile(r"/scans\?job="))
    job = page.locator("#scan-job")
    deadline = time.monotonic() + 900  # reading ~20 pages on a loaded 2-core machine
    while job.get_attribute("data-state") in ("queued", "running"):
        assert time.monotonic() < deadline, "the scan job did not finish"
        time.sleep(1)
        page.reload()
    expect(job).to_have_attribute("data-state", "done")
    return {
        "result": page.locator("#scan-result").inner_text(),
        "unreadable": page.locator("#scan-unreadable li").all_inner_texts(),
    }


def _marked_scan_image(scanner_pdf: Path, truths: list[dict[str, Any]], out: Path) -> None:
    """One page of the pile as the reader received it (a sheet's page with an item marked twice)."""
    n = next(k for k, x in enumerate(truths) if x.get("unclear") and not x["flipped"])
    document = pdfium.PdfDocument(str(scanner_pdf))
    try:
        document[n].render(scale=110 / 72).to_pil().save(out)
    finally:
        document.close()


def test_a_marked_pile_uploaded_in_the_browser_becomes_attempts_error_book_and_evening_times(
    page: Page, site: Site, tmp_path: Path
) -> None:
    # the teacher plans and publishes tonight's maths for the class
    sign_in(page, site, "t-math", f"/teacher?class_id={CLASS}&subject=math&night={NIGHT}")
    page.get_by_role("button", name="生成分层作业").click()
    expect(page.locator("table.sets tbody tr")).to_have_count(45)
    page.get_by_role("button", name=re.compile("发布全部草稿")).click()
    expect(page.get_by_role("status")).to_contain_text("已发布 45 份")

    # and prints the class's worksheets: the service's PDF
    page.goto(f"{site.base}/worksheets?class_id={CLASS}&subject=math&night={NIGHT}")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 PDF").click()
    pdf = Path(download.value.path()).read_bytes()
    sheets = plans.worksheet_pages(db=site.engine, night=NIGHT, class_id=CLASS, subject="math")
    printed, kinds = printed_pages(sheets)
    assert len(pdfium.PdfDocument(pdf)) == len(
        printed
    )  # the layout the reader uses is the PDF's, page for page
    pile = {f"{s['sheet'][0]}.{s['sheet'][1]}": s["student_id"] for s in sheets[:PILE]}
    use = [n for n, p in enumerate(printed) if p.sheet in pile]

    # the pile comes back marked and scanned; one more page printed with a forger's key
    files, truths = make_scans(pdf, printed, kinds, tmp_path / "pile", condition="flatbed_150dpi", seed=16,
                               use=use, unclear=0.2)  # fmt: skip
    truth = {(x["sheet"], item): mark for x in truths if "marks" in x for item, mark in x["marks"].items()}
    unclear = {(x["sheet"], item) for x in truths for item in x.get("unclear", [])}
    minutes = {pile[x["sheet"]]: x["minutes"] for x in truths if x.get("minutes") is not None}
    assert unclear and len(minutes) == PILE, "the setup: some boxes marked twice, each sheet's time"
    forger = worksheets_pdf({"pages": sheets[PILE : PILE + 1], "night": NIGHT}, "zh", Settings().pdf_font,
                            Settings().pdf_cjk_font, "a-forger-s-own-key-" + "f" * 20)  # fmt: skip
    forged_printed, _ = printed_pages(sheets[PILE : PILE + 1])
    (photo,), _ = make_scans(forger, forged_printed, kinds, tmp_path / "forged", condition="phone", seed=5,
                             extra_pages=False, use=[0])  # fmt: skip
    forged = photo.rename(tmp_path / "forged" / "forged.jpg")
    _marked_scan_image(
        files[0], truths, site.shots / "scan-marked.png"
    )  # (the README's, by `make scan-images`)
    before = database_digest(site.engine)

    # the teacher uploads the pile on the scans page
    shown = _upload(page, site, [*files, forged])
    sheet_pages = sum(1 for x in truths if "marks" in x)
    assert shown["result"].startswith(f"共 {len(truths) + 1} 页，读取 {sheet_pages} 页"), shown["result"]
    blank_foreign = [x["source"] for x in truths if "marks" not in x]
    assert len(shown["unreadable"]) == 3, shown["unreadable"]  # the blank, the foreign and the forged page
    for source in blank_foreign:
        assert any(u.startswith(f"{source}:") and "没有找到作业单二维码" in u for u in shown["unreadable"])
    assert any(u.startswith("forged.jpg:") and "二维码校验失败" in u for u in shown["unreadable"])
    with site.engine.connect() as conn:  # nothing of the forged page is stored
        assert not conn.execute(select(t.attempts.c.event_id).where(
            t.attempts.c.student_id == sheets[PILE]["student_id"], t.attempts.c.night == NIGHT)).all()  # fmt: skip

    # the review queue: every box marked twice is there (nothing guessed), with its crop
    with site.engine.connect() as conn:
        queued = {r.review_id: r for r in conn.execute(
            select(t.scan_reviews).where(t.scan_reviews.c.resolved_at.is_(None))).all()}  # fmt: skip
    assert {(r.sheet, r.item_id) for r in queued.values() if r.kind == "box"} >= unclear
    assert all(r.kind in ("box", "time") for r in queued.values())
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(len(queued))
    expect(page.get_by_role("heading", name=f"待确认 ({len(queued)})")).to_be_visible()
    crop = rows.first.locator("img.scan-crop")
    expect(crop).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth > 0 && img.complete", crop.element_handle())
    accessible(page)
    shot(page, site, "scan-review")

    # one click per box: the mark the teacher meant (the minutes for an unclear time)
    for left in range(len(queued), 0, -1):
        row = rows.first
        review = queued[str(row.get_attribute("data-review"))]
        if review.kind == "time":
            row.get_by_label("分钟").fill(str(minutes[review.student_id]))
            row.get_by_role("button", name="确认").click()
        else:
            mark = truth[(review.sheet, review.item_id)]
            row.get_by_role("button", name=MARK_WORDS[mark], exact=True).click()
        expect(rows).to_have_count(left - 1)
    expect(page.get_by_text("没有待确认的格子。")).to_be_visible()

    # the database: every item of the pile as marked, once, from paper
    with site.engine.connect() as conn:
        marks = {(r.sheet, r.item_id): r.mark for r in conn.execute(select(t.scan_marks)).all()}
        paper = conn.execute(
            select(t.attempts).where(t.attempts.c.night == NIGHT, t.attempts.c.event_id.like("paper-%"))
        ).all()
        book = {(r.student_id, r.item_id) for r in conn.execute(
            select(t.error_book.c.student_id, t.error_book.c.item_id).where(t.error_book.c.resolved_at.is_(None)))}  # fmt: skip
        reports = {r.student_id: r.minutes for r in conn.execute(
            select(t.evening_reports).where(t.evening_reports.c.night == NIGHT)).all()}  # fmt: skip
    assert marks == truth
    sheet_of = {student: sheet for sheet, student in pile.items()}
    answered = {(pile[s], i): m for (s, i), m in truth.items() if m != "not_done"}
    assert sorted((r.student_id, r.item_id) for r in paper) == sorted(
        answered
    )  # once each, none for "not done"
    for r in paper:
        mark = answered[(r.student_id, r.item_id)]
        assert r.source == "paper" and r.correct == (mark == "right")
        assert r.score == {"right": 1.0, "half": 0.5, "wrong": 0.0}[mark]
        assert ((r.student_id, r.item_id) in book) == (mark != "right"), (mark, sheet_of[r.student_id])
    assert any(m == "wrong" for m in answered.values())
    assert {s: reports.get(s) for s in minutes} == {s: float(m) for s, m in minutes.items()}  # R4, from paper

    # the same pile again: read, and nothing stored twice
    stored = database_digest(site.engine)
    assert stored != before
    again = _upload(page, site, [*files, forged])
    assert re.search(
        r"新记入作答 0 条（已有 \d+ 条），待确认 0 个，更正 0 个，新错题 0 条，用时 0 份", again["result"]
    ), again
    expect(page.get_by_text("没有待确认的格子。")).to_be_visible()
    after = database_digest(site.engine)
    assert {k: v for k, v in after.items() if k not in KEPT_APART} == {
        k: v for k, v in stored.items() if k not in KEPT_APART
    }
