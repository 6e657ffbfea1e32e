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
