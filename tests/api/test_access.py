"""Access across the API: errors are problem details that keep their headers, nobody sees someone
else's objects, and the whole access matrix (every /v1 route × every role × another school's
objects)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from service.auth import create_user
from service.store import tables as t
from tests.api.conftest import NIGHT, PASSWORD, PROBLEM, Caller, World


def test_errors_are_problem_details_that_keep_their_headers(
    world: World, anonymous: Caller, teacher: Caller
) -> None:
    r = anonymous.get(f"/v1/students/{world.student}/tonight", params={"night": str(NIGHT)})
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
    assert r.headers["www-authenticate"].startswith("Bearer") and r.json()["status"] == 401
    bad = anonymous.get("/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401 and "invalid_token" in bad.headers["www-authenticate"]
    r = teacher.delete("/v1/checks")
    assert r.status_code == 405 and "POST" in r.headers["allow"] and r.headers["content-type"] == PROBLEM
    r = teacher.post("/v1/classes/east-5-1/plans", json={"subject": "math", "night": "2026-13-40"})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert r.json()["errors"][0]["pointer"] == "/night"
    r = anonymous.post("/v1/token", data={"username": "t-math", "password": "wrong-password"})
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM


def test_nobody_sees_someone_else_s_objects(
    world: World, student: Caller, parent: Caller, teacher: Caller, data_team: Caller
) -> None:
    other_parent = world.sign_in("p-2")  # the parent of world.other_student
    english_teacher = world.sign_in("t-english")  # class east-5-1, another subject
    other_teacher = world.sign_in("t-other")  # math, another class
    plan = {"subject": "math", "night": str(NIGHT)}
    tonight = {"night": str(NIGHT)}
    assert student.get(f"/v1/students/{world.other_student}/tonight", params=tonight).status_code == 404
    assert other_parent.get(f"/v1/students/{world.student}/tonight", params=tonight).status_code == 404
    assert english_teacher.post("/v1/classes/east-5-1/plans", json=plan).status_code == 404
    assert other_teacher.post("/v1/classes/east-5-1/plans", json=plan).status_code == 404
    assert parent.post("/v1/classes/east-5-1/plans", json=plan).status_code == 403
    assert data_team.get(f"/v1/students/{world.student}/error-book").status_code == 404
    excuse = {"night": str(NIGHT)}
    assert student.post(f"/v1/students/{world.student}/exemptions", json=excuse).status_code == 403
    assert other_parent.post(f"/v1/students/{world.student}/exemptions", json=excuse).status_code == 404
    r = teacher.post("/v1/classes/east-5-1/plans", json=plan)
    some_plan = next(s["plan_id"] for s in r.json()["students"] if s["plan_id"])
    assert english_teacher.post(f"/v1/plans/{some_plan}/publish").status_code == 404
    assert teacher.post(f"/v1/plans/{some_plan}/discard").status_code == 200


# -- the whole access matrix ------------------------------------------------------------------------

OTHER_CLASS = "west-5-1"  # another school's class: nothing of it belongs to any account below
QUERIES = {
    "/v1/students/{student_id}/tonight": {"night": str(NIGHT)},
    "/v1/classes/{class_id}/notice": {"week_of": str(NIGHT)},
    "/v1/classes/{class_id}/burden": {"from": str(NIGHT), "to": str(NIGHT)},
    "/v1/classes/{class_id}/mastery": {"subject": "math", "night": str(NIGHT)},
    "/v1/students/{student_id}/exemptions": {"night": str(NIGHT)},
    "/v1/classes/{class_id}/review": {"subject": "math", "night": str(NIGHT)},
}
BODIES = {
    ("post", "/v1/classes/{class_id}/plans"): {"subject": "math", "night": str(NIGHT)},
    ("post", "/v1/classes/{class_id}/publish"): {"subject": "math", "night": str(NIGHT)},
    ("put", "/v1/plans/{plan_id}"): {"items": [{"item_id": "math-g5-01-001"}]},
    ("put", "/v1/classes/{class_id}/progress"): {"subject": "math", "points": {"math-g5-01": str(NIGHT)}},
    ("put", "/v1/classes/{class_id}/allocations/{weekday}"): {"weights": {"math": 1}},
    ("post", "/v1/classes/{class_id}/releases"): {"night": str(NIGHT), "subject": "math", "to_subjects": ["chinese"]},
    ("post", "/v1/students/{student_id}/attempts"): {"attempts": [
        {"event_id": "matrix-1", "item_id": "math-g5-01-001", "night": str(NIGHT),
         "submitted_at": "2026-11-10T19:00:00+08:00", "correct": True}]},
    ("post", "/v1/students/{student_id}/exemptions"): {"night": str(NIGHT)},
    ("post", "/v1/students/{student_id}/evening-stops"): {"night": str(NIGHT)},
    ("post", "/v1/students/{student_id}/evening-reports"): {"night": str(NIGHT), "minutes": 30},
    ("post", "/v1/scans/reviews/{review_id}"): {"answer": "right"},
}  # fmt: skip
# Routes that are about the data, not about anyone's object: only the data team may use them.
DATA_TEAM_ROUTES = {
    ("post", "/v1/imports"), ("get", "/v1/model"), ("post", "/v1/model/reload"),
    ("get", "/v1/exports/{kind}"), ("delete", "/v1/students/{student_id}"), ("get", "/v1/model/health"),
}  # fmt: skip
# A marker's own upload and own review queue: about no one's object in the URL. Whose sheets an
# upload holds is decided page by page by the keyed code and the marker's classes (tests/test_scans.py);
# the queue lists only boxes of the marker's classes and subjects (tests/api/test_scans_api.py).
MARKER_ROUTES = {("post", "/v1/scans"), ("get", "/v1/scans/reviews")}
MARKERS = {"teacher", "head_teacher", "school_admin"}
# Objects of no account here: a district none of them oversees, a review of no one's box.
ELSEWHERE = {"district_id": "d-elsewhere", "file_format": "csv", "review_id": "rev-of-no-one"}
OPEN_ROUTES = {("post", "/v1/token"), ("get", "/v1/me"), ("post", "/v1/logout")}  # about the caller only


def _every_route(anonymous: Caller, params: dict[str, str]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(method, path, url, request arguments) of every /v1 route but sign-in and the caller's own
    account, from the OpenAPI description (a new route is covered, or fails the matrix), about the
    objects `params` names."""
    for path, methods in anonymous.get("/openapi.json").json()["paths"].items():
        for method in methods:
            if (method, path) in OPEN_ROUTES or not path.startswith("/v1/"):
                continue  # sign-in, the caller's own account, health and readiness
            kwargs: dict[str, Any] = {"params": QUERIES.get(path, {})}
            if (method, path) in BODIES:
                kwargs["json"] = BODIES[(method, path)]
            if path == "/v1/imports":
                kwargs["files"] = [("files", ("students.csv", b"student_id,class_id\\n", "text/csv"))]
            if path == "/v1/checks":
                kwargs["json"] = {"student_id": params["student_id"], "night": str(NIGHT), "subject": "math",
                                  "items": [{"item_id": "math-g5-01-001"}]}  # fmt: skip
            yield method, path, path.format(**params), kwargs


