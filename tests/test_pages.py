"""The pages in a real browser: Playwright driving Debian's chromium (installed by `make test`)
against the app served by uvicorn on loopback, with the real models trained on data_samples/.

A teacher plans, edits one set into a violation and reads the rule, fixes it and publishes; a
student sees tonight and submits; a head teacher sees the evening totals, the weekly notice, the
burden chart and saves an allocation; worksheets print to PDF with one page per student (the
browser's print and the PDF download). Each page is screenshotted (into JIANFU_SCREENSHOTS, else a
temporary folder) and checked for the basics of accessibility: `lang`, a label for every control,
every control reachable by keyboard, and text contrast of at least 4.5:1.
"""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import select

from service.store import tables as t
from tests.browser import CLASS, Site, accessible, shot, sign_in


def _untaught_point(site: Site) -> tuple[str, str]:
    """A maths point of grade 5 the class has not been taught yet, and one of its written items."""
    with site.engine.connect() as conn:
        taught = select(t.teaching_progress.c.kp_id).where(t.teaching_progress.c.class_id == CLASS)
        row = conn.execute(
            select(t.item_kps.c.kp_id, t.items.c.item_id)
            .join(t.items, t.items.c.item_id == t.item_kps.c.item_id)
            .where(t.items.c.subject == "math", t.items.c.grade == 5, t.items.c.kind == "written",
                   t.item_kps.c.kp_id.not_in(taught))
            .order_by(t.item_kps.c.kp_id.desc(), t.items.c.item_id)
            .limit(1)
        ).one()  # fmt: skip
    return row.kp_id, row.item_id


def test_a_teacher_plans_edits_a_set_into_a_violation_fixes_it_and_publishes(page: Page, site: Site) -> None:
    night = "2026-11-10"
    sign_in(page, site, "t-math", f"/teacher?class_id={CLASS}&subject=math&night={night}")
    expect(page.get_by_role("heading", name="布置作业")).to_be_visible()
    with site.engine.connect() as conn:
        today = conn.execute(
            select(t.knowledge_points.c.kp_id)
            .where(t.knowledge_points.c.subject == "math", t.knowledge_points.c.grade == 5)
            .order_by(t.knowledge_points.c.unit, t.knowledge_points.c.order)
        ).scalars().all()  # fmt: skip
    page.locator(f"#kp-{today[11]}").check()  # today's lesson (taught already: records nothing new)
    accessible(page)
    page.get_by_role("button", name="生成分层作业").click()
    rows = page.locator("table.sets tbody tr")
    expect(rows).to_have_count(45)
    first = rows.first
    first.locator("details summary").first.click()  # compact: a student's items open on demand (no script)
    expect(first.locator("td").nth(0).locator("li").first).to_be_visible()  # items with minutes
    expect(first).to_contain_text("分钟")
    expect(first.locator(".reason").first).not_to_be_empty()
    expect(first.locator(".level").first).to_have_text(re.compile("^[A-D]$"))
    expect(first.locator(".bar")).to_have_attribute("aria-label", re.compile("数学 .* 上限 60"))
    shot(page, site, "teacher-preview")
    accessible(page)

    first.get_by_role("link", name=re.compile("^修改")).click()
    expect(page.get_by_role("heading", name=re.compile("的作业"))).to_be_visible()
    kept = page.locator("input[name=keep]").count()
    point, ahead = _untaught_point(site)
    page.get_by_label("加入题目").fill(ahead)  # an item of a point the class has not been taught: C2
    page.get_by_role("button", name="检查并保存").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("规则 C2")
    expect(alert).to_contain_text(f"知识点 {point} 在本班还没有教")  # in words, with what to change
    expect(alert).to_contain_text("请删除这道题")
    shot(page, site, "teacher-edit-violation")
    accessible(page)
    with site.engine.connect() as conn:  # refused whole: the draft still has its own items only
        plan_id = page.url.split("/plans/")[1].split("/")[0]
        stored = conn.execute(
            select(t.plan_items.c.item_id).where(t.plan_items.c.plan_id == plan_id)
        ).scalars()
        assert ahead not in set(stored)

    page.get_by_label("加入题目").fill("")
    page.locator("input[name=keep]").last.uncheck()  # one item fewer
    page.get_by_role("button", name="检查并保存").click()
    expect(page.get_by_role("status")).to_contain_text("已保存")
    with site.engine.connect() as conn:
        assert (
            len(conn.execute(select(t.plan_items.c.item_id).where(t.plan_items.c.plan_id == plan_id)).all())
            == kept - 1
        )

    page.get_by_role("button", name=re.compile("发布全部草稿")).click()
    expect(page.get_by_role("status")).to_contain_text("已发布 45 份")
    with site.engine.connect() as conn:
        statuses = conn.execute(
            select(t.plans.c.status).where(t.plans.c.night == date.fromisoformat(night), t.plans.c.subject == "math")
        ).scalars().all()  # fmt: skip
    assert statuses and set(statuses) == {"published"} and len(statuses) == 45
    shot(page, site, "teacher-published")


