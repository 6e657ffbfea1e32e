"""Two service processes on one database (SQLite and PostgreSQL), as two workers or replicas run:
what one process learns from the database, the other must not miss. Process B imports a new item
and a student answers it through B; process A, whose state cache was filled before, then plans the
class, shows its mastery and checks a set with the new item: every answer 200, the item known (the
model times it) — A reads again what its memory lacks instead of trusting it."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from models.bundle import Bundle
from service.auth import create_user
from service.store import tables as t
from service.store.db import make_engine, upgrade
from service.store.importer import import_files
from tests.conftest import ROOT, SAMPLES, fresh_postgres_database
from tests.test_crash import _port

PASSWORD = "two-processes-1"
CLASS = "east-5-1"
NIGHT = date(2026, 11, 10)  # a Tuesday: maths has a share of the evening by the school's default
BEFORE = NIGHT - timedelta(days=1)
NEW_ITEM = "math-g5-18-901"
ITEMS_CSV = (
    "item_id,subject,kp_ids,grade,kind,stem,needs_parent,dup_group,est_minutes,answer\n"
    f"{NEW_ITEM},math,math-g5-18,5,written,计算：12 × 3.5 = ？,0,math-g5-18-v9,2,42\n"
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, samples_sqlite: str, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        shutil.copy(Path(samples_sqlite.removeprefix("sqlite:///")), tmp_path / "school.db")
        url = f"sqlite:///{tmp_path / 'school.db'}"
    else:
        url = fresh_postgres_database(request.getfixturevalue("postgres_server"))
        engine = make_engine(url)
        upgrade(engine)
        assert import_files(engine, [SAMPLES]).ok
        engine.dispose()
    yield url


def _start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tests.fixed_model_app:create", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise AssertionError(f"the service did not start: {log.read_text()[-3000:]}")


def _student(engine: Engine) -> str:
    with engine.connect() as conn:
        return conn.execute(
            select(t.students.c.student_id)
            .where(t.students.c.class_id == CLASS, t.students.c.personal_cap_minutes.is_(None))
            .order_by(t.students.c.student_id)
            .limit(1)
        ).scalar_one()


def test_what_one_process_imports_and_records_the_other_knows(
    database: str, bundle: Bundle, tmp_path: Path
) -> None:
    engine = make_engine(database)
    student = _student(engine)
    create_user(engine, "t-math", PASSWORD, "teacher", scopes=[("class", CLASS, "math")])
    create_user(engine, "s-1", PASSWORD, "student", scopes=[("student", student, "")])
    create_user(engine, "data", PASSWORD, "data_team")
    engine.dispose()
    model = tmp_path / "bundle.pkl"
    model.write_bytes(pickle.dumps(bundle))
    processes, bases = [], []
    for name in ("a", "b"):
        env = {
            **os.environ,
            "JIANFU_TEST_BUNDLE": str(model),
            "JIANFU_DATA_DIR": str(tmp_path / f"var-{name}"),
            "JIANFU_DATABASE_URL": database,
            "JIANFU_JWT_SECRET": "p" * 40,  # the same key in both processes
            "JIANFU_POLICY_DIR": str(SAMPLES / "policies"),
            "JIANFU_LOG_JSON": "false",
        }
        port = _port()
        processes.append(_start(env, port, tmp_path / f"{name}.log"))
        bases.append(f"http://127.0.0.1:{port}")
    a = httpx.Client(base_url=bases[0], timeout=300)
    b = httpx.Client(base_url=bases[1], timeout=300)
    try:

        def signed_in(client: httpx.Client, username: str) -> dict[str, str]:
            r = client.post("/v1/token", data={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        teacher, pupil, data = signed_in(a, "t-math"), signed_in(b, "s-1"), signed_in(b, "data")
        mastery = {"subject": "math", "night": str(BEFORE)}
        r = a.get(f"/v1/classes/{CLASS}/mastery", params=mastery, headers=teacher)
        assert r.status_code == 200, r.text  # A's states of the class are in its memory now

        files = [("files", ("items-new.csv", ITEMS_CSV.encode(), "text/csv"))]
        r = b.post("/v1/imports", files=files, headers=data)
        assert r.status_code == 202, r.text
        job = r.json()
        while job["state"] in ("queued", "running"):  # the import runs as a job on B
            time.sleep(0.1)
            job = b.get(r.headers["Location"], headers=data).json()
        assert job["state"] == "done" and job["result"]["committed"], job
        batch = {"attempts": [{"event_id": "two-processes-1", "item_id": NEW_ITEM, "night": str(BEFORE),
                               "submitted_at": f"{BEFORE}T20:05:00+08:00", "correct": False, "seconds": 150}]}  # fmt: skip
        r = b.post(f"/v1/students/{student}/attempts", json=batch, headers=pupil)
        assert r.status_code == 200 and r.json()["stored"] == 1, r.text

        r = a.post(
            f"/v1/classes/{CLASS}/plans", json={"subject": "math", "night": str(NIGHT)}, headers=teacher
        )
        assert r.status_code == 200, r.text
        assert any(s["status"] == "draft" for s in r.json()["students"])
        r = a.get(
            f"/v1/classes/{CLASS}/mastery", params={"subject": "math", "night": str(NIGHT)}, headers=teacher
        )
        assert r.status_code == 200, r.text
        mine = next(s for s in r.json()["levels"] if s["student_id"] == student)
        assert "math-g5-18" in mine["levels"]
        check = {"student_id": student, "night": str(NIGHT), "subject": "math",
                 "items": [{"item_id": NEW_ITEM, "tier": "basic", "review": True}]}  # fmt: skip
        r = a.post("/v1/checks", json=check, headers=teacher)
        assert r.status_code == 200, r.text
        result = r.json()
        assert result["typical_minutes"] > 0  # no minutes were given: the model timed the new item
        rules = {v["rule"] for v in result["violations"]}  # tonight's draft may leave it no time, but
        assert rules <= {"T2", "T5", "T10", "C6"}, result  # it is a review of the error it opened (C4)
    finally:
        a.close()
        b.close()
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
