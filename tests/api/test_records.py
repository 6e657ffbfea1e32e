"""A student's records through the API: a teacher plans and publishes, the student sees tonight,
answers (each answer stored once, however often it is sent) and finds the error book; the same
evening on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from service.store import tables as t
from tests.api.conftest import NIGHT, World


def test_a_teacher_plans_and_publishes_a_student_sees_tonight_and_answers(world: World) -> None:
    _plan_publish_tonight_answer(world)


@pytest.mark.postgres
def test_the_same_evening_on_postgresql(postgres_world: World) -> None:
    _plan_publish_tonight_answer(postgres_world)


def _plan_publish_tonight_answer(world: World) -> None:
    teacher = world.sign_in("t-math")  # not the role fixtures: this runs on either world
    r = teacher.post("/v1/classes/east-5-1/plans", json={"subject": "math", "night": str(NIGHT)})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["model_version"] == "7" and len(plan["students"]) == 45
    drafted = [s for s in plan["students"] if s["status"] == "draft"]
    assert (
        sum(not i["review"] for i in next(s for s in drafted if s["student_id"] == world.student)["items"])
        >= 2
    )
    assert len(drafted) == 45 and all(s["items"] and s["levels"] for s in drafted)
    assert all(s["conservative_minutes"] <= s["available_minutes"] + 0.01 for s in drafted)
    r = teacher.post("/v1/classes/east-5-1/publish", json={"subject": "math", "night": str(NIGHT)})
    assert r.status_code == 200 and len(r.json()["published"]) == 45 and not r.json()["not_published"]

    student = world.sign_in("s-1")
    r = student.get(f"/v1/students/{world.student}/tonight", params={"night": str(NIGHT)})
    assert r.status_code == 200, r.text
    tonight = r.json()
    mine = next(s for s in plan["students"] if s["student_id"] == world.student)
    assert {i["item_id"] for i in tonight["items"]} == {i["item_id"] for i in mine["items"]}
    tiers = [i["tier"] for i in tonight["items"]]
    assert tiers == sorted(tiers, key=lambda x: x != "basic")  # the mandatory part first
    assert tonight["cap_minutes"] == 60 and all(i["reason_zh"] and i["reason_en"] for i in tonight["items"])

    new = [i["item_id"] for i in mine["items"] if not i["review"]]  # a review's entry is open already
    first = new[0]
    batch = {"attempts": [
        {"event_id": "ev-1", "item_id": first, "night": str(NIGHT), "submitted_at": "2026-11-10T19:40:00+08:00",
         "correct": False, "seconds": 150},
        {"event_id": "ev-2", "item_id": new[1], "night": str(NIGHT),
         "submitted_at": "2026-11-10T19:44:00+08:00", "correct": True, "seconds": 90},
    ]}  # fmt: skip
    r = student.post(f"/v1/students/{world.student}/attempts", json=batch)
    assert r.status_code == 200, r.text
    assert r.json()["stored"] == 2 and r.json()["error_book_opened"] == 1
    again = student.post(f"/v1/students/{world.student}/attempts", json=batch)
    assert again.json() == {
        "stored": 0,
        "already_stored": 2,
        "error_book_opened": 0,
        "error_book_resolved": 0,
        "graded": [],  # self-reports: nothing graded on the server
    }
    book = student.get(f"/v1/students/{world.student}/error-book").json()
    assert first in {e["item_id"] for e in book if e["resolved_at"] is None}
    done = student.get(f"/v1/students/{world.student}/tonight", params={"night": str(NIGHT)}).json()
    assert sum(i["done"] for i in done["items"]) == 2


def test_a_subject_teacher_reads_and_records_only_the_subjects_they_teach(world: World) -> None:
    """A teacher of English in the class sees the English part of the error book and may record an
    English answer for the student, never a maths one (which could close a maths entry)."""
    english = world.sign_in("t-english")
    student = world.sign_in("s-1")
    url = f"/v1/students/{world.student}/error-book"
    whole = student.get(url, params={"include_resolved": "true"}).json()
    seen = english.get(url, params={"include_resolved": "true"})
    assert seen.status_code == 200, seen.text
    assert {e["subject"] for e in whole} > {"english"}  # the book holds other subjects too
    assert seen.json() == [e for e in whole if e["subject"] == "english"]

    with world.engine.connect() as conn:
        item_of = {
            subject: conn.execute(
                select(t.items.c.item_id).where(t.items.c.subject == subject, t.items.c.grade == 5)
                .order_by(t.items.c.item_id).limit(1)
            ).scalar_one()
            for subject in ("math", "english")
        }  # fmt: skip

    def answer(item: str, event: str) -> dict[str, Any]:
        return {"attempts": [{"event_id": event, "item_id": item, "night": str(NIGHT), "correct": True,
                              "submitted_at": "2026-11-10T19:40:00+08:00", "seconds": 60}]}  # fmt: skip

    attempts = f"/v1/students/{world.student}/attempts"
    refused = english.post(attempts, json=answer(item_of["math"], "ev-math"))
    assert refused.status_code == 403 and refused.json()["errors"][0]["pointer"] == "/attempts/0/item_id"
    with world.engine.connect() as conn:
        assert (
            conn.execute(select(t.attempts.c.event_id).where(t.attempts.c.event_id == "ev-math")).first()
            is None
        )
    stored = english.post(attempts, json=answer(item_of["english"], "ev-english"))
    assert stored.status_code == 200 and stored.json()["stored"] == 1