def test_every_route_refuses_every_role_someone_else_s_objects(
    world: World,
    student: Caller,
    parent: Caller,
    teacher: Caller,
    head_teacher: Caller,
    school_admin: Caller,
    data_team: Caller,
    anonymous: Caller,
) -> None:
    """Every /v1 route (from the OpenAPI description, so a new route is covered or fails here) ×
    every role, each account scoped to class east-5-1 or its student, asked about class west-5-1,
    its student and its plan: 404 (not yours) or 403 (not your role), never a success."""
    with world.engine.connect() as conn:
        other_student = conn.execute(
            select(t.students.c.student_id).where(t.students.c.class_id == OTHER_CLASS).order_by(t.students.c.student_id)
        ).first()[0]  # fmt: skip
    create_user(world.engine, "t-west", PASSWORD, "teacher", scopes=[("class", OTHER_CLASS, "math")])
    west = world.sign_in("t-west").post(f"/v1/classes/{OTHER_CLASS}/plans",
                                        json={"subject": "math", "night": str(NIGHT)})  # fmt: skip
    assert west.status_code == 200, west.text
    other_plan = next(s["plan_id"] for s in west.json()["students"] if s["plan_id"])
    create_user(world.engine, "data-west", PASSWORD, "data_team")
    data_west = world.sign_in("data-west")
    other_job = data_west.post("/v1/imports", params={"dry_run": "true"},
                               files=[("files", ("students.csv", b"student_id,class_id\n", "text/csv"))])  # fmt: skip
    assert other_job.status_code == 202, other_job.text
    with (
        world.engine.connect() as conn
    ):  # an item above every east-5-1 account's grade, never set at sch-east
        other_item = conn.execute(
            select(t.items.c.item_id).where(t.items.c.grade == 8, t.items.c.subject == "science")
            .order_by(t.items.c.item_id)
        ).first()[0]  # fmt: skip
    params = {"class_id": OTHER_CLASS, "student_id": other_student, "plan_id": other_plan, "weekday": "1",
              "night": str(NIGHT), "kind": "attempts", "job_id": other_job.json()["job_id"],
              "item_id": other_item, **ELSEWHERE}  # fmt: skip
    callers = {"student": student, "parent": parent, "teacher": teacher, "head_teacher": head_teacher,
               "school_admin": school_admin, "data_team": data_team}  # fmt: skip
    checked = 0
    for method, path, url, kwargs in _every_route(anonymous, params):
        for role, caller in callers.items():
            if role == "data_team" and (method, path) in DATA_TEAM_ROUTES:
                continue  # the data team's own work, not someone else's object
            if role in MARKERS and (method, path) in MARKER_ROUTES:
                continue  # a marker's own pile and queue
            r = caller.request(method.upper(), url, **kwargs)
            assert r.status_code in (403, 404), (method, url, role, r.status_code, r.text[:200])
            assert r.headers["content-type"] == PROBLEM
            checked += 1
        unsigned = anonymous.request(method.upper(), url, params=QUERIES.get(path, {}))
        assert unsigned.status_code == 401, (method, url)
    assert checked >= 20 * 5  # every route, (almost) every role
    with world.engine.connect() as conn:  # and nothing of the other class was touched
        status = conn.execute(select(t.plans.c.status).where(t.plans.c.plan_id == other_plan)).scalar_one()
        assert status == "draft"
        assert (
            conn.execute(select(t.attempts.c.event_id).where(t.attempts.c.event_id == "matrix-1")).first()
            is None
        )


