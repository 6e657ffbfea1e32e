"""The teacher's pages through HTTP (FastAPI's TestClient, the real model trained on data_samples/):
the preview after planning (question text, point names, reasons in words, the class summary, the
school's class names, no model version, fast), explicit re-planning, one figure for a set's minutes
in the preview, the worksheet and the API, and the edit page (choices kept after a refusal, the
bank browser, a teacher's own item)."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select

from models.bundle import Bundle
from service.app import create_app
from service.auth import create_user
from service.policy.evenings import set_allocation
from service.policy.minutes import shown
from service.policy.policy import PolicyBook
from service.settings import Settings
from service.store import tables as t
from service.store.db import make_engine
from tests.conftest import SAMPLES, FixedModels

CLASS = "east-5-1"
NIGHT = date(2026, 11, 10)  # a Tuesday
PASSWORD = "teacher-pages-1"


@dataclass
class Site:
    client: TestClient
    engine: Engine

    def api(self, username: str) -> dict[str, str]:
        r = self.client.post("/v1/token", data={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def sign_in(self, username: str) -> None:
        """The page session of `username` (the sign-in form with its own CSRF token)."""
        self.client.cookies.clear()
        form = self.client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token, form.text
        r = self.client.post("/login", data={"username": username, "password": PASSWORD, "next": "/",
                                             "csrf": token.group(1)}, follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text

    def csrf(self, path: str) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.client.get(path).text)
        assert found
        return found.group(1)


@pytest.fixture(scope="module")
def site(samples_sqlite: str, bundle: Bundle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp_path = tmp_path_factory.mktemp("teacher-pages")
    shutil.copy(Path(samples_sqlite.removeprefix("sqlite:///")), tmp_path / "school.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'school.db'}")
    book = PolicyBook(SAMPLES / "policies")
    for weekday in range(5):  # the head teacher gives maths half of every school evening
        set_allocation(engine, book, CLASS, weekday, {"math": 1, "chinese": 1})
    create_user(engine, "t-math", PASSWORD, "teacher", scopes=[("class", CLASS, "math")])
    settings = Settings(data_dir=tmp_path / "var", jwt_secret="t" * 40, policy_dir=SAMPLES / "policies")
    app = create_app(settings, engine=engine, models=FixedModels(bundle))
    with TestClient(app, base_url="https://testserver") as client:
        yield Site(client, engine)
    engine.dispose()


def _text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


ITEM_ID = re.compile(r"\b[a-z]+-g\d+-\d+-\d+\b")  # an item's id, e.g. math-g5-19-006


def _plan_on_page(site: Site, night: date, replan: str = "", kps: tuple[str, ...] = ()) -> httpx.Response:
    page = f"/teacher?class_id={CLASS}&subject=math&night={night}"
    data: dict[str, Any] = {
        "class_id": CLASS,
        "subject": "math",
        "night": str(night),
        "csrf": site.csrf(page),
    }
    if replan:
        data["replan"] = replan
    if kps:
        data["kps"] = list(kps)
    return site.client.post("/teacher/plan", data=data, follow_redirects=False)


def _preview(site: Site, night: date) -> str:
    r = site.client.get(f"/teacher?class_id={CLASS}&subject=math&night={night}")
    assert r.status_code == 200, r.text[:2000]
    return r.text


def _statements(site: Site, night: date) -> tuple[int, float, str]:
    """(SQL statements, seconds, html) of one preview request."""
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(site.engine, "before_cursor_execute", count)
    try:
        start = time.perf_counter()
        html = _preview(site, night)
        took = time.perf_counter() - start
    finally:
        event.remove(site.engine, "before_cursor_execute", count)
    return len(seen), took, html


def test_the_preview_shows_questions_point_names_reasons_the_summary_and_loads_fast(site: Site) -> None:
    night = date(2026, 11, 10)
    site.sign_in("t-math")
    with site.engine.connect() as conn:
        class_name = conn.execute(select(t.classes.c.name).where(t.classes.c.class_id == CLASS)).scalar_one()
        today = conn.execute(
            select(t.knowledge_points.c.kp_id, t.knowledge_points.c.name)
            .join(t.teaching_progress, t.teaching_progress.c.kp_id == t.knowledge_points.c.kp_id)
            .where(t.teaching_progress.c.class_id == CLASS, t.teaching_progress.c.subject == "math",
                   t.teaching_progress.c.taught_on <= night)
            .order_by(t.teaching_progress.c.taught_on.desc(), t.knowledge_points.c.kp_id)
            .limit(1)
        ).one()  # fmt: skip
    r = _plan_on_page(site, night, kps=(today.kp_id,))
    assert r.status_code == 303, r.text[:2000]
    statements, seconds, html = _statements(site, night)
    print(f"preview of {CLASS} (45 students) after planning: {seconds:.3f} s, {statements} SQL statements")
    text = _text(html)
    with site.engine.connect() as conn:
        planned = conn.execute(
            select(t.items.c.stem, t.knowledge_points.c.name, t.plan_items.c.reason_zh)
            .join(t.plan_items, t.plan_items.c.item_id == t.items.c.item_id)
            .join(t.plans, t.plans.c.plan_id == t.plan_items.c.plan_id)
            .join(t.item_kps, (t.item_kps.c.item_id == t.items.c.item_id) & (t.item_kps.c.position == 0))
            .join(t.knowledge_points, t.knowledge_points.c.kp_id == t.item_kps.c.kp_id)
            .where(t.plans.c.night == night, t.plans.c.subject == "math")
        ).all()  # fmt: skip
    assert len(planned) > 45
    for stem, name, reason in planned[:: max(1, len(planned) // 25)]:
        assert _text(stem).strip() in text  # the question itself, not its id
        assert name in text
        assert reason in text
    assert not ITEM_ID.search(text), ITEM_ID.search(text)  # no item ids for the teacher to decode
    assert f"今天新课：{today.name}" in text  # reasons in words, with the point's name
    assert not re.search(r"今天新课 \d|巩固：\d", text)  # never a unit number
    assert "模型版本" not in text
    assert class_name in text and CLASS not in text  # the school's name for the class, never its id
    summary = _text(html[html.index('id="summary"') : html.index('id="preview-h"')])
    assert re.search(r"基础（必做）：\d+ 名学生，典型用时 [\d.]+–[\d.]+ 分钟", summary), summary
    assert today.name in summary and "需要关注" in summary
    counts = re.search(r"<th scope=\"row\">" + re.escape(today.name) + r"</th><td>(\d+)</td>((?:<td>\d+</td>){4})",
                       html)  # fmt: skip
    assert counts, "the level counts of today's point"
    levels = [int(x) for x in re.findall(r"\d+", counts.group(2))]
    assert sum(levels) == int(counts.group(1)) > 0  # every student with the point counted at a level
    # compact: every student's items behind <details> (no JavaScript), one line per student
    assert html.count('<details class="set') >= 45 and " open" not in html[html.index('id="preview-h"') :]
    # fast: a fixed number of statements whatever the class's size (no query per row)
    assert statements <= 40, statements


def test_planning_again_is_explicit_and_never_hides_published_work(site: Site) -> None:
    night = date(2026, 11, 11)
    site.sign_in("t-math")
    teacher = site.api("t-math")
    body = {"subject": "math", "night": str(night)}
    first = site.client.post(f"/v1/classes/{CLASS}/plans", json=body, headers=teacher)
    assert first.status_code == 200, first.text
    drafted = [s for s in first.json()["students"] if s["status"] == "draft"]
    one = drafted[0]
    r = site.client.post(f"/v1/plans/{one['plan_id']}/publish", headers=teacher)
    assert r.status_code == 200, r.text
    # again without saying how: refused, saying what is there (the API and the page)
    again = site.client.post(f"/v1/classes/{CLASS}/plans", json=body, headers=teacher)
    assert again.status_code == 409, again.text
    assert again.json()["published"] == 1 and again.json()["drafts"] == len(drafted) - 1
    assert again.json()["options"] == ["missing", "replace_drafts"]
    refused = _plan_on_page(site, night)
    assert refused.status_code == 409 and "已经生成过" in _text(refused.text)
    html = _preview(site, night)
    assert 'id="replan"' in html and "已发布 1 人" in _text(html)
    # replace the drafts: the published student keeps her set, the others get new drafts
    r = _plan_on_page(site, night, replan="replace_drafts")
    assert r.status_code == 303, r.text[:2000]
    with site.engine.connect() as conn:
        live = conn.execute(
            select(t.plans.c.plan_id, t.plans.c.student_id, t.plans.c.status)
            .where(t.plans.c.night == night, t.plans.c.subject == "math", t.plans.c.status.in_(["draft", "published"]))
        ).all()  # fmt: skip
    mine = [p for p in live if p.student_id == one["student_id"]]
    assert [(p.plan_id, p.status) for p in mine] == [(one["plan_id"], "published")]  # no draft on top
    old = {s["plan_id"] for s in drafted[1:]}
    assert not old & {p.plan_id for p in live}  # the old drafts are gone, new ones in their place
    assert sum(1 for p in live if p.status == "draft") >= len(drafted) - 1
    html = _preview(site, night)
    row = html[html.index(f'id="row-{one["student_id"]}"') :]
    row = row[: row.index("</tr>")]
    assert f'id="set-{one["plan_id"]}"' in row and "已发布" in _text(row)  # published work shown
    drafts = sum(1 for p in live if p.status == "draft")
    assert f"发布全部草稿 ({drafts})" in html  # the button counts only drafts it may publish
    # only those without a set: everyone has one now, so nothing new is made
    r = site.client.post(f"/v1/classes/{CLASS}/plans", json={**body, "replan": "missing"}, headers=teacher)
    assert r.status_code == 200, r.text
    assert {s["status"] for s in r.json()["students"]} <= {"kept", "exempt", "no_time"}
    published = site.client.post(f"/v1/classes/{CLASS}/publish", json=body, headers=teacher).json()
    assert one["plan_id"] not in published["published"] and len(published["published"]) == drafts


def test_a_sets_minutes_are_the_same_in_the_preview_the_worksheet_the_student_page_and_the_api(
    site: Site,
) -> None:
    night = date(2026, 11, 12)
    site.sign_in("t-math")
    teacher = site.api("t-math")
    body = {"subject": "math", "night": str(night)}
    planned = site.client.post(f"/v1/classes/{CLASS}/plans", json=body, headers=teacher)
    assert planned.status_code == 200, planned.text
    sets = {s["student_id"]: s for s in planned.json()["students"] if s["status"] == "draft"}
    assert site.client.post(f"/v1/classes/{CLASS}/publish", json=body, headers=teacher).status_code == 200
    html = _preview(site, night)
    sheet = site.client.get(f"/worksheets?class_id={CLASS}&subject=math&night={night}")
    assert sheet.status_code == 200
    checked = 0
    for sid, s in list(sets.items())[:10]:
        api = (s["typical_minutes"], s["conservative_minutes"])
        row = html[html.index(f'id="row-{sid}"') :]
        data = re.search(r'data-typical="([\d.]+)" data-bound="([\d.]+)"', row)
        assert data and (float(data.group(1)), float(data.group(2))) == api, (sid, data, api)
        assert f"典型 {shown(api[0])} 分钟 · 保守 {shown(api[1])} 分钟" in _text(row[: row.index("</tr>")])
        tonight = site.client.get(
            f"/v1/students/{sid}/tonight", params={"night": str(night)}, headers=teacher
        )
        assert tonight.status_code == 200, tonight.text
        assert (tonight.json()["planned_minutes"], tonight.json()["bound_minutes"]) == api
        checked += 1
    pages = re.findall(r'data-typical="([\d.]+)" data-bound="([\d.]+)"', sheet.text)
    assert sorted((float(a), float(b)) for a, b in pages) == sorted(
        (s["typical_minutes"], s["conservative_minutes"]) for s in sets.values()
    )
    assert checked == 10


def test_a_refusal_names_the_subjects_share_and_the_evenings_cap(site: Site) -> None:
    night = date(2026, 11, 13)
    teacher = site.api("t-math")
    planned = site.client.post(f"/v1/classes/{CLASS}/plans", json={"subject": "math", "night": str(night)},
                               headers=teacher)  # fmt: skip
    one = next(s for s in planned.json()["students"] if s["status"] == "draft")
    with site.engine.connect() as conn:
        more = list(
            conn.execute(
                select(t.items.c.item_id)
                .join(t.item_kps, t.item_kps.c.item_id == t.items.c.item_id)
                .join(t.teaching_progress, (t.teaching_progress.c.kp_id == t.item_kps.c.kp_id)
                      & (t.teaching_progress.c.class_id == CLASS))
                .where(t.items.c.subject == "math", t.items.c.kind == "written", t.items.c.grade == 5,
                       t.teaching_progress.c.taught_on < night)
                .order_by(t.items.c.item_id)
                .limit(40)
            ).scalars()
        )  # fmt: skip
    items = [{"item_id": i["item_id"], "tier": i["tier"]} for i in one["items"]]
    items += [{"item_id": i, "tier": "basic"} for i in more if i not in {x["item_id"] for x in items}][:30]
    r = site.client.put(f"/v1/plans/{one['plan_id']}", json={"items": items}, headers=teacher)
    assert r.status_code == 422, r.text
    words = " ".join(v["zh"] for v in r.json()["violations"])
    budget = [v for v in r.json()["violations"] if v["rule"] in ("T1", "T2", "T3", "T4", "T5", "T10", "C6")]
    assert budget, r.json()
    said = " ".join(v["zh"] for v in budget)
    assert "数学今晚的份额是 30 分钟" in said and ("60 分钟" in said), words


def _checked(html: str, item_id: str) -> bool:
    tag = re.search(r'<input type="checkbox" name="keep" value="' + re.escape(item_id) + r'"[^>]*>', html)
    assert tag, item_id
    return "checked" in tag.group(0)


def test_the_edit_page_keeps_choices_and_reasons_browses_the_bank_and_takes_a_workbook_exercise(
    site: Site,
) -> None:
    from service import plans

    night = date(2026, 11, 16)
    site.sign_in("t-math")
    teacher = site.api("t-math")
    planned = site.client.post(f"/v1/classes/{CLASS}/plans", json={"subject": "math", "night": str(night)},
                               headers=teacher)  # fmt: skip
    assert planned.status_code == 200, planned.text
    one = next(s for s in planned.json()["students"] if s["status"] == "draft" and len(s["items"]) >= 3)
    edit = f"/teacher/plans/{one['plan_id']}/edit"
    reasons = {i["item_id"]: i["reason_zh"] for i in one["items"]}
    items = [i["item_id"] for i in one["items"]]

    # the bank browser: by point and kind, paginated, server-side (GET)
    kp = one["items"][0]["kps"][0]
    html = site.client.get(edit, params={"kp": kp, "kind": "written"}).text
    found = re.findall(r'name="add_item" value="([^"]+)"', html)
    assert found
    with site.engine.connect() as conn:
        for item_id in found:
            kind, kps = (
                conn.execute(select(t.items.c.kind).where(t.items.c.item_id == item_id)).scalar_one(),
                set(
                    conn.execute(select(t.item_kps.c.kp_id).where(t.item_kps.c.item_id == item_id)).scalars()
                ),
            )
            assert kind == "written" and kp in kps
    all_of_grade = site.client.get(edit).text
    assert 'id="next-page"' in all_of_grade
    second = site.client.get(edit, params={"page": "2"}).text
    assert set(re.findall(r'name="add_item" value="([^"]+)"', second)).isdisjoint(
        re.findall(r'name="add_item" value="([^"]+)"', all_of_grade)
    )

    # a refusal keeps exactly what was ticked (one item unticked) and what was added
    csrf = site.csrf(edit)
    many = re.findall(r'name="add_item" value="([^"]+)"', all_of_grade + second)
    many = [x for x in many if x not in items][:30]
    form = {"csrf": csrf, "keep": items[1:], "add_item": many, "add": ""}
    r = site.client.post(edit, data=form, follow_redirects=False)
    assert r.status_code == 422, r.text[:3000]
    assert not _checked(r.text, items[0]) and all(_checked(r.text, x) for x in items[1:])
    assert all(x in r.text[r.text.index('id="add"') :] for x in many)

    # saved without the first item: the others keep their reasons
    r = site.client.post(edit, data={"csrf": csrf, "keep": items[1:], "add": ""}, follow_redirects=False)
    assert r.status_code == 303, r.text[:3000]
    with site.engine.connect() as conn:
        now = dict(
            conn.execute(
                select(t.plan_items.c.item_id, t.plan_items.c.reason_zh).where(
                    t.plan_items.c.plan_id == one["plan_id"]
                )
            ).all()
        )
    assert now == {x: reasons[x] for x in items[1:]}

    # a workbook exercise: into the school's bank and the set, timed no lower than the teacher's estimate
    form = {"csrf": csrf, "keep": items[1:], "add": "", "own_text": "练习册 P23 第1-5题", "own_kps": [kp],
            "own_kind": "written", "own_minutes": "6"}  # fmt: skip
    r = site.client.post(edit, data=form, follow_redirects=False)
    assert r.status_code in (303, 422), r.text[:3000]
    with site.engine.connect() as conn:
        own = conn.execute(
            select(t.items.c.item_id, t.items.c.est_minutes, t.school_items.c.school_id)
            .join(t.school_items, t.school_items.c.item_id == t.items.c.item_id)
            .where(t.items.c.stem == "练习册 P23 第1-5题")
        ).one()  # fmt: skip
        line = conn.execute(
            select(t.plan_items.c.typical_minutes, t.plan_items.c.reason_zh).where(
                t.plan_items.c.plan_id == one["plan_id"], t.plan_items.c.item_id == own.item_id
            )
        ).first()
    assert own.school_id == "sch-east" and own.est_minutes == 6
    if r.status_code == 303:  # it fitted: in the set, the teacher's choice, at least the teacher's minutes
        assert line is not None and line.reason_zh == "教师选题" and line.typical_minutes >= 6
    else:  # it did not fit: refused by the same rules, and kept ticked for the next try
        assert own.item_id in r.text[r.text.index('id="add"') :]
        assert "T10" not in r.text  # not because the models could not time the new item
    mine = plans.bank_items(db=site.engine, school_id="sch-east", subject="math", grade=5, words="练习册")
    theirs = plans.bank_items(db=site.engine, school_id="sch-west", subject="math", grade=5, words="练习册")
    assert [i["item_id"] for i in mine.items] == [own.item_id] and theirs.items == []
