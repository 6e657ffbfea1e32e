"""The data team's routes through the API: a guardian's deletion (erasure) removes the student
everywhere and later imports leave them out, and no log holds the student's id afterwards (SQLite
and PostgreSQL); exports are pseudonymised, a bad import names file, row and field and writes
nothing, and the model's status and reload."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from models.bulk import OPTIONAL, REQUIRED
from service.store import attempts as attempts_store
from service.store import tables as t
from tests.api.conftest import PASSWORD, Caller, World, finished_import
from tests.conftest import SAMPLES

ATTEMPT_COLUMNS = REQUIRED + OPTIONAL  # the attempts contract's columns, in order


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_world(request: pytest.FixtureRequest) -> World:
    """The school and its app on SQLite, and again on a real PostgreSQL."""
    return request.getfixturevalue("world" if request.param == "sqlite" else "postgres_world")


def test_a_guardian_s_deletion_removes_the_student_everywhere_and_imports_leave_them_out(
    any_world: World, tmp_path: Path
) -> None:
    world = any_world
    data, teacher = world.sign_in("data"), world.sign_in("t-math")
    anonymous = Caller(world.client, {})
    gone = world.student
    assert teacher.delete(f"/v1/students/{gone}").status_code == 403
    r = data.delete(f"/v1/students/{gone}")
    assert r.status_code == 200, r.text
    removed = r.json()["removed"]
    assert removed["students"] == 1 and removed["attempts"] > 0 and removed["accounts"] == 1
    assert removed["guardian_links"] == 2  # the student's own account and the parent's link
    assert anonymous.post("/v1/token", data={"username": "s-1", "password": PASSWORD}).status_code == 401
    assert data.delete(f"/v1/students/{gone}").status_code == 404

    export = data.get("/v1/exports/attempts")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    lines = export.text.splitlines()
    assert lines[0].startswith("student,") and len(lines) > 1000
    with world.engine.connect() as conn:
        ids = set(conn.execute(select(t.students.c.student_id)).scalars())
    assert not any(sid in export.text for sid in ids | {gone})  # pseudonyms only
    assert all(line.split(",")[0].startswith("p-") for line in lines[1:])

    # Re-importing the school's files does not bring the student back.
    attempts = [line for line in (SAMPLES / "attempts.csv").read_text(encoding="utf-8").splitlines()]
    mine = [a for a in attempts[1:] if f",{gone}," in a][:20]
    (tmp_path / "attempts.csv").write_text("\n".join([attempts[0], *mine]) + "\n", encoding="utf-8")
    files = [("files", ("students.csv", (SAMPLES / "students.csv").read_bytes(), "text/csv")),
             ("files", ("attempts.csv", (tmp_path / "attempts.csv").read_bytes(), "text/csv"))]  # fmt: skip
    job = finished_import(data, data.post("/v1/imports", files=files))
    assert job["state"] == "done", job
    assert job["result"]["committed"] and job["result"]["erased_rows_left_out"] == 1 + len(mine)
    r = data.post("/v1/imports", files=files[1:])  # the answers alone: no "unknown student"
    job = finished_import(data, r)
    assert job["state"] == "done", job
    assert job["result"]["committed"] and job["result"]["erased_rows_left_out"] == len(mine)
    assert gone not in r.text and gone not in json.dumps(job)
    with world.engine.connect() as conn:
        assert (
            conn.execute(select(t.students.c.student_id).where(t.students.c.student_id == gone)).first()
            is None
        )
        assert (
            conn.execute(select(t.attempts.c.event_id).where(t.attempts.c.student_id == gone)).first() is None
        )


@pytest.fixture
def captured_logs(any_world: World) -> Iterator[io.StringIO]:
    """Every line the service's logging writes (the handler create_app installed, which also serves
    uvicorn.error and sqlalchemy, even after MLflow's import took sqlalchemy.engine), with every statement SQLAlchemy runs logged (INFO: with its
    parameters, unless the engine hides them)."""
    handler = logging.getLogger("jianfu").handlers[0]
    others = ("uvicorn.error", "sqlalchemy", "sqlalchemy.engine")
    assert all(logging.getLogger(n).handlers == [handler] for n in others)
    assert isinstance(handler, logging.StreamHandler)
    lines = io.StringIO()
    stream = handler.setStream(lines)
    levels = {n: logging.getLogger(n).level for n in ("jianfu", "sqlalchemy.engine")}
    logging.getLogger("jianfu").setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    try:
        yield lines
    finally:
        handler.setStream(stream)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def test_after_a_deletion_no_log_holds_the_student_s_id(
    any_world: World, captured_logs: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 7: error logs kept raw SQL parameters (student, item, right or wrong) that the deletion
    never touches. A day's logs (answers, a write that fails with an IntegrityError, as the service
    logs it and as uvicorn does, an import with a bad row, the deletion itself) are searched for the
    student's id afterwards: it is nowhere; the deletion's own line holds only the keyed hash."""
    world = any_world
    gone = world.student
    student, data = world.sign_in("s-1"), world.sign_in("data")
    answer = {"item_id": "math-g5-01-001", "night": "2026-11-10", "submitted_at": "2026-11-10T19:42:00+08:00"}
    r = student.post(f"/v1/students/{gone}/attempts", json={"attempts": [
        {"event_id": "log-1", "correct": True, "seconds": 60, **answer},
        {"event_id": "log-2", "correct": False, "seconds": 90, **answer}]})  # fmt: skip
    assert r.status_code == 200, r.text

    raised: list[IntegrityError] = []

    def failing_write(conn, student_id, grade, new):  # type: ignore[no-untyped-def]
        report = {"student_id": student_id, "night": new[0].night, "minutes": 30.0, "reported_by": "p-1",
                  "reported_at": datetime.now(UTC)}  # fmt: skip
        try:
            conn.execute(insert(t.evening_reports), [report, report])  # the same key twice
        except IntegrityError as exc:
            raised.append(exc)
            raise

    monkeypatch.setattr(attempts_store, "_error_book", failing_write)
    answering = Caller(TestClient(world.client.app, raise_server_exceptions=False), student.headers)
    r = answering.post(f"/v1/students/{gone}/attempts", json={"attempts": [
        {"event_id": "log-3", "correct": False, "seconds": 75, **answer}]})  # fmt: skip
    assert r.status_code == 500
    assert raised
    logging.getLogger("uvicorn.error").error("Exception in ASGI application\n", exc_info=raised[-1])
    monkeypatch.undo()

    bad = ("event_id,student_id,item_id,night,submitted_at,correct,seconds,score,source\n"
           f"log-4,{gone},math-g5-01-001,2026-11-10,2026-11-10T19:50:00+08:00,maybe,60,,app\n")  # fmt: skip
    job = finished_import(
        data, data.post("/v1/imports", files=[("files", ("attempts.csv", bad.encode(), "text/csv"))])
    )
    assert job["state"] == "failed" and job["problems"], job

    r = data.delete(f"/v1/students/{gone}")
    assert r.status_code == 200, r.text

    text = captured_logs.getvalue()
    records = [json.loads(line) for line in text.splitlines()]
    assert "IntegrityError" in text and "[SQL parameters hidden due to hide_parameters=True]" in text
    assert any(r.get("logger") == "uvicorn.error" and "error" in r for r in records)
    assert gone not in text
    key = world.client.app.state.services.settings.erasure_key()  # type: ignore[attr-defined]
    erased = [r for r in records if r["message"] == "student erased"]
    assert [r["student_hash"] for r in erased] == [
        hmac.new(key.encode(), gone.encode(), hashlib.sha256).hexdigest()
    ]


