"""The data team's routes through the API: a guardian's deletion (erasure) removes the student
everywhere and later imports leave them out, exports are pseudonymised, a bad import names file, row
and field and writes nothing, and the model's status and reload."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from service.store import tables as t
from tests.api.conftest import PASSWORD, Caller, World, finished_import
from tests.conftest import SAMPLES


def test_a_guardian_s_deletion_removes_the_student_everywhere_and_imports_leave_them_out(
    world: World, data_team: Caller, teacher: Caller, anonymous: Caller, tmp_path: Path
) -> None:
    data = data_team
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
    with world.engine.connect() as conn:
        assert (
            conn.execute(select(t.students.c.student_id).where(t.students.c.student_id == gone)).first()
            is None
        )
        assert (
            conn.execute(select(t.attempts.c.event_id).where(t.attempts.c.student_id == gone)).first() is None
        )


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