# -- subject scope, and a family's own child ----------------------------------------------------------

# What a teacher of only English in class east-5-1 may still use about the class's maths, and why.
SUBJECT_TEACHER_MAY = {
    ("get", "/v1/classes/{class_id}/allocations"): "the split of the class's evenings: no one's records",
    ("get", "/v1/classes/{class_id}/notice"): "the weekly public notice: class totals only (R3)",
    ("get", "/v1/students/{student_id}/tonight"): "answered with their subjects' items only (checked below)",
    ("get", "/v1/students/{student_id}/error-book"): "answered with their subjects' entries only (below)",
    ("get", "/v1/students/{student_id}/error-book/points"): "the same, by knowledge point (below)",
    ("get", "/v1/scans/reviews"): "their own review queue: boxes of their classes and subjects only",
}
FAMILY_MAY = {("get", "/v1/classes/{class_id}/notice"): "the class's families read its weekly notice (R3)"}


def _progress(world: World) -> list[Any]:
    with world.engine.connect() as conn:
        return conn.execute(select(t.teaching_progress).order_by(t.teaching_progress.c.kp_id)).all()


def test_every_route_keeps_a_teacher_to_their_subjects_and_a_family_to_their_own_child(
    world: World, teacher: Caller, student: Caller, parent: Caller, anonymous: Caller
) -> None:
    """Every /v1 route about class east-5-1's maths (its plans, a student's maths answers, error
    book and evening): a teacher of only English there is refused (404 or 403, nothing stored)
    wherever the route reads or writes a student's maths or a maths plan, and where it reads a
    student's records sees only English. A parent, and a student, asking about another child of
    the same class: refused on every route (only the class's public notice is theirs to read)."""
    english = world.sign_in("t-english")
    planned = teacher.post("/v1/classes/east-5-1/plans", json={"subject": "math", "night": str(NIGHT)})
    assert planned.status_code == 200, planned.text
    plan_of = {s["student_id"]: s["plan_id"] for s in planned.json()["students"] if s["plan_id"]}
    assert teacher.post(f"/v1/plans/{plan_of[world.student]}/publish").status_code == 200
    draft = plan_of[world.other_student]  # another child's maths draft, in the same class
    before = _progress(world)

    with world.engine.connect() as conn:  # a maths item of the other child's draft, never the student's
        theirs_only = conn.execute(
            select(t.plan_items.c.item_id).where(
                t.plan_items.c.plan_id == draft,
                t.plan_items.c.item_id.not_in(select(t.plan_items.c.item_id).where(
                    t.plan_items.c.plan_id == plan_of[world.student])),
                t.plan_items.c.item_id.not_in(select(t.error_book.c.item_id).where(
                    t.error_book.c.student_id == world.student)),
            ).order_by(t.plan_items.c.item_id)
        ).first()[0]  # fmt: skip
    mine = {"class_id": "east-5-1", "student_id": world.student, "plan_id": draft, "weekday": "1",
            "night": str(NIGHT), "kind": "attempts", "job_id": "job-of-no-one",
            "item_id": theirs_only, **ELSEWHERE}  # fmt: skip
    answered = {}
    for method, path, url, kwargs in _every_route(anonymous, mine):
        if (method, path) == ("post", "/v1/scans"):
            continue  # their own pile (MARKER_ROUTES)
        r = english.request(method.upper(), url, **kwargs)
        if (method, path) in SUBJECT_TEACHER_MAY:
            assert r.status_code == 200, (method, url, r.status_code, r.text[:200])
            answered[path] = r.json()
        else:
            assert r.status_code in (403, 404), (method, url, r.status_code, r.text[:200])
            assert r.headers["content-type"] == PROBLEM
    tonight = student.get(f"/v1/students/{world.student}/tonight", params={"night": str(NIGHT)}).json()
    assert "math" in {i["subject"] for i in tonight["items"]}  # the student's evening holds maths
    assert all(i["subject"] == "english" for i in answered["/v1/students/{student_id}/tonight"]["items"])
    assert all(e["subject"] == "english" for e in answered["/v1/students/{student_id}/error-book"])
    assert all(
        s["subject"] == "english" for s in answered["/v1/students/{student_id}/error-book/points"]["subjects"]
    )
    signed = {"Cookie": "jianfu_session=" + english.headers["Authorization"].removeprefix("Bearer ")}
    sheet = anonymous.get(
        "/worksheets", params={"student_id": world.student, "night": str(NIGHT)}, headers=signed
    )
    assert sheet.status_code == 403  # one child's whole evening: every subject (the class's maths sheet: 404)
    assert anonymous.get("/worksheets", params={"class_id": "east-5-1", "subject": "math", "night": str(NIGHT)},
                         headers=signed).status_code == 404  # fmt: skip

    theirs = {**mine, "student_id": world.other_student}
    for method, path, url, kwargs in _every_route(anonymous, theirs):
        for who, caller in (("parent", parent), ("student", student)):
            r = caller.request(method.upper(), url, **kwargs)
            if (method, path) in FAMILY_MAY:
                assert r.status_code == 200, (who, method, url, r.status_code)
            else:
                assert r.status_code in (403, 404), (who, method, url, r.status_code, r.text[:200])
                assert r.headers["content-type"] == PROBLEM

    with world.engine.connect() as conn:  # nothing of the refused requests was stored
        assert (
            conn.execute(select(t.plans.c.status).where(t.plans.c.plan_id == draft)).scalar_one() == "draft"
        )
        assert (
            conn.execute(select(t.attempts.c.event_id).where(t.attempts.c.event_id == "matrix-1")).first()
            is None
        )
    assert _progress(world) == before