def fits_a_phone(page: Page) -> None:
    """The page at 390 x 844 (a phone) needs no sideways scrolling."""
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1360, "height": 900})


def test_a_student_sees_tonight_and_submits(page: Page, site: Site) -> None:
    night = date(2026, 11, 11)
    site.publish(night)
    sign_in(page, site, "s-1", f"/student?night={night}")
    expect(page.get_by_role("heading", name=f"今晚的作业 · {night}")).to_be_visible()
    items = page.locator("ol.tonight > li")
    assert items.count() >= 2
    expect(items.first).to_contain_text("基础（必做）")  # the required work first
    shot(page, site, "student-tonight")
    accessible(page)
    fits_a_phone(page)
    for k in range(items.count()):  # nothing pre-filled: no minutes, no result chosen
        expect(items.nth(k).get_by_label("用时（分钟）")).to_have_value("")
    graded = page.locator("ol.tonight > li:has(input[name=answer])")
    said = page.locator("ol.tonight > li:has(select[name=correct])")
    assert graded.count() >= 1, "the setup: a maths item graded on the server tonight"
    for k in range(said.count()):
        assert said.nth(k).locator("select[name=correct]").input_value() == ""

    first = graded.first
    item_id = first.get_attribute("id").removeprefix("item-")  # type: ignore[union-attr]
    first.get_by_label("用时（分钟）").fill("4")
    first.get_by_role("button", name="提交").click()  # no answer typed: the browser asks for one
    expect(page.locator(f"#item-{item_id} input[name=answer]")).to_be_visible()
    stem = page.locator(f"#item-{item_id} .stem").inner_text()
    page.locator(f"#item-{item_id} input[name=answer]").fill("不知道")
    page.locator(f"#item-{item_id}").get_by_role("button", name="提交").click()
    expect(page.get_by_role("status").first).to_contain_text("答错了")  # graded at once
    expect(page.locator(f"#item-{item_id} .done-mark")).to_contain_text("做错了")
    expect(page.locator("#book-h ~ ul.book").first).to_be_attached()
    assert stem in page.locator("section[aria-labelledby=book-h]").text_content()  # type: ignore[operator]
    with site.engine.connect() as conn:
        stored = conn.execute(
            select(t.attempts.c.correct, t.attempts.c.seconds, t.answer_marks.c.answer_source)
            .join(t.answer_marks, t.answer_marks.c.event_id == t.attempts.c.event_id)
            .where(t.attempts.c.student_id == site.students[0], t.attempts.c.item_id == item_id,
                   t.attempts.c.night == night)
        ).all()  # fmt: skip
    assert [(bool(c), s, src) for c, s, src in stored] == [(False, 240, "graded")]
    page.reload()  # the form is not shown again for a done item; reloading stores nothing twice
    expect(page.locator(f"#item-{item_id} .done-mark")).to_be_visible()
    shot(page, site, "student-submitted")
    page.get_by_role("link", name="打印错题本").click()  # the error book on paper: by point, with questions
    expect(page.get_by_role("heading", level=1)).to_contain_text("错题本")
    assert stem in (page.locator("main").text_content() or "")
    accessible(page)
    shot(page, site, "student-error-book")


