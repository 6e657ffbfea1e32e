"""Evenings through the API: a parent excuses tonight, tonight with a clock lists only what fits
before bedtime, and the head teacher splits evenings between subjects, sees the class's evening and
its burden (R4), while the weekly notice names no one (R3)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.store import tables as t
from tests.api.conftest import NIGHT, Caller, World


def test_a_parent_excuses_tonight_and_the_plan_sets_nothing(
    world: World, parent: Caller, teacher: Caller
) -> None:
    r = parent.post(f"/v1/students/{world.student}/exemptions", json={"night": str(NIGHT)})
    assert r.status_code == 201 and r.json()["recorded"] is True
    r = teacher.post("/v1/classes/east-5-1/plans", json={"subject": "math", "night": str(NIGHT)})
    mine = next(s for s in r.json()["students"] if s["student_id"] == world.student)
    assert mine["status"] == "exempt" and not mine["items"]  # T12


def test_the_head_teacher_splits_evenings_sees_them_and_the_weekly_notice_names_no_one(
    world: World, head_teacher: Caller, teacher: Caller, parent: Caller
) -> None:
    head = head_teacher
    weekday = NIGHT.weekday()
    three = {"weights": {"math": 1, "chinese": 1, "english": 1}}
    r = head.put(f"/v1/classes/east-5-1/allocations/{weekday}", json=three)
    assert r.status_code == 422 and r.json()["rule"] == "T8"  # grades 3-5 here: two subjects an evening
    r = head.put(f"/v1/classes/east-5-1/allocations/{weekday}", json={"weights": {"math": 2, "chinese": 1}})
    assert r.status_code == 200 and r.json()["weekdays"][str(weekday)] == {"math": 2, "chinese": 1}
    plan = teacher.post("/v1/classes/east-5-1/plans", json={"subject": "math", "night": str(NIGHT)})
    assert all(s["available_minutes"] <= 40 + 1e-6 for s in plan.json()["students"])  # 2/3 of 60
    teacher.post("/v1/classes/east-5-1/publish", json={"subject": "math", "night": str(NIGHT)})

    evening = head.get(f"/v1/classes/east-5-1/evenings/{NIGHT}").json()
    mine = next(s for s in evening["students"] if s["student_id"] == world.student)
    assert mine["cap_minutes"] == 60 and 0 < mine["reserved_minutes"]["math"] <= 40

    assert parent.post(f"/v1/students/{world.student}/evening-reports",
                       json={"night": str(NIGHT), "minutes": 75}).status_code == 201  # fmt: skip
    burden = head.get("/v1/classes/east-5-1/burden", params={"from": str(NIGHT), "to": str(NIGHT)})
    assert burden.status_code == 200, burden.text
    day = burden.json()["days"][0]
    assert (
        burden.json()["flagged"]
        and day["over_cap_students"] == [world.student]
        and day["estimated_minutes"] > 0
    )

    notice = parent.get("/v1/classes/east-5-1/notice", params={"week_of": str(NIGHT)})
    assert notice.status_code == 200, notice.text
    tuesday = next(d for d in notice.json()["days"] if d["night"] == str(NIGHT))
    assert 0 < tuesday["subjects"]["math"] <= 40 and tuesday["items"] > 0
    with world.engine.connect() as conn:
        ids = list(conn.execute(select(t.students.c.student_id)).scalars())
    assert not any(sid in notice.text for sid in ids)  # R3: class totals, no individual data
    another_school = world.sign_in("admin-west")
    assert (
        another_school.get("/v1/classes/east-5-1/notice", params={"week_of": str(NIGHT)}).status_code == 404
    )
    assert teacher.get(f"/v1/classes/east-5-1/evenings/{NIGHT}").status_code == 403


def test_tonight_with_now_lists_only_what_fits_before_bedtime(
    world: World, teacher: Caller, student: Caller
) -> None:
    teacher.post("/v1/classes/east-5-1/plans", json={"subject": "math", "night": str(NIGHT)})
    teacher.post("/v1/classes/east-5-1/publish", json={"subject": "math", "night": str(NIGHT)})
    url = f"/v1/students/{world.student}/tonight"
    whole = student.get(url, params={"night": str(NIGHT)}).json()
    assert whole["planned_minutes"] > 12 and whole["left_out"] == 0

    def at(clock: str) -> dict[str, Any]:
        r = student.get(url, params={"night": str(NIGHT), "now": f"{NIGHT}T{clock}:00+08:00"})
        assert r.status_code == 200, r.text
        return dict(r.json())

    early = at("18:00")
    assert early["bedtime"] == "21:20" and early["items"] == whole["items"] and early["left_out"] == 0
    late = at("21:10")  # ten minutes before a grade-5 bedtime
    assert late["left_out"] > 0 and len(late["items"]) + late["left_out"] == len(whole["items"])
    assert sum(i["typical_minutes"] for i in late["items"]) <= 10
    assert [i["item_id"] for i in late["items"]] == [i["item_id"] for i in whole["items"]][
        : len(late["items"])
    ]
    after = at("21:30")
    assert after["items"] == [] and after["left_out"] == len(whole["items"])
    for wrong in ("21:10", "5.0", "1700000000"):  # a time is written as a time, with its offset
        assert student.get(url, params={"night": str(NIGHT), "now": wrong}).status_code == 422


def test_the_class_s_evening_says_which_subjects_have_homework_and_counts_no_excused_evening(
    world: World, head_teacher: Caller, teacher: Caller, parent: Caller
) -> None:
    evening = head_teacher.get(f"/v1/classes/east-5-1/evenings/{NIGHT}").json()
    assert evening["homework"] == [] and evening["excused"] == 0  # nothing yet: said so, not guessed
    plan = teacher.post("/v1/classes/east-5-1/plans", json={"subject": "math", "night": str(NIGHT)}).json()
    sets = {s["student_id"]: s for s in plan["students"] if s["status"] == "draft"}
    r = parent.post(f"/v1/students/{world.student}/exemptions", json={"night": str(NIGHT), "note": "发烧"})
    assert r.status_code == 201, r.text  # excused after the set was drafted and published
    published = teacher.post("/v1/classes/east-5-1/publish", json={"subject": "math", "night": str(NIGHT)})
    assert published.status_code == 200, published.text
    evening = head_teacher.get(f"/v1/classes/east-5-1/evenings/{NIGHT}").json()
    assert evening["excused"] == 1
    assert evening["homework"] == [{"subject": "math", "handed_out": len(sets) - 1, "drafts": 0}]
    rows = {s["student_id"]: s for s in evening["students"]}
    mine = rows.pop(world.student)
    assert mine["exempt"] and mine["typical_minutes"] == mine["bound_minutes"] == 0 and mine["subjects"] == []
    for sid, row in rows.items():  # the plan's figures, unchanged, and the subject named
        assert row["subjects"] == ["math"]
        assert (row["typical_minutes"], row["bound_minutes"]) == (
            sets[sid]["typical_minutes"], sets[sid]["conservative_minutes"])  # fmt: skip