def test_a_bad_import_names_file_row_and_field_and_writes_nothing(
    world: World, data_team: Caller, teacher: Caller
) -> None:
    with world.engine.connect() as conn:
        before = conn.execute(select(t.attempts.c.event_id)).all()
    bad = ("event_id,student_id,item_id,night,submitted_at,correct,seconds,score,source\n"
           f"new-1,{world.student},math-g5-01-001,2026-11-10,2026-11-10T19:00:00+08:00,1,60,,app\n"
           f"new-2,{world.student},math-g5-01-001,2026-11-10,2026-11-10T19:05:00+08:00,maybe,60,,app\n")  # fmt: skip
    job = finished_import(
        data_team,
        data_team.post("/v1/imports", files=[("files", ("attempts.csv", bad.encode(), "text/csv"))]),
    )
    assert job["state"] == "failed" and job["problem_count"] == 1, job
    problem = job["problems"][0]
    assert (problem["file"], problem["row"], problem["field"]) == ("attempts.csv", 3, "correct")
    with world.engine.connect() as conn:
        assert conn.execute(select(t.attempts.c.event_id)).all() == before  # the good row was not written
    assert (
        teacher.post("/v1/imports", files=[("files", ("attempts.csv", bad.encode(), "text/csv"))]).status_code
        == 403
    )