def test_a_head_teacher_prints_the_class_s_error_books(page: Page, site: Site) -> None:
    sign_in(page, site, "h-1", f"/school/error-book?class_id={CLASS}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("错题本")
    with site.engine.connect() as conn:
        size = conn.execute(select(t.students.c.student_id).where(t.students.c.class_id == CLASS)).all()
    expect(page.locator("article.book-sheet")).to_have_count(len(size))  # one page per student
    accessible(page)


def test_a_parent_excuses_tonight(page: Page, site: Site) -> None:
    night = date(2026, 11, 12)
    site.publish(night)
    sign_in(page, site, "p-1", f"/student?night={night}")
    expect(page.get_by_text("预计用时").first).to_be_visible()
    accessible(page)
    fits_a_phone(page)
    page.get_by_role("button", name="家长签字免写今晚作业").click()  # no reason, not confirmed: not sent
    page.get_by_label("免写原因").select_option(label="身体不适")
    page.get_by_role("button", name="家长签字免写今晚作业").click()  # still not confirmed
    with site.engine.connect() as conn:
        assert not conn.execute(
            select(t.exemptions.c.night).where(t.exemptions.c.student_id == site.students[1])
        ).all()
    page.get_by_label("补充说明（可不填）").fill("发烧")
    page.get_by_label("我确认：今晚的书面作业不做，也不会移到明天。").check()
    page.get_by_role("button", name="家长签字免写今晚作业").click()
    expect(page.get_by_role("status").first).to_contain_text("今晚已免写")
    expect(page.get_by_text("预计用时")).to_have_count(0)  # nothing left to do or to count tonight
    expect(page.locator("ol.tonight")).to_have_count(0)
    expect(page.get_by_role("button", name="撤销免写（今晚继续做作业）")).to_have_count(
        0
    )  # not tonight any more
    shot(page, site, "parent-excused")
    with site.engine.connect() as conn:
        assert conn.execute(
            select(t.exemptions.c.night, t.exemptions.c.note).where(
                t.exemptions.c.student_id == site.students[1]
            )
        ).all() == [(night, "身体不适：发烧")]


def test_a_head_teacher_sees_the_evening_the_weekly_notice_and_the_burden_chart(
    page: Page, site: Site
) -> None:
    night = date(2026, 11, 13)
    site.publish(night)
    r = httpx.post(f"{site.base}/v1/students/{site.students[0]}/evening-reports",
                   json={"night": night.isoformat(), "minutes": 75}, headers=site.api_token("s-1"))  # fmt: skip
    assert r.status_code == 201, r.text
    sign_in(page, site, "h-1", f"/school/evening?class_id={CLASS}&night={night}")
    rows = page.locator("table.sets tbody tr")
    expect(rows).to_have_count(len(_class(site)))
    expect(rows.first.locator("td.num").first).to_have_text(re.compile(r"^\d+(\.\d+)? / 60$"))
    expect(page.locator("td.num", has_text="75.0")).to_have_count(1)  # the reported evening
    shot(page, site, "head-evening")
    accessible(page)

    page.get_by_role("link", name="作业公示").click()
    page.goto(f"{site.base}/school/notice?class_id={CLASS}&week_of={night}")
    days = page.locator("table.sets tbody tr")
    expect(days).to_have_count(7)
    expect(page.locator("table.sets caption")).to_contain_text("不含任何个人信息")
    for name in page.locator("th[scope=row]").all_inner_texts():
        assert re.match(r"^周. 2026-", name)  # days, never students
    expect(page.locator("p.message", has_text="没有通过本系统布置")).to_have_count(0)  # this week has sets
    shot(page, site, "head-notice")
    accessible(page)
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    # a week with no sets handed out (the sample logs' October): says so, and where reported time is
    page.goto(f"{site.base}/school/notice?class_id={CLASS}&week_of=2026-10-12")
    empty = page.locator("p.message", has_text="这一周没有通过本系统布置")
    expect(empty).to_be_visible()
    expect(empty.get_by_role("link", name="作业负担监测")).to_have_attribute(
        "href", f"/school/burden?class_id={CLASS}"
    )
    accessible(page)

    page.goto(f"{site.base}/school/burden?class_id={CLASS}&start=2026-11-09&end=2026-11-15")
    chart = page.locator("svg.chart")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.rep.over")).to_have_count(1)  # 75 reported minutes over a 60-minute cap
    assert chart.locator("rect.est").count() >= 2
    shot(page, site, "head-burden")
    accessible(page)

    page.goto(f"{site.base}/school/allocations?class_id={CLASS}")
    monday = page.locator("form.allocation").first
    monday.get_by_label("数学").fill("2")
    monday.get_by_label("语文").fill("1")
    monday.get_by_role("button", name=re.compile("保存")).click()
    expect(page.get_by_role("status")).to_contain_text("已保存")
    with site.engine.connect() as conn:
        saved = dict(conn.execute(select(t.class_allocations.c.subject, t.class_allocations.c.weight).where(
            t.class_allocations.c.class_id == CLASS, t.class_allocations.c.weekday == 0)).all())  # fmt: skip
    assert saved == {"math": 2.0, "chinese": 1.0}
    shot(page, site, "head-allocations")
    accessible(page)


def _class(site: Site) -> list[str]:
    with site.engine.connect() as conn:
        return list(
            conn.execute(select(t.students.c.student_id).where(t.students.c.class_id == CLASS)).scalars()
        )


def _pages(pdf: bytes) -> list[str]:
    """The text of each page of a PDF."""
    from pypdf import PdfReader

    return [re.sub(r"\s+", "", page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages]


def one_sheet_each(pdf: bytes, names: list[str]) -> None:
    """One page per student, each whole: the name at the top, the time box and the signature line."""
    pages = _pages(pdf)
    assert len(pages) == len(names), f"{len(pages)} pages for {len(names)} students"
    for text, name in zip(pages, names, strict=True):
        assert text.startswith(name) and "实际用时" in text and "家长签字" in text, text[:80]


def test_worksheets_print_to_pdf_one_page_per_student(page: Page, site: Site) -> None:
    night = date(2026, 11, 16)
    site.publish(night)
    with site.engine.connect() as conn:
        published = conn.execute(
            select(t.plans.c.student_id).where(t.plans.c.night == night, t.plans.c.status == "published")
        ).scalars().all()  # fmt: skip
    sign_in(page, site, "t-math", f"/worksheets?class_id={CLASS}&subject=math&night={night}")
    sheets = page.locator("article.sheet")
    names = [re.sub(r"\s+", "", n) for n in page.locator("article.sheet h2").all_inner_texts()]
    names = [n.split("·")[0] for n in names]
    expect(sheets).to_have_count(len(published))
    first = sheets.first
    expect(first).to_contain_text("实际用时")
    expect(first).to_contain_text("家长签字")
    expect(first.locator(".answer").first).to_be_visible()  # room to write for written items
    expect(first.locator(".item-head").first).to_contain_text("分钟")
    shot(page, site, "worksheet")
    accessible(page)
    printed = page.pdf(format="A4", print_background=True)
    one_sheet_each(printed, names)  # one A4 page per student, nothing cut off
    import pypdfium2

    pypdfium2.PdfDocument(printed)[0].render(scale=1.4).to_pil().save(site.shots / "worksheet-printed.png")
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 794, "height": 1123})  # an A4 sheet at 96 dpi, as it prints
    shot(page, site, "worksheet-print")
    page.set_viewport_size({"width": 1360, "height": 900})
    page.emulate_media(media="screen")

    with page.expect_download() as download:
        page.get_by_role("link", name="下载 PDF").click()
    path = download.value.path()
    data = Path(path).read_bytes()
    sheets_that_scan_back(data, names)


