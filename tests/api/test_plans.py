"""Class plans through the API: a hand-written set is checked and names the rule, a teacher edits a
draft (refused whole, with the rule) and publishes it, teaching progress opens points, and mastery
is levels, not ranks."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.store import tables as t
from tests.api.conftest import NIGHT, Caller, World
from tests.conftest import untaught_item


def test_a_hand_written_set_is_checked_and_names_the_rule(world: World, teacher: Caller) -> None:
    ahead, _ = untaught_item(world.engine, NIGHT)  # an item on a point the class has not been taught yet
    body = {
        "student_id": world.student,
        "night": str(NIGHT),
        "subject": "math",
        "items": [{"item_id": ahead}],
    }
    r = teacher.post("/v1/checks", json=body)
    assert r.status_code == 200, r.text
    assert not r.json()["ok"] and {v["rule"] for v in r.json()["violations"]} == {"C2"}
    assert r.json()["conservative_minutes"] >= r.json()["typical_minutes"] > 0


def test_a_teacher_edits_a_set_into_a_violation_sees_the_rule_then_fixes_and_publishes(
    world: World, teacher: Caller
) -> None:
    plan = teacher.post("/v1/classes/east-5-1/plans", json={"subject": "math", "night": str(NIGHT)}).json()
    mine = next(s for s in plan["students"] if s["student_id"] == world.student)
    plan_id, items = mine["plan_id"], mine["items"]
    ahead, _ = untaught_item(world.engine, NIGHT)

    def stored() -> list[str]:
        with world.engine.connect() as conn:
            return sorted(
                conn.execute(
                    select(t.plan_items.c.item_id).where(t.plan_items.c.plan_id == plan_id)
                ).scalars()
            )

    before = stored()
    wrong = {"items": [{"item_id": items[0]["item_id"]}, {"item_id": ahead}]}
    r = teacher.put(f"/v1/plans/{plan_id}", json=wrong)
    assert r.status_code == 422 and r.json()["rule"] == "C2"
    assert {v["rule"] for v in r.json()["violations"]} == {"C2"} and ahead in r.text
    assert stored() == before  # refused whole: the draft is unchanged

    fixed = {
        "items": [
            {"item_id": items[0]["item_id"], "tier": "basic"},
            {"item_id": items[1]["item_id"], "tier": "basic"},
        ]
    }
    r = teacher.put(f"/v1/plans/{plan_id}", json=fixed)
    assert r.status_code == 200, r.text
    assert stored() == sorted(i["item_id"] for i in fixed["items"])
    with world.engine.connect() as conn:
        held = conn.execute(
            select(func.sum(t.ledger_lines.c.minutes)).where(t.ledger_lines.c.plan_id == plan_id)
        ).scalar_one()
    assert held == pytest.approx(r.json()["conservative_minutes"], abs=0.01)
    assert teacher.post(f"/v1/plans/{plan_id}/publish").status_code == 200
    assert teacher.put(f"/v1/plans/{plan_id}", json=fixed).status_code == 409  # published: no edits


def test_teaching_progress_opens_points_and_mastery_is_levels_not_ranks(
    world: World, teacher: Caller
) -> None:
    ahead, kp = untaught_item(world.engine, NIGHT)
    body = {
        "student_id": world.student,
        "night": str(NIGHT),
        "subject": "math",
        "items": [{"item_id": ahead}],
    }
    assert {v["rule"] for v in teacher.post("/v1/checks", json=body).json()["violations"]} == {"C2"}
    r = teacher.put("/v1/classes/east-5-1/progress", json={"subject": "math", "points": {kp: str(NIGHT)}})
    assert r.status_code == 200 and r.json()["recorded"] == 1
    assert teacher.post("/v1/checks", json=body).json()["ok"]
    r = teacher.put(
        "/v1/classes/east-5-1/progress", json={"subject": "math", "points": {"math-g7-01": str(NIGHT)}}
    )
    assert r.status_code == 422 and r.json()["rule"] == "C1"  # a grade 7 point in a grade 5 class
    r = teacher.put("/v1/classes/east-5-1/progress",
                    json={"subject": "math", "points": {"english-g5-01": str(NIGHT)}})  # fmt: skip
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/points/english-g5-01"

    r = teacher.get("/v1/classes/east-5-1/mastery", params={"subject": "math", "night": str(NIGHT)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["levels"]) == 45 and [x["student_id"] for x in body["levels"]] == sorted(
        x["student_id"] for x in body["levels"]
    )
    assert {lv for x in body["levels"] for lv in x["levels"].values()} <= {"A", "B", "C", "D"}
    assert "rank" not in r.text.lower() and set(body["attention"]) <= {
        x["student_id"] for x in body["levels"]
    }
