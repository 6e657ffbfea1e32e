"""POST /v1/imports as a background job (issue 18, findings 1, 2 and 8): the upload is not read
before the token is checked, unsafe or unknown file names are refused naming the field (`..` used
to answer 500), a file over the bound is refused, the job answers 202 with its Location and only its
owner follows it to the result, and one import at a time runs per school (409 names the running
one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import func, select

from service.api.v1 import data as data_routes
from service.auth import create_user
from service.runtime import Services
from service.store import tables as t
from tests.api.conftest import PASSWORD, PROBLEM, Caller, World, finished_import

ROW = "event_id,student_id,item_id,night,submitted_at,correct,seconds,score,source\n"


def _attempts(world: World, event_id: str = "job-1") -> bytes:
    return (
        ROW + f"{event_id},{world.student},math-g5-01-001,2026-11-10,2026-11-10T19:00:00+08:00,1,60,,app\n"
    ).encode()


def _services(world: World) -> Services:
    services: Services = world.client.app.state.services  # type: ignore[attr-defined]
    return services


def _leftovers(world: World) -> list[Path]:
    folder = _services(world).jobs.folder
    return list(folder.iterdir()) if folder.exists() else []


def _job_rows(world: World) -> int:
    with world.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(t.jobs)).scalar_one())


def test_an_upload_is_not_read_before_the_token_is_checked(world: World) -> None:
    """The app called as the server calls it: with no token, not one chunk of the body is asked for
    (FastAPI reads an UploadFile parameter's whole body before any dependency runs)."""
    app = world.client.app
    asked: list[int] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        asked.append(1)
        body = (
            b'--xyz\r\nContent-Disposition: form-data; name="files"; filename="attempts.csv"\r\n\r\n'
            if len(asked) == 1
            else b"x" * 65536
        )
        return {"type": "http.request", "body": body, "more_body": len(asked) < 200}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/v1/imports", "raw_path": b"/v1/imports", "root_path": "", "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", b"multipart/form-data; boundary=xyz"),
                    (b"content-length", str(200 * 65536).encode())],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80), "state": {}, "app": app,
    }  # fmt: skip
    anyio.run(app, scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 401
    assert asked == []  # refused before the body was read
    assert _leftovers(world) == [] and _job_rows(world) == 0


@pytest.mark.parametrize(
    "name",
    ["..", ".", "", "../attempts.csv", "sub/attempts.csv", "sub\\attempts.csv", "attempts\x01.csv",
     "attempts\x7f.csv", "notes.txt", "attempts.exe", "attempts"],
)  # fmt: skip
def test_unsafe_or_unknown_upload_names_are_refused_naming_the_field(
    world: World, data_team: Caller, name: str
) -> None:
    r = data_team.post("/v1/imports", files=[("files", (name, _attempts(world), "text/csv"))])
    assert r.status_code == 422, (name, r.status_code, r.text)
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["errors"][0]["pointer"] == "/files" and "/files" in r.json()["detail"]
    assert r.json()["detail_zh"]
    assert _leftovers(world) == [] and _job_rows(world) == 0  # the refused job left nothing


def test_another_field_or_a_file_twice_or_no_file_is_refused(world: World, data_team: Caller) -> None:
    other = data_team.post("/v1/imports", files=[("upload", ("attempts.csv", _attempts(world), "text/csv"))])
    assert other.status_code == 422 and "/files" in other.json()["detail"], other.text
    twice = data_team.post(
        "/v1/imports", files=[("files", ("attempts.csv", _attempts(world), "text/csv"))] * 2
    )
    assert twice.status_code == 422 and "twice" in twice.json()["detail"], twice.text
    nothing = data_team.post("/v1/imports", data={"x": "1"})
    assert nothing.status_code == 422, nothing.text
    assert _leftovers(world) == [] and _job_rows(world) == 0


def test_a_file_over_the_bound_is_refused_and_removed(
    world: World, data_team: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data_routes, "MAX_UPLOAD", 100)
    r = data_team.post("/v1/imports", files=[("files", ("attempts.csv", _attempts(world) * 3, "text/csv"))])
    assert r.status_code == 413 and r.headers["content-type"] == PROBLEM, r.text
    assert "attempts.csv" in r.json()["detail"]
    assert _leftovers(world) == [] and _job_rows(world) == 0


def test_an_import_is_a_job_only_its_owner_follows_to_its_result(
    world: World, data_team: Caller, teacher: Caller
) -> None:
    dry = data_team.post("/v1/imports", params={"dry_run": "true"},
                         files=[("files", ("attempts.csv", _attempts(world), "text/csv"))])  # fmt: skip
    assert dry.status_code == 202 and dry.headers["Location"] == f"/v1/imports/{dry.json()['job_id']}"
    assert dry.json()["state"] in ("queued", "running") and dry.json()["dry_run"]
    job = finished_import(data_team, dry)
    assert job["state"] == "done" and job["result"]["committed"] is False, job
    assert job["result"]["counts"]["attempts"]["inserted"] == 1 and job["progress"]["rows_checked"] == 1
    with world.engine.connect() as conn:
        assert conn.execute(select(t.attempts).where(t.attempts.c.event_id == "job-1")).first() is None

    job = finished_import(data_team, data_team.post("/v1/imports", files=[("files", ("attempts.csv", _attempts(world), "text/csv"))]))  # fmt: skip
    assert job["state"] == "done" and job["result"]["committed"], job
    assert job["files"] == ["attempts.csv"] and job["progress"]["rows_written"] == 1
    with world.engine.connect() as conn:
        assert conn.execute(select(t.attempts).where(t.attempts.c.event_id == "job-1")).first() is not None
    assert _leftovers(world) == []  # the upload is removed once the job has ended

    create_user(world.engine, "data-2", PASSWORD, "data_team")
    someone_else = world.sign_in("data-2")
    assert someone_else.get(f"/v1/imports/{job['job_id']}").status_code == 404
    assert teacher.get(f"/v1/imports/{job['job_id']}").status_code == 403
    assert data_team.get("/v1/imports/job-nonexistent").status_code == 404


def test_one_import_at_a_time_per_school(world: World, data_team: Caller) -> None:
    """The usual data team (no scope) imports for every school: it waits for any import; an account
    scoped to one school waits only for that school's (and for an every-school import)."""
    jobs = _services(world).jobs
    east = jobs.create(kind="import", owner_id="someone", school_id="sch-east", params={})
    files = [("files", ("attempts.csv", _attempts(world), "text/csv"))]
    r = data_team.post("/v1/imports", files=files)
    assert r.status_code == 409 and r.headers["content-type"] == PROBLEM, r.text
    assert r.json()["job_id"] == east.job_id and east.job_id in r.json()["detail"]

    create_user(world.engine, "data-west", PASSWORD, "data_team", scopes=[("school", "sch-west", "")])
    create_user(world.engine, "data-east", PASSWORD, "data_team", scopes=[("school", "sch-east", "")])
    assert world.sign_in("data-east").post("/v1/imports", files=files).status_code == 409
    west = world.sign_in("data-west")
    assert finished_import(west, west.post("/v1/imports", files=files))["state"] == "done"

    jobs.discard(east.job_id)
    assert finished_import(data_team, data_team.post("/v1/imports", files=files))["state"] == "done"