def sheets_that_scan_back(pdf: bytes, names: list[str]) -> None:
    """The PDF for scanning back (issue 16): each student's sheet on as many A4 pages as writing
    needs, each page named and numbered (第 k/n 页), the time bubbles and the signature on its last."""
    pages = _pages(pdf)
    at = 0
    for name in names:
        first = re.search(r"第1/(\d+)页", pages[at])
        assert pages[at].startswith(name) and first, pages[at][:80]
        count = int(first.group(1))
        for k in range(1, count + 1):
            assert pages[at + k - 1].startswith(name) and f"第{k}/{count}页" in pages[at + k - 1]
        last = pages[at + count - 1]
        assert "实际用时" in last and "家长签字" in last, last[-120:]
        at += count
    assert at == len(pages), f"{len(pages) - at} pages left over after every student's sheet"


def test_pages_switch_to_english_and_refuse_others_and_forged_forms(page: Page, site: Site) -> None:
    sign_in(page, site, "s-1", "/student?night=2026-11-11")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name=re.compile("^Tonight's homework"))).to_be_visible()
    page.goto(f"{site.base}/student?night=2026-11-11&student_id={site.students[5]}")  # not theirs: own only
    expect(page.locator("body")).not_to_contain_text(site.students[5])
    r = page.goto(f"{site.base}/teacher")
    assert r is not None and r.status == 403
    r = page.goto(f"{site.base}/school/evening?class_id={CLASS}&night=2026-11-11")
    assert r is not None and r.status == 403
    # a form posted without its CSRF token (as another site would) changes nothing
    before = _attempts(site)
    r = page.request.post(f"{site.base}/student/answer", form={
        "student_id": site.students[0], "night": "2026-11-11", "item_id": "math-g5-01-001", "event_id": "forged",
        "minutes": "3", "correct": "1"})  # fmt: skip
    assert r.status == 403 and _attempts(site) == before
    r = page.goto(f"{site.base}/student?night=2026-13-40")  # a wrong date: an error page, not a crash
    assert r is not None and r.status == 422 and "text/html" in r.headers["content-type"]
    page.context.clear_cookies()
    sign_in(page, site, "p-1", "/school/notice")  # a parent reads their child's class's notice
    expect(page.locator("table.sets tbody tr")).to_have_count(7)
    page.context.clear_cookies()
    page.goto(f"{site.base}/teacher?class_id={CLASS}")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fteacher%3Fclass_id%3D"))


