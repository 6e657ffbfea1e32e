"""The 讲评 report through the API: a teacher plans and publishes a night, two students answer, and
the subject's teacher and the head teacher read exact counts; a teacher of another subject or class
is told nothing exists (404), a student, a parent, the data team and a school's administrator may not
use the route at all (403)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import NIGHT, Caller, World

URL = "/v1/classes/east-5-1/review"


def _published_night(world: World, teacher: Caller) -> dict[str, Any]:
    r = teacher.post("/v1/classes/east-5-1/plans", json={"subject": "math", "night": str(NIGHT)})
    assert r.status_code == 200, r.text
    r2 = teacher.post("/v1/classes/east-5-1/publish", json={"subject": "math", "night": str(NIGHT)})
    assert r2.status_code == 200 and len(r2.json()["published"]) == 45, r2.text
    return {s["student_id"]: [i["item_id"] for i in s["items"]] for s in r.json()["students"]}


def _answers(items: list[str], correct: list[bool]) -> dict[str, Any]:
    return {"attempts": [
        {"event_id": f"rv-{k}-{item}", "item_id": item, "night": str(NIGHT),
         "submitted_at": f"2026-11-10T19:{10 + k:02d}:00+08:00", "correct": ok, "seconds": 60 * (k + 1)}
        for k, (item, ok) in enumerate(zip(items, correct, strict=False))
    ]}  # fmt: skip


def test_the_subject_teacher_and_head_teacher_read_exact_counts(
    world: World, teacher: Caller, head_teacher: Caller
) -> None:
    sets = _published_night(world, teacher)
    one, two = world.student, world.other_student
    r = world.sign_in("s-1").post(f"/v1/students/{one}/attempts", json=_answers(sets[one], [False, True]))
    assert r.status_code == 200, r.text
    r = teacher.post(
        f"/v1/students/{two}/attempts", json=_answers(sets[two], [False])
    )  # a paper sheet typed in
    assert r.status_code == 200, r.text

    r = teacher.get(URL, params={"subject": "math", "night": str(NIGHT)})
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["students"], report["set_to"], report["handed_in"], report["excused"]) == (45, 45, 2, 0)
    assert len(report["not_handed_in"]) == 43 and {one, two}.isdisjoint(
        s["student_id"] for s in report["not_handed_in"]
    )
    by_item = {x["item_id"]: x for x in report["items"]}
    assert sum(x["set_to"] for x in report["items"]) == sum(len(v) for v in sets.values())
    assert sum(x["right"] for x in report["items"]) == 1 and sum(x["wrong"] for x in report["items"]) == 2
    assert all(x["right"] + x["wrong"] + x["not_done"] == x["set_to"] for x in report["items"])
    assert by_item[sets[one][0]]["wrong"] >= 1 and sets[one][0] in report["most_missed"]
    assert all(x["stem"] and x["points"] for x in report["items"])  # question text and point names
    shares = [p["at_d_share"] for p in report["points"]]
    assert shares == sorted(shares, reverse=True)  # R6
    assert sum(report["points"][0]["levels"].values()) > 0  # the model's levels, as counts

    r = head_teacher.get(URL, params={"subject": "math", "night": str(NIGHT)})
    assert r.status_code == 200 and r.json()["handed_in"] == 2


def test_others_are_refused(world: World, teacher: Caller) -> None:
    params = {"subject": "math", "night": str(NIGHT)}
    for who in ("t-english", "t-other"):  # another subject of the class; another class's maths
        r = world.sign_in(who).get(URL, params=params)
        assert r.status_code == 404, (who, r.text)
    for who in ("s-1", "p-1", "data", "admin-west"):
        r = world.sign_in(who).get(URL, params=params)
        assert r.status_code == 403, (who, r.text)
    assert teacher.get(URL, params={"subject": "math"}).status_code == 422  # which night: required
    assert teacher.get(URL, params={"subject": "math", "night": "2026-13-01"}).status_code == 422
    assert world.client.get(URL, params=params).status_code == 401
