"""API v1 through HTTP (FastAPI's TestClient): the shared school, the app, and one signed-in caller per
role, so a test reads `teacher.post(...)` instead of repeating its sign-in headers. The model is the
real one trained on data_samples/ (the registry side of serving is tested in test_serving.py).

The accounts (all with PASSWORD), each scoped to class east-5-1 or its students unless said otherwise:
t-math (math teacher), t-english (english teacher), t-other (math teacher of another class), s-1 (a
student), p-1 (that student's parent), p-2 (another student's parent), data (the data team), h-1 (the
head teacher) and admin-west (the administrator of another school, sch-west)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
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


@dataclass
class Caller:
    """One account's requests through the app's client: each carries the account's bearer token
    (headers given to a call are added to it). With no token, an anonymous caller."""

    client: TestClient
    headers: dict[str, str]

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


@pytest.fixture
def school(samples_sqlite: str, tmp_path: Path) -> Iterator[Engine]:
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

    def sign_in(self, username: str) -> Caller:
        """A caller signed in as any account (the role fixtures below are the usual ones)."""
        return Caller(self.client, self.token(username))


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


# -- one signed-in caller per role ------------------------------------------------------------------


@pytest.fixture
def anonymous(world: World) -> Caller:
    """No token at all."""
    return Caller(world.client, {})


@pytest.fixture
def teacher(world: World) -> Caller:
    """t-math: teaches math to class east-5-1."""
    return world.sign_in("t-math")


@pytest.fixture
def head_teacher(world: World) -> Caller:
    """h-1: the head teacher of class east-5-1."""
    return world.sign_in("h-1")


@pytest.fixture
def student(world: World) -> Caller:
    """s-1: the student world.student of class east-5-1."""
    return world.sign_in("s-1")


@pytest.fixture
def parent(world: World) -> Caller:
    """p-1: the parent of world.student."""
    return world.sign_in("p-1")


@pytest.fixture
def school_admin(world: World) -> Caller:
    """admin-east: the administrator of sch-east, class east-5-1's school (created on asking)."""
    create_user(world.engine, "admin-east", PASSWORD, "school_admin", scopes=[("school", "sch-east", "")])
    return world.sign_in("admin-east")


@pytest.fixture
def data_team(world: World) -> Caller:
    """data: the data team (no scopes: the data, not anyone's object)."""
    return world.sign_in("data")


def finished_import(caller: Caller, started: httpx.Response, seconds: float = 120) -> dict[str, Any]:
    """The import job `started` (a 202 from POST /v1/imports) once it is no longer queued or running."""
    import time

    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    deadline = time.monotonic() + seconds
    while True:
        job = caller.get(location).json()
        if job["state"] not in ("queued", "running") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)