def _attempts(site: Site) -> int:
    with site.engine.connect() as conn:
        return len(conn.execute(select(t.attempts.c.event_id)).all())


def test_the_review_report_counts_a_night_prints_on_a4_and_is_for_the_class_s_teachers(
    page: Page, site: Site
) -> None:
    night = date(2026, 11, 17)
    site.publish(night)
    student = site.api_token("s-1")
    r = httpx.get(f"{site.base}/v1/students/{site.students[0]}/tonight", params={"night": str(night)},
                  headers=student)  # fmt: skip
    assert r.status_code == 200, r.text
    items = [i["item_id"] for i in r.json()["items"] if i["subject"] == "math"]
    batch = {"attempts": [
        {"event_id": f"review-{k}", "item_id": item, "night": str(night), "correct": k == 1, "seconds": 120,
         "submitted_at": f"{night}T19:{10 + k}:00+08:00"} for k, item in enumerate(items[:2])]}  # fmt: skip
    r = httpx.post(f"{site.base}/v1/students/{site.students[0]}/attempts", json=batch, headers=student)
    assert r.status_code == 200, r.text
    with site.engine.connect() as conn:
        n = len(conn.execute(select(t.plans.c.plan_id).where(
            t.plans.c.night == night, t.plans.c.subject == "math", t.plans.c.status == "published")).all())  # fmt: skip

    sign_in(page, site, "t-math", f"/teacher?class_id={CLASS}&subject=math&night={night}")
    page.locator("#review-link").click()  # from the teacher's page
    expect(page.get_by_role("heading", name=re.compile("^作业讲评"))).to_be_visible()
    page.goto(f"{site.base}/teacher/review?class_id={CLASS}&subject=math&night={night}")
    expect(page.locator("#review-summary")).to_contain_text(f"{n} 名学生有作业，1 名已交，{n - 1} 名未交")
    expect(page.locator("ul.names li")).to_have_count(n - 1)  # who has not handed in, by display name
    expect(page.locator(f"#missed-{items[0]}")).to_be_visible()  # the wrong one is among the most missed
    expect(page.locator(f"#item-{items[1]} td.num").nth(1)).to_have_text("1")  # answered right by one
    assert page.locator("table.points tbody tr").count() >= 1
    shot(page, site, "review")
    accessible(page)
    assert page.pdf(format="A4", print_background=True).startswith(b"%PDF")
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 794, "height": 1123})
    expect(page.locator("form.row")).to_be_hidden()  # the choices stay off the printed page
    shot(page, site, "review-print")
    page.set_viewport_size({"width": 1360, "height": 900})
    page.emulate_media(media="screen")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name=re.compile("^Homework review"))).to_be_visible()
    expect(page.locator("#review-summary")).to_contain_text(f"{n} students were set work; 1 handed in")
    page.goto(f"{site.base}/teacher/review?class_id={CLASS}&subject=math&night={night}&lang=zh")

    page.context.clear_cookies()
    sign_in(page, site, "h-1", f"/teacher/review?class_id={CLASS}&subject=math&night={night}")
    expect(page.locator("#review-summary")).to_contain_text("1 名已交")
    accessible(page)
    for who in ("s-1", "p-1"):  # a student or a parent: not this page
        page.context.clear_cookies()
        sign_in(page, site, who, "/teacher/review")
        r2 = page.goto(f"{site.base}/teacher/review?class_id={CLASS}&subject=math&night={night}")
        assert r2 is not None and r2.status == 403
        expect(page.locator("body")).not_to_contain_text(site.students[2])
