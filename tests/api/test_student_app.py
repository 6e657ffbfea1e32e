"""What a student app is built on (issue 17): tonight with each question's text, the school's today
when no night is given, an excused evening flagged; one item with its text and points, the answer
key only for a teacher of its subject; and no silent empty result when the split of the evening
gives a subject no time (sch-east, two subjects per evening, T8: Wednesday's default goes to Chinese
and English), with the allocations in force shown in minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from service.evenings import school_today
from service.store import tables as t
from tests.api.conftest import NIGHT, Caller, World

WEDNESDAY = NIGHT + timedelta(days=1)  # at sch-east grade 5 the default split gives it to Chinese and English


def _publish(teacher: Caller, night: object = NIGHT) -> dict:  # type: ignore[type-arg]
    body = {"subject": "math", "night": str(night)}
    planned = teacher.post("/v1/classes/east-5-1/plans", json=body)
    assert planned.status_code == 200, planned.text
    assert teacher.post("/v1/classes/east-5-1/publish", json=body).status_code == 200
    return planned.json()  # type: ignore[no-any-return]


def test_school_today_is_the_school_s_date_not_utc_s() -> None:
    late_utc = datetime(2026, 11, 10, 17, 30, tzinfo=UTC)  # 01:30 on the 11th in Shanghai
    assert school_today("Asia/Shanghai", late_utc).isoformat() == "2026-11-11"
    assert school_today("Europe/London", late_utc).isoformat() == "2026-11-10"


def test_tonight_gives_question_text_and_defaults_to_the_school_s_today(
    world: World, teacher: Caller, student: Caller
) -> None:
    _publish(teacher)
    r = student.get(f"/v1/students/{world.student}/tonight", params={"night": str(NIGHT)})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert items and r.json()["excused"] is False
    with world.engine.connect() as conn:
        stems = dict(conn.execute(select(t.items.c.item_id, t.items.c.stem)).all())
    assert all(i["stem"] == stems[i["item_id"]] and i["stem"].strip() for i in items)

    before = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    r = student.get(f"/v1/students/{world.student}/tonight")  # no night: the school's today
    after = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert r.status_code == 200, r.text
    assert r.json()["night"] in (str(before), str(after))
    assert r.json()["student_id"] == world.student


def test_tonight_says_when_a_parent_excused_the_evening(
    world: World, teacher: Caller, student: Caller, parent: Caller
) -> None:
    _publish(teacher)
    url = f"/v1/students/{world.student}/tonight"
    assert student.get(url, params={"night": str(NIGHT)}).json()["excused"] is False
    r = parent.post(f"/v1/students/{world.student}/exemptions", json={"night": str(NIGHT), "note": "发烧"})
    assert r.status_code == 201, r.text
    for who in (student, parent, teacher):
        assert who.get(url, params={"night": str(NIGHT)}).json()["excused"] is True
    other_night = student.get(url, params={"night": str(NIGHT + timedelta(days=7))}).json()
    assert other_night["excused"] is False  # T12: one night only


def test_an_item_shows_its_text_and_the_answer_key_only_to_a_teacher_of_its_subject(
    world: World, teacher: Caller, student: Caller, parent: Caller, head_teacher: Caller, data_team: Caller
) -> None:
    planned = _publish(teacher)
    mine = next(s for s in planned["students"] if s["student_id"] == world.student)
    item_id = mine["items"][0]["item_id"]
    with world.engine.connect() as conn:
        row = conn.execute(select(t.items).where(t.items.c.item_id == item_id)).one()
        first_kp = conn.execute(
            select(t.item_kps.c.kp_id).where(t.item_kps.c.item_id == item_id, t.item_kps.c.position == 0)
        ).scalar_one()
    assert row.answer  # the sample bank has answers: the test below could fail
    for family in (student, parent):
        r = family.get(f"/v1/items/{item_id}")
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["stem"] == row.stem and got["subject"] == "math" and got["answer"] is None
        assert got["points"][0]["kp_id"] == first_kp and got["points"][0]["name"]
    r = teacher.get(f"/v1/items/{item_id}")
    assert r.status_code == 200 and r.json()["answer"] == row.answer
    r = head_teacher.get(f"/v1/items/{item_id}")
    assert r.status_code == 200 and r.json()["answer"] is None  # not a teacher of the subject
    assert world.sign_in("t-english").get(f"/v1/items/{item_id}").status_code == 404
    assert data_team.get(f"/v1/items/{item_id}").status_code == 403
    assert student.get("/v1/items/no-such-item").status_code == 404

    # an item never set for the student nor in their error book: not theirs to read
    with world.engine.connect() as conn:
        theirs = {
            *conn.execute(
                select(t.plan_items.c.item_id)
                .join(t.plans, t.plans.c.plan_id == t.plan_items.c.plan_id)
                .where(t.plans.c.student_id == world.student)
            ).scalars(),
            *conn.execute(
                select(t.error_book.c.item_id).where(t.error_book.c.student_id == world.student)
            ).scalars(),
        }
        other = conn.execute(
            select(t.items.c.item_id).where(t.items.c.grade == 5, t.items.c.item_id.not_in(theirs)).limit(1)
        ).scalar_one()
    assert student.get(f"/v1/items/{other}").status_code == 404
    assert teacher.get(f"/v1/items/{other}").status_code in (200, 404)  # maths of grade 5, or another subject

    # a wrong answer posted for another grade's item opens an error-book entry, not the item
    with world.engine.connect() as conn:
        higher = conn.execute(
            select(t.items.c.item_id).where(t.items.c.grade == 8, t.items.c.subject == "math").limit(1)
        ).scalar_one()
    answer = {"event_id": "peek-1", "item_id": higher, "night": str(NIGHT),
              "submitted_at": f"{NIGHT}T19:00:00+08:00", "correct": False, "seconds": 60}  # fmt: skip
    assert (
        student.post(f"/v1/students/{world.student}/attempts", json={"attempts": [answer]}).status_code == 200
    )
    with world.engine.connect() as conn:
        assert conn.execute(
            select(t.error_book.c.item_id).where(
                t.error_book.c.student_id == world.student, t.error_book.c.item_id == higher
            )
        ).first(), "the setup: the wrong answer opened an entry"
    assert student.get(f"/v1/items/{higher}").status_code == 404


def test_planning_a_subject_with_no_time_tonight_says_why_and_what_to_do(
    world: World, teacher: Caller, head_teacher: Caller
) -> None:
    """sch-east, grade 5, two subjects per evening (T8): the default split gives Wednesday to Chinese and
    English. Planning maths then sets nothing, and the answer says so, naming them, with the fix."""
    r = teacher.post("/v1/classes/east-5-1/plans", json={"subject": "math", "night": str(WEDNESDAY)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {s["status"] for s in body["students"]} <= {"no_time", "exempt"}
    assert body["summary"]["planned"] == 0
    [why] = body["no_time"]
    assert why["reason"] == "no_share" and why["split"] == "default"
    assert sorted(why["subjects_tonight"]) == ["chinese", "english"]
    assert sorted(why["students"]) == sorted(
        s["student_id"] for s in body["students"] if s["status"] == "no_time"
    )
    assert why["zh"].startswith("今晚数学没有分到时间：本周三的作业时间分给了")
    assert "语文" in why["zh"] and "英语" in why["zh"] and "作业时间分配" in why["zh"] and "T8" in why["zh"]
    assert "Maths has no time tonight" in why["en"] and "Chinese" in why["en"] and "English" in why["en"]
    assert why["fix"] == "/school/allocations?class_id=east-5-1"

    # the head teacher gives maths a share of Wednesdays: the same request now plans, with nothing to explain
    r = head_teacher.put("/v1/classes/east-5-1/allocations/2", json={"weights": {"math": 1, "chinese": 1}})
    assert r.status_code == 200, r.text
    again = teacher.post(
        "/v1/classes/east-5-1/plans", json={"subject": "math", "night": str(WEDNESDAY)}
    ).json()
    assert again["summary"]["planned"] > 0 and again["no_time"] == []


def test_the_allocations_in_force_are_shown_in_minutes(world: World, head_teacher: Caller) -> None:
    r = head_teacher.put("/v1/classes/east-5-1/allocations/1", json={"weights": {"math": 2, "chinese": 1}})
    assert r.status_code == 200, r.text
    got = head_teacher.get("/v1/classes/east-5-1/allocations").json()
    assert got["cap_minutes"] == 60.0
    assert got["in_force"]["1"] == {"split": "set", "weights": {"math": 2.0, "chinese": 1.0},
                                    "minutes": {"math": 40.0, "chinese": 20.0}}  # fmt: skip
    assert got["in_force"]["2"]["split"] == "default"  # Wednesday: not set, the school's default
    assert got["in_force"]["2"]["minutes"] == {"chinese": 30.0, "english": 30.0}
    assert set(got["in_force"]) == {str(d) for d in range(7)}


def _page(world: World, caller: Caller, url: str) -> str:
    signed = {"Cookie": "jianfu_session=" + caller.headers["Authorization"].removeprefix("Bearer ")}
    r = world.client.get(url, headers=signed)
    assert r.status_code == 200, r.text[:300]
    return r.text


def test_the_teacher_s_page_says_why_maths_gets_nothing_and_the_allocations_page_shows_minutes(
    world: World, teacher: Caller, head_teacher: Caller
) -> None:
    page = _page(world, teacher, f"/teacher?class_id=east-5-1&subject=math&night={WEDNESDAY}")
    assert "今晚数学没有分到时间：本周三的作业时间分给了语文、英语" in page
    assert 'href="/school/allocations?class_id=east-5-1"' in page
    assert "涉及本班" in page
    english = _page(world, teacher, f"/teacher?class_id=east-5-1&subject=math&night={WEDNESDAY}&lang=en")
    assert "Maths has no time tonight: Wednesday&#39;s homework time goes to Chinese and English" in english
    tuesday = _page(world, teacher, f"/teacher?class_id=east-5-1&subject=math&night={NIGHT}")
    assert "没有分到时间" not in tuesday  # maths has Tuesday: nothing to explain

    allocations = _page(world, head_teacher, "/school/allocations?class_id=east-5-1")
    # Wednesday (the third form): the default in force, in minutes, and its weights filled in
    wednesday = allocations.split('id="minutes-2"')[1].split("</p>")[0]
    assert "语文 <strong>30</strong> 分钟" in wednesday and "英语 <strong>30</strong> 分钟" in wednesday
    assert "学校默认分配" in allocations
    assert (
        'id="w-2-chinese" name="w-chinese" type="number" min="0" max="100" step="0.5" value="1"'
        in allocations
    )
    assert 'id="w-2-math" name="w-math" type="number" min="0" max="100" step="0.5" value=""' in allocations