def test_the_data_team_sees_the_model_and_can_ask_for_a_reload(data_team: Caller, teacher: Caller) -> None:
    status = data_team.get("/v1/model").json()
    assert status["ready"] and status["version"] == "7"
    assert data_team.post("/v1/model/reload").json() == {"outcome": "unchanged", "version": "7"}
    assert teacher.post("/v1/model/reload").status_code == 403


def test_a_bad_workbook_is_refused_at_sheet_and_cell_and_exports_come_as_xlsx(
    world: World, data_team: Caller, teacher: Caller
) -> None:
    """Excel through the API: an uploaded .xlsx with a bad cell fails the job naming sheet and cell
    (file:sheet!cell) and writes nothing; an export with format=xlsx is a workbook with Chinese
    headers holding the CSV export's pseudonyms."""
    import openpyxl

    with world.engine.connect() as conn:
        before = conn.execute(select(t.attempts.c.event_id)).all()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "作业记录"
    sheet.append(list(ATTEMPT_COLUMNS))
    sheet.append(
        [
            "new-1",
            world.student,
            "math-g5-01-001",
            datetime(2026, 11, 10).date(),
            "2026-11-10T19:00:00+08:00",
            1,
            60,
            None,
            "app",
        ]
    )
    sheet.append(["new-2", world.student, "math-g5-01-001", "2026年11月10日", "2026-11-10T19:05:00+08:00", 1, 60, None, "app"])  # fmt: skip
    upload = io.BytesIO()
    book.save(upload)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    job = finished_import(
        data_team,
        data_team.post("/v1/imports", files=[("files", ("attempts.xlsx", upload.getvalue(), xlsx))]),
    )
    assert job["state"] == "failed" and job["problem_count"] == 1, job
    problem = job["problems"][0]
    assert (problem["sheet"], problem["cell"], problem["where"]) == (
        "作业记录",
        "D3",
        "attempts.xlsx:作业记录!D3",
    )
    assert (problem["file"], problem["row"], problem["field"]) == ("attempts.xlsx", 3, "night")
    assert job["detail"].startswith("nothing was imported: attempts.xlsx:作业记录!D3: expected a date")
    with world.engine.connect() as conn:
        assert conn.execute(select(t.attempts.c.event_id)).all() == before

    as_csv = data_team.get("/v1/exports/attempts")
    r = data_team.get("/v1/exports/attempts", params={"format": "xlsx"})
    assert r.status_code == 200 and r.headers["content-type"] == xlsx
    assert r.headers["content-disposition"].endswith('.xlsx"')
    exported = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
    rows = list(exported["作业记录"].iter_rows(values_only=True))
    assert rows[0][:3] == ("学生（化名）", "班级", "题目")
    assert [row[0] for row in rows[1:]] == [line.split(",")[0] for line in as_csv.text.splitlines()[1:]]
    assert teacher.get("/v1/exports/attempts", params={"format": "xlsx"}).status_code == 403
