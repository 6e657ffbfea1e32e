"""The whole first evening of a new user on the sample school (issue 17), in a real browser: the teacher,
the head teacher, a student and a parent on a phone, and the API a student app is built on. Every step
checks what a person sees.

The sample school as it comes (the page tests' fixture gives maths every evening; here that is taken
back, so the school's default split is in force): on a Wednesday grade 5 at sch-east gets no maths
(T8, two subjects an evening), and the teacher's page says so and links to the allocations page,
where the head teacher sees the split in minutes and gives maths tonight's time. Then tonight (the
school's today, as the pages and the API take it by default): the teacher plans and reads the
preview (question text, point names, the class summary), publishes, plans again (the page says the
class has published sets, offers only students without a set or replacing drafts, and hides no
published work); the student, on a 390×844 phone, reads tonight with question text, nothing
pre-filled, and hands in answers that show their results; the parent excuses the evening with a
reason and a confirmation, undoes it and excuses it again; the excused evening then shows on the
student's page, in the API, on the head teacher's evening and in the weekly notice. A set's minutes
are the same in the preview, on the worksheet, on the student's page and in the API.

The browser, the served app and the helpers are test_pages.py's (Debian's chromium driven by
Playwright, uvicorn on loopback, the models trained on data_samples/)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import Connection, delete, func, select

from service import evenings
from service.policy.minutes import shown
from service.store import tables as t
from tests.browser import CLASS, Site, accessible, shot, sign_in

WEDNESDAY = date(2026, 11, 18)  # a school day on which the default split gives grade 5 no maths
ITEM_ID = re.compile(r"\b[a-z]+-g\d+-\d\d-\d{3}\b")  # how an item id reads: never shown as homework
POINT_ID = re.compile(r"\b[a-z]+-g\d+-\d\d\b")


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A phone: 390 × 844, touch, as a student or a parent holds it."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    found = context.new_page()
    yield found
    context.close()


def _fits(page: Page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390, "sideways scrolling on a phone"


def _school_today(site: Site) -> date:
    with site.engine.connect() as conn:
        zone = conn.execute(
            select(t.schools.c.timezone)
            .join(t.classes, t.classes.c.school_id == t.schools.c.school_id)
            .where(t.classes.c.class_id == CLASS)
        ).scalar_one()
    return evenings.school_today(zone, datetime.now(UTC))


def _minutes(locator: Locator) -> tuple[float, float]:
    """The typical and conservative minutes an element shows (its data, and its words agree)."""
    typical = float(locator.get_attribute("data-typical") or "nan")
    bound = float(locator.get_attribute("data-bound") or "nan")
    words = locator.inner_text()
    assert f"典型 {shown(typical)} 分钟" in words and f"保守 {shown(bound)} 分钟" in words, words
    return typical, bound


def _texts(site: Site, item_ids: list[str]) -> dict[str, str]:
    with site.engine.connect() as conn:
        return dict(
            conn.execute(
                select(t.items.c.item_id, t.items.c.stem).where(t.items.c.item_id.in_(item_ids))
            ).all()
        )


def test_first_evening_of_a_teacher_head_teacher_student_and_parent(
    page: Page, phone: Page, site: Site
) -> None:
    with site.engine.begin() as conn:  # the sample school as it comes: the school's default split
        conn.execute(delete(t.class_allocations).where(t.class_allocations.c.class_id == CLASS))
        names = dict(
            conn.execute(
                select(t.students.c.student_id, t.students.c.display_name).where(
                    t.students.c.class_id == CLASS
                )
            ).all()
        )
    student, child = site.students[0], site.students[1]  # s-1's and p-1's
    tonight = _school_today(site)

    # 1. A Wednesday: maths got no minutes. The page says why and where it is fixed; no empty rows.
    sign_in(page, site, "t-math", f"/teacher?class_id={CLASS}&subject=math&night={WEDNESDAY}")
    expect(page.get_by_role("heading", name="布置作业")).to_be_visible()
    page.get_by_role("button", name="生成分层作业").click()
    why = page.locator(".no-time")
    expect(why).to_have_count(1)
    expect(why).to_contain_text("今晚数学没有分到时间：本周三的作业时间分给了语文、英语（学校默认分配）")
    expect(why).to_contain_text("请班主任在“作业时间分配”里调整周三的分配")
    expect(why).to_contain_text(f"涉及本班 {len(names)} 名学生")
    link = why.get_by_role("link", name="作业时间分配")
    assert link.get_attribute("href") == f"/school/allocations?class_id={CLASS}"
    expect(page.locator("table.sets")).to_have_count(0)  # no rows of empty sets
    shot(page, site, "evening-no-time")
    accessible(page)

    # 2. The head teacher follows the link: the split in force, in minutes; gives maths tonight's time.
    head = page.context.browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")  # type: ignore[union-attr]
    hp = head.new_page()
    sign_in(hp, site, "h-1", f"/school/allocations?class_id={CLASS}")
    expect(hp.get_by_role("heading", level=1)).to_have_text("作业时间分配 · 五年级1班")
    wednesday = hp.locator("#minutes-2")
    expect(wednesday).to_contain_text("语文")
    expect(wednesday).to_contain_text("英语")
    expect(wednesday).not_to_contain_text("数学")
    expect(hp.locator("form.allocation").nth(2).locator("legend")).to_contain_text("学校默认")
    assert re.search(r"\d+", wednesday.inner_text()), "the split in minutes"
    day = tonight.weekday()
    form = hp.locator("form.allocation").nth(day)
    for box in form.locator("input[type=number]").all():
        box.fill("")
    form.get_by_label("数学").fill("1")
    form.get_by_label("语文").fill("1")
    form.get_by_role("button", name=re.compile("保存")).click()
    expect(hp.get_by_role("status")).to_contain_text("已保存")
    expect(hp.locator(f"#minutes-{day}")).to_contain_text(re.compile(r"数学 \d+ 分钟"))

    # 3. Tonight: the teacher ticks today's lesson and plans. The preview is homework, not ids.
    with site.engine.connect() as conn:
        taught = select(t.teaching_progress.c.kp_id).where(t.teaching_progress.c.class_id == CLASS)
        lesson, lesson_name = conn.execute(
            select(t.knowledge_points.c.kp_id, t.knowledge_points.c.name)
            .where(t.knowledge_points.c.subject == "math", t.knowledge_points.c.grade == 5,
                   t.knowledge_points.c.kp_id.not_in(taught))
            .order_by(t.knowledge_points.c.unit, t.knowledge_points.c.order)
            .limit(1)
        ).one()  # fmt: skip
    page.goto(f"{site.base}/teacher?class_id={CLASS}&subject=math&night={tonight}")
    page.locator(f"#kp-{lesson}").check()
    page.get_by_role("button", name="生成分层作业").click()
    expect(page.locator(".no-time")).to_have_count(0)
    rows = page.locator("table.sets tbody tr")
    expect(rows).to_have_count(len(names))
    summary = page.locator("#summary")
    expect(summary.get_by_role("heading", level=2)).to_contain_text("五年级1班")  # as the school writes it
    expect(page.locator("#state-counts")).to_have_text(
        f"已发布 0 人 · 草稿 {len(names)} 人 · 还没有作业 0 人"
    )
    expect(summary.locator("ul.tiers li").first).to_contain_text("典型用时")
    covered = page.locator("#covered tbody th", has_text=lesson_name)  # tonight's point, by its name
    expect(covered).to_have_count(1)
    expect(page.locator("#attention h3")).to_be_visible()
    main = page.locator("main").inner_text()
    assert not ITEM_ID.search(main), ITEM_ID.search(main)
    assert not POINT_ID.search(main), POINT_ID.search(main)
    assert "模型版本" not in main
    row = page.locator(f"#row-{student}")
    expect(row.locator("th")).to_have_text(names[student])
    row.locator("details.set summary").click()
    stems = row.locator("ol.items .stem")
    assert stems.count() >= 2
    with site.engine.connect() as conn:
        plan_id, planned_items = _plan_of(conn, student, tonight)
    texts = _texts(site, planned_items)
    shown = [s.strip() for s in stems.all_inner_texts()]
    assert len(shown) == len(planned_items) and all(s for s in shown)
    matched = set()
    for item in planned_items:  # each question as text (the maths typeset legibly: compare its words)
        found = [k for k, s in enumerate(shown) if _same_words(texts[item], s)]
        assert found, (texts[item], shown)
        matched.update(found)
    assert len(matched) == len(shown)  # every question shown is one of the set's
    expect(row.locator(".reason", has_text=f"今天新课：{lesson_name}").first).to_be_attached()
    expect(row.locator("ul.levels li").first).to_contain_text(re.compile(r"：|: "))
    assert not POINT_ID.search(row.locator("ul.levels").inner_text())
    expect(row.locator(".share-subject")).to_contain_text("今晚数学份额")
    expect(row.locator(".share-evening")).to_contain_text("整晚")
    preview_minutes = _minutes(row.locator(".set-minutes"))
    row.scroll_into_view_if_needed()
    shot(page, site, "evening-preview")

    # 4. Publish.
    page.get_by_role("button", name=re.compile(r"发布全部草稿 \(\d+\)")).click()
    expect(page.get_by_role("status")).to_contain_text(f"已发布 {len(names)} 份")

    # 5. Planning again says so and offers the two ways; published work stays in view and unchanged.
    replan = page.locator("#replan")
    expect(replan).to_contain_text("本晚已经生成过作业")
    expect(replan).to_contain_text(f"已发布 {len(names)} 人、草稿 0 人、还没有作业 0 人")
    expect(replan.get_by_label("只给还没有作业的学生生成")).to_be_checked()
    expect(replan.get_by_label("替换草稿，重新生成（不动已发布的）")).to_be_visible()
    page.get_by_role("button", name="生成分层作业").click()
    expect(page.locator("details.set-published")).to_have_count(len(names))
    expect(page.locator("details.set-draft")).to_have_count(0)
    expect(page.locator("#publish")).to_have_count(0)  # nothing to publish on top
    page.get_by_label("替换草稿，重新生成（不动已发布的）").check()
    page.get_by_role("button", name="生成分层作业").click()
    expect(page.locator("details.set-published")).to_have_count(len(names))
    expect(page.locator("#publish")).to_have_count(0)
    assert _minutes(page.locator(f"#row-{student} .set-minutes")) == preview_minutes
    with site.engine.connect() as conn:
        assert _plan_of(conn, student, tonight) == (plan_id, planned_items)
        states = conn.execute(
            select(t.plans.c.status, func.count()).where(
                t.plans.c.night == tonight, t.plans.c.subject == "math", t.plans.c.status != "discarded"
            ).group_by(t.plans.c.status)
        ).all()  # fmt: skip
    assert dict(states) == {"published": len(names)}
    accessible(page)

    # 6. The worksheet shows the same minutes.
    page.goto(f"{site.base}/worksheets?class_id={CLASS}&subject=math&night={tonight}")
    sheet = page.locator("article.sheet", has=page.locator("h2", has_text=names[student]))
    expect(sheet).to_have_count(1)
    assert _minutes(sheet.locator(".set-minutes")) == preview_minutes
    for item in planned_items:
        expect(sheet.locator(".stem", has_text=texts[item][:8]).first).to_be_attached()

    # 7. The student on a phone: tonight (the school's today by default), question text, nothing pre-filled.
    sign_in(phone, site, "s-1", "/student")
    expect(phone.get_by_role("heading", name=f"今晚的作业 · {tonight}")).to_be_visible()
    items = phone.locator("ol.tonight > li")
    expect(items).to_have_count(len(planned_items))
    for item in planned_items:
        expect(phone.locator(f"#item-{item} .stem")).to_have_text(texts[item])
    assert _minutes(phone.locator(".set-minutes").first) == preview_minutes
    for k in range(items.count()):
        expect(items.nth(k).get_by_label("用时（分钟）")).to_have_value("")
        choose = items.nth(k).locator("select[name=correct]")
        if choose.count():
            expect(choose).to_have_value("")
    _fits(phone)
    shot(phone, site, "evening-student-phone")
    accessible(phone)
    done: list[str] = []
    for _ in range(min(2, items.count())):  # two items handed in: a typed answer or the student's own mark
        li = phone.locator("ol.tonight > li:not(.done)").first
        item = (li.get_attribute("id") or "").removeprefix("item-")
        li.get_by_label("用时（分钟）").fill("3")
        if li.locator("input[name=answer]").count():
            li.locator("input[name=answer]").fill("不会")
            want = "做错了"
        else:
            li.locator("select[name=correct]").select_option("1")
            want = "做对了"
        li.get_by_role("button", name="提交").click()
        expect(phone.locator(f"#item-{item} .done-mark")).to_contain_text(want)
        done.append(item)
    expect(phone.locator("ol.tonight > li.done")).to_have_count(len(done))
    expect(phone.locator("ol.tonight > li:not(.done) form")).to_have_count(len(planned_items) - len(done))
    _fits(phone)
    shot(phone, site, "evening-student-done")

    # 8. The API a student app reads: tonight by default, with the question text and the same minutes.
    api = httpx.get(f"{site.base}/v1/students/{student}/tonight", headers=site.api_token("s-1"))
    assert api.status_code == 200, api.text
    body = api.json()
    assert body["night"] == tonight.isoformat() and body["excused"] is False
    assert (body["planned_minutes"], body["bound_minutes"]) == preview_minutes
    assert {i["item_id"]: i["stem"] for i in body["items"]} == {i: texts[i] for i in planned_items}

    # 9. The parent on a phone: excuses with a reason and a confirmation, undoes, excuses again.
    phone.context.clear_cookies()
    sign_in(phone, site, "p-1", "/student")
    expect(phone.get_by_role("heading", name=f"今晚的作业 · {tonight}")).to_be_visible()
    child_items = phone.locator("ol.tonight > li")
    assert child_items.count() >= 1
    expect(phone.get_by_text("预计用时").first).to_be_visible()
    excuse = phone.get_by_role("button", name="家长签字免写今晚作业")
    at = phone.url
    excuse.click()  # no reason, nothing confirmed: the browser keeps it
    form = phone.locator("form", has=excuse)
    assert form.evaluate("f => !f.checkValidity()")  # the browser refuses to send it, not a slow server
    phone.wait_for_load_state()
    assert phone.url == at
    expect(phone.get_by_text("今晚已免写")).to_have_count(0)
    assert _excused(site, child, tonight) == []
    _fits(phone)
    notice_before = _notice_maths(site, tonight)
    phone.get_by_label("免写原因").select_option(label="身体不适")
    phone.get_by_label("我确认：今晚的书面作业不做，也不会移到明天。").check()
    excuse.click()
    expect(phone.get_by_role("status").first).to_contain_text("今晚已免写")
    expect(phone.locator("ol.tonight")).to_have_count(0)
    assert _excused(site, child, tonight) == ["身体不适"]
    phone.get_by_role("button", name="撤销免写（今晚继续做作业）").click()  # tonight: it can be undone
    expect(phone.locator("ol.tonight > li")).to_have_count(child_items.count())
    expect(phone.get_by_text("今晚已免写")).to_have_count(0)
    assert _excused(site, child, tonight) == []
    phone.get_by_label("免写原因").select_option(label="家庭安排")
    phone.get_by_label("补充说明（可不填）").fill("去医院看外婆")
    phone.get_by_label("我确认：今晚的书面作业不做，也不会移到明天。").check()
    phone.get_by_role("button", name="家长签字免写今晚作业").click()
    expect(phone.get_by_role("status")).to_have_text("今晚已免写")  # said once
    expect(phone.get_by_text("预计用时")).to_have_count(0)
    expect(phone.get_by_role("button", name="撤销免写（今晚继续做作业）")).to_be_visible()
    assert _excused(site, child, tonight) == ["家庭安排：去医院看外婆"]
    _fits(phone)
    shot(phone, site, "evening-parent-excused")
    accessible(phone)

    # 10. Excused everywhere: the API, the head teacher's evening, the weekly notice.
    api = httpx.get(f"{site.base}/v1/students/{child}/tonight", headers=site.api_token("p-1"))
    assert api.status_code == 200 and api.json()["excused"] is True, api.text
    hp.goto(f"{site.base}/school/evening?class_id={CLASS}&night={tonight}")
    expect(hp.get_by_role("heading", level=1)).to_contain_text("五年级1班")  # as the school writes it
    evening = hp.locator("table.sets tbody tr", has=hp.locator("th", has_text=names[child]))
    expect(evening).to_have_count(1)
    expect(evening.locator("td").first).to_have_text("免写")
    expect(evening.locator("td.num").first).to_have_text(re.compile(r"^0(\.0)? / 60$"))  # it counts nothing
    others = hp.locator("table.sets tbody tr", has=hp.locator("th", has_text=names[student]))
    expect(others.locator("td.num").first).not_to_have_text(re.compile(r"^0 / "))
    evening.scroll_into_view_if_needed()
    shot(hp, site, "evening-head-excused")
    with site.engine.connect() as conn:
        minutes = dict(
            conn.execute(
                select(t.plans.c.student_id, t.plans.c.typical_minutes).where(
                    t.plans.c.night == tonight, t.plans.c.subject == "math", t.plans.c.status == "published"
                )
            ).all()
        )
    assert notice_before == round(sum(minutes.values()) / len(names), 1)
    hp.goto(f"{site.base}/school/notice?class_id={CLASS}&week_of={tonight}")
    expect(hp.get_by_role("heading", level=1)).to_contain_text("五年级1班")
    weekday = hp.locator("table.sets tbody tr", has=hp.locator("th", has_text=tonight.isoformat()))
    excused_out = round((sum(minutes.values()) - minutes[child]) / len(names), 1)
    assert excused_out < notice_before
    expect(weekday.locator("td.num").first).to_have_text(str(excused_out))  # maths, the first subject
    head.close()


def _plan_of(conn: Connection, student: str, night: date) -> tuple[str, list[str]]:
    plan_id = conn.execute(
        select(t.plans.c.plan_id).where(
            t.plans.c.student_id == student, t.plans.c.night == night, t.plans.c.subject == "math",
            t.plans.c.status.in_(("draft", "published")),
        )
    ).scalar_one()  # fmt: skip
    items = conn.execute(
        select(t.plan_items.c.item_id)
        .where(t.plan_items.c.plan_id == plan_id)
        .order_by(t.plan_items.c.item_id)
    ).scalars()
    return str(plan_id), sorted(items)


def _same_words(stem: str, shown: str) -> bool:
    """The question as the page shows it: its text, the maths typeset (× for *, fractions laid out)."""
    plain = re.sub(r"[\s*×÷/]", "", stem)
    return plain[:12] in re.sub(r"[\s*×÷/]", "", shown)


def _excused(site: Site, student: str, night: date) -> list[str]:
    with site.engine.connect() as conn:
        return list(
            conn.execute(
                select(t.exemptions.c.note).where(
                    t.exemptions.c.student_id == student, t.exemptions.c.night == night
                )
            ).scalars()
        )


def _notice_maths(site: Site, night: date) -> float:
    """The weekly notice's maths average for a night, as the API gives it to the head teacher."""
    r = httpx.get(f"{site.base}/v1/classes/{CLASS}/notice", params={"week_of": night.isoformat()},
                  headers=site.api_token("h-1"))  # fmt: skip
    assert r.status_code == 200, r.text
    day = next(d for d in r.json()["days"] if d["night"] == night.isoformat())
    return float(day["subjects"].get("math", 0.0))
