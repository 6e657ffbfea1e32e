"""API v1 through HTTP (FastAPI's TestClient): a teacher plans, publishes; a student sees tonight,
answers, finds the error book; a parent excuses tonight; errors are problem details; nobody sees
someone else's objects. The model is the real one trained on data_samples/ (the registry side of
serving is tested in test_serving.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from models.bundle import Bundle
from service.app import create_app
from service.auth import create_user
from service.settings import Settings
from service.store import tables as t
from service.store.db import make_engine, upgrade
from service.store.importer import import_files
from tests.conftest import SAMPLES, FixedModels, fresh_postgres_database

NIGHT = date(2026, 11, 10)  # a Tuesday
PASSWORD = "correct-horse-1"
PROBLEM = "application/problem+json"


@pytest.fixture
def school(samples_sqlite: str, tmp_path: Path) -> Engine:
    shutil.copy(Path(samples_sqlite.removeprefix("sqlite:///")), tmp_path / "school.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'school.db'}")
    yield engine
    engine.dispose()


@dataclass
class World:
    client: TestClient
    engine: Engine
    student: str
    other_student: str
    other_class: str

    def token(self, username: str) -> dict[str, str]:
        r = self.client.post("/v1/token", data={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def world(school: Engine, bundle: Bundle, tmp_path: Path) -> Iterator[World]:
    yield from _world(school, bundle, tmp_path)


@pytest.fixture
def postgres_world(postgres_server: str, bundle: Bundle, tmp_path: Path) -> Iterator[World]:
    """The same school in a real PostgreSQL (the hot reads are plain SQL: both dialects must answer)."""
    engine = make_engine(fresh_postgres_database(postgres_server))
    upgrade(engine)
    import_files(engine, [SAMPLES])
    try:
        yield from _world(engine, bundle, tmp_path)
    finally:
        engine.dispose()


def _world(school: Engine, bundle: Bundle, tmp_path: Path) -> Iterator[World]:
    with school.connect() as conn:
        students = list(
            conn.execute(
                select(t.students.c.student_id)
                .where(t.students.c.class_id == "east-5-1", t.students.c.personal_cap_minutes.is_(None))
                .order_by(t.students.c.student_id)
            ).scalars()
        )
        other_class = conn.execute(
            select(t.classes.c.class_id)
            .where(t.classes.c.class_id != "east-5-1", t.classes.c.grade >= 3)
            .order_by(t.classes.c.class_id)
            .limit(1)
        ).scalar_one()
    create_user(school, "t-math", PASSWORD, "teacher", scopes=[("class", "east-5-1", "math")])
    create_user(school, "t-english", PASSWORD, "teacher", scopes=[("class", "east-5-1", "english")])
    create_user(school, "t-other", PASSWORD, "teacher", scopes=[("class", other_class, "math")])
    create_user(school, "s-1", PASSWORD, "student", scopes=[("student", students[0], "")])
    create_user(school, "p-1", PASSWORD, "parent", scopes=[("student", students[0], "")])
    create_user(school, "p-2", PASSWORD, "parent", scopes=[("student", students[1], "")])
    create_user(school, "data", PASSWORD, "data_team")
    create_user(school, "h-1", PASSWORD, "head_teacher", scopes=[("class", "east-5-1", "")])
    create_user(school, "admin-west", PASSWORD, "school_admin", scopes=[("school", "sch-west", "")])
    settings = Settings(data_dir=tmp_path / "var", jwt_secret="k" * 40, policy_dir=SAMPLES / "policies")
    app = create_app(settings, engine=school, models=FixedModels(bundle))
    with TestClient(app) as client:
        yield World(client, school, students[0], students[1], other_class)


def test_errors_are_problem_details_that_keep_their_headers(world: World) -> None:
    c = world.client
    r = c.get(f"/v1/students/{world.student}/tonight", params={"night": str(NIGHT)})
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM
    assert r.headers["www-authenticate"].startswith("Bearer") and r.json()["status"] == 401
    bad = c.get("/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401 and "invalid_token" in bad.headers["www-authenticate"]
    r = c.delete("/v1/checks", headers=world.token("t-math"))
    assert r.status_code == 405 and "POST" in r.headers["allow"] and r.headers["content-type"] == PROBLEM
    r = c.post("/v1/classes/east-5-1/plans", json={"subject": "math", "night": "2026-13-40"},
               headers=world.token("t-math"))  # fmt: skip
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert r.json()["errors"][0]["pointer"] == "/night"
    r = c.post("/v1/token", data={"username": "t-math", "password": "wrong-password"})
    assert r.status_code == 401 and r.headers["content-type"] == PROBLEM


def test_nobody_sees_someone_else_s_objects(world: World) -> None:
    c = world.client
    plan = {"subject": "math", "night": str(NIGHT)}
    tonight = {"night": str(NIGHT)}
    assert c.get(f"/v1/students/{world.other_student}/tonight", params=tonight,
                 headers=world.token("s-1")).status_code == 404  # fmt: skip
    assert c.get(f"/v1/students/{world.student}/tonight", params=tonight,
                 headers=world.token("p-2")).status_code == 404  # fmt: skip
    assert (
        c.post("/v1/classes/east-5-1/plans", json=plan, headers=world.token("t-english")).status_code == 404
    )
    assert c.post("/v1/classes/east-5-1/plans", json=plan, headers=world.token("t-other")).status_code == 404
    assert c.post("/v1/classes/east-5-1/plans", json=plan, headers=world.token("p-1")).status_code == 403
    assert c.get(f"/v1/students/{world.student}/error-book", headers=world.token("data")).status_code == 404
    excuse = {"night": str(NIGHT)}
    assert c.post(f"/v1/students/{world.student}/exemptions", json=excuse,
                  headers=world.token("s-1")).status_code == 403  # fmt: skip
    assert c.post(f"/v1/students/{world.student}/exemptions", json=excuse,
                  headers=world.token("p-2")).status_code == 404  # fmt: skip
    r = c.post("/v1/classes/east-5-1/plans", json=plan, headers=world.token("t-math"))
    some_plan = next(s["plan_id"] for s in r.json()["students"] if s["plan_id"])
    assert c.post(f"/v1/plans/{some_plan}/publish", headers=world.token("t-english")).status_code == 404
    assert c.post(f"/v1/plans/{some_plan}/discard", headers=world.token("t-math")).status_code == 200


# -- the whole access matrix ------------------------------------------------------------------------

OTHER_CLASS = "west-5-1"  # another school's class: nothing of it belongs to any account below
QUERIES = {
    "/v1/students/{student_id}/tonight": {"night": str(NIGHT)},
    "/v1/classes/{class_id}/notice": {"week_of": str(NIGHT)},
    "/v1/classes/{class_id}/burden": {"from": str(NIGHT), "to": str(NIGHT)},
    "/v1/classes/{class_id}/mastery": {"subject": "math", "night": str(NIGHT)},
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
    ("post", "/v1/students/{student_id}/evening-reports"): {"night": str(NIGHT), "minutes": 30},
}  # fmt: skip
# Routes that are about the data, not about anyone's object: only the data team may use them.
DATA_TEAM_ROUTES = {
    ("post", "/v1/imports"), ("get", "/v1/model"), ("post", "/v1/model/reload"),
    ("get", "/v1/exports/{kind}"), ("delete", "/v1/students/{student_id}"),
}  # fmt: skip
OPEN_ROUTES = {("post", "/v1/token"), ("get", "/v1/me")}  # about the caller only


def test_every_route_refuses_every_role_someone_else_s_objects(world: World) -> None:
    """Every /v1 route (from the OpenAPI description, so a new route is covered or fails here) ×
    every role, each account scoped to class east-5-1 or its student, asked about class west-5-1,
    its student and its plan: 404 (not yours) or 403 (not your role), never a success."""
    c = world.client
    with world.engine.connect() as conn:
        other_student = conn.execute(
            select(t.students.c.student_id).where(t.students.c.class_id == OTHER_CLASS).order_by(t.students.c.student_id)
        ).first()[0]  # fmt: skip
    create_user(world.engine, "t-west", PASSWORD, "teacher", scopes=[("class", OTHER_CLASS, "math")])
    create_user(world.engine, "admin-east", PASSWORD, "school_admin", scopes=[("school", "sch-east", "")])
    west = c.post(f"/v1/classes/{OTHER_CLASS}/plans", json={"subject": "math", "night": str(NIGHT)},
                  headers=world.token("t-west"))  # fmt: skip
    assert west.status_code == 200, west.text
    other_plan = next(s["plan_id"] for s in west.json()["students"] if s["plan_id"])
    params = {"class_id": OTHER_CLASS, "student_id": other_student, "plan_id": other_plan, "weekday": "1",
              "night": str(NIGHT), "kind": "attempts"}  # fmt: skip
    roles = {"student": "s-1", "parent": "p-1", "teacher": "t-math", "head_teacher": "h-1",
             "school_admin": "admin-east", "data_team": "data"}  # fmt: skip
    tokens = {role: world.token(name) for role, name in roles.items()}
    paths = c.get("/openapi.json").json()["paths"]
    checked = 0
    for path, methods in paths.items():
        for method in methods:
            if (method, path) in OPEN_ROUTES or not path.startswith("/v1/"):
                continue  # sign-in, the caller's own account, health and readiness
            url = path.format(**params)
            for role, headers in tokens.items():
                if role == "data_team" and (method, path) in DATA_TEAM_ROUTES:
                    continue  # the data team's own work, not someone else's object
                kwargs: dict[str, Any] = {"headers": headers, "params": QUERIES.get(path, {})}
                if (method, path) in BODIES:
                    kwargs["json"] = BODIES[(method, path)]
                if path == "/v1/imports":
                    kwargs["files"] = [("files", ("students.csv", b"student_id,class_id\\n", "text/csv"))]
                if path == "/v1/checks":
                    kwargs["json"] = {"student_id": other_student, "night": str(NIGHT), "subject": "math",
                                      "items": [{"item_id": "math-g5-01-001"}]}  # fmt: skip
                r = c.request(method.upper(), url, **kwargs)
                assert r.status_code in (403, 404), (method, url, role, r.status_code, r.text[:200])
                assert r.headers["content-type"] == PROBLEM
                checked += 1
            anonymous = c.request(method.upper(), url, params=QUERIES.get(path, {}))
            assert anonymous.status_code == 401, (method, url)
    assert checked >= 20 * 5  # every route, (almost) every role
    with world.engine.connect() as conn:  # and nothing of the other class was touched
        status = conn.execute(select(t.plans.c.status).where(t.plans.c.plan_id == other_plan)).scalar_one()
        assert status == "draft"
        assert (
            conn.execute(select(t.attempts.c.event_id).where(t.attempts.c.event_id == "matrix-1")).first()
            is None
        )
