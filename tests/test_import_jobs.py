"""Finding 2 of issue 18, against a real server (uvicorn in its own process): while a large import
runs, the service keeps answering. The import is a job in a process of its own (service.import_worker,
a child of the serving process), checked without holding SQLite's write lock and written in one short
transaction, so `/healthz` and a student's `/tonight`
answer at once and a student's answers wait at most for the short write, not for the import (the
old import wrote as it checked, holding the write lock from its first chunk to its end)."""

from __future__ import annotations

import os
import pickle
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest

from models.bundle import Bundle
from service.auth import create_user
from service.store.db import make_engine
from tests.conftest import SAMPLES
from tests.test_crash import _port
from tests.test_two_processes import NIGHT, PASSWORD, _start, _student

NEW = 20_000


def _descendant_pids(pid: int) -> list[int]:
    """A process's descendants (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        here = todo.pop()
        for task in Path(f"/proc/{here}/task").glob("*/children"):
            try:
                children = [int(c) for c in task.read_text().split()]
            except OSError:
                continue
            found += children
            todo += children
    return found


def _descendants(pid: int) -> list[str]:
    """The command lines of a process's descendants."""
    found = []
    for child in _descendant_pids(pid):
        try:
            found.append(Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return found


def _big_attempts(path: Path) -> tuple[int, int]:
    """20,000 new attempts (new event ids), then the sample's attempts, already stored (so the rows
    are compared one by one): about 86,000 rows, (new, unchanged). The old import wrote its first
    chunk of new rows at once and held SQLite's write lock while it checked all the rest."""
    header, *rows = (SAMPLES / "attempts.csv").read_text(encoding="utf-8").splitlines()
    with path.open("w", encoding="utf-8") as out:
        out.write(header + "\n")
        out.writelines(f"big-{row}\n" for row in rows[:NEW])
        out.writelines(f"{row}\n" for row in rows)
    return NEW, len(rows)


def _school(samples_sqlite: str, bundle: Bundle, tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A copy of the sample school's database with a data-team account, and the environment of a
    server on it (the fixed model): (database URL, environment)."""
    shutil.copy(Path(samples_sqlite.removeprefix("sqlite:///")), tmp_path / "school.db")
    database = f"sqlite:///{tmp_path / 'school.db'}"
    engine = make_engine(database)
    create_user(engine, "data", PASSWORD, "data_team")
    engine.dispose()
    (tmp_path / "bundle.pkl").write_bytes(pickle.dumps(bundle))
    env = {
        **os.environ, "JIANFU_TEST_BUNDLE": str(tmp_path / "bundle.pkl"), "JIANFU_DATA_DIR": str(tmp_path / "var"),
        "JIANFU_DATABASE_URL": database, "JIANFU_JWT_SECRET": "i" * 40,
        "JIANFU_POLICY_DIR": str(SAMPLES / "policies"), "JIANFU_LOG_JSON": "false",
    }  # fmt: skip
    return database, env


@pytest.mark.slow
def test_the_service_keeps_answering_while_a_large_import_runs(
    samples_sqlite: str, bundle: Bundle, tmp_path: Path
) -> None:
    database, env = _school(samples_sqlite, bundle, tmp_path)
    engine = make_engine(database)
    student = _student(engine)
    create_user(engine, "s-1", PASSWORD, "student", scopes=[("student", student, "")])
    engine.dispose()
    new, unchanged = _big_attempts(tmp_path / "attempts.csv")
    port = _port()
    server = _start(env, port, tmp_path / "server.log")
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300)
    try:

        def signed_in(username: str) -> dict[str, str]:
            r = client.post("/v1/token", data={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        pupil, data = signed_in("s-1"), signed_in("data")
        tonight = f"/v1/students/{student}/tonight"
        assert client.get(tonight, params={"night": str(NIGHT)}, headers=pupil).status_code == 200

        latencies: dict[str, list[float]] = {"healthz": [], "tonight": [], "answers": []}
        statuses: list[int] = []
        stop = threading.Event()

        def ping() -> None:  # a second client, as students' apps and a load balancer are
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as other:
                while not stop.is_set():
                    n = len(latencies["answers"])
                    answer = {"attempts": [{"event_id": f"during-{n}", "item_id": "math-g5-01-001", "night": str(NIGHT),
                                            "submitted_at": f"{NIGHT}T19:00:00+08:00", "correct": True, "seconds": 60}]}  # fmt: skip
                    for name, method, url, kwargs in (
                        ("healthz", "GET", "/healthz", {}),
                        ("tonight", "GET", tonight, {"params": {"night": str(NIGHT)}, "headers": pupil}),
                        (
                            "answers",
                            "POST",
                            f"/v1/students/{student}/attempts",
                            {"json": answer, "headers": pupil},
                        ),
                    ):
                        started = time.perf_counter()
                        statuses.append(other.request(method, url, **kwargs).status_code)
                        latencies[name].append(time.perf_counter() - started)
                    time.sleep(0.05)

        pinger = threading.Thread(target=ping)
        started = time.perf_counter()
        pinger.start()
        try:
            with (tmp_path / "attempts.csv").open("rb") as upload:
                r = client.post(
                    "/v1/imports", files=[("files", ("attempts.csv", upload, "text/csv"))], headers=data
                )
            assert r.status_code == 202, r.text
            job = r.json()
            children: set[str] = set()
            while job["state"] in ("queued", "running"):
                children |= {c for c in _descendants(server.pid) if "service.import_worker" in c}
                time.sleep(0.2)
                job = client.get(r.headers["Location"], headers=data).json()
        finally:
            stop.set()
            pinger.join()
        took = time.perf_counter() - started
        assert job["state"] == "done", job
        assert job["result"]["counts"]["attempts"] == {"inserted": new, "unchanged": unchanged, "updated": 0}
        assert job["progress"]["rows_checked"] == new + unchanged
        assert children, "the import did not run in a process of its own"
        assert set(statuses) == {200}  # no answer lost to `database is locked`
        worst = {name: max(values) for name, values in latencies.items()}
        assert len(latencies["healthz"]) >= 5, (took, latencies)
        # Generous bounds on a busy machine: the old import held SQLite's write lock for most of `took`.
        assert took > 3, f"the import took {took:.1f} s: too short to tell"
        assert worst["healthz"] < 2 and worst["tonight"] < 2, (took, worst)
        assert worst["answers"] < took / 3, (took, worst)
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=60)


@pytest.mark.slow
def test_an_import_whose_process_is_killed_fails_writes_nothing_and_the_service_goes_on(
    samples_sqlite: str, bundle: Bundle, tmp_path: Path
) -> None:
    """kill -9 of the import's own process, mid-import: the job is failed (not left running), nothing
    of the file is in the database, the service answers, and the next import runs."""
    import signal

    from sqlalchemy import func, select

    from service.store import tables as t

    database, env = _school(samples_sqlite, bundle, tmp_path)
    engine = make_engine(database)
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(t.attempts)).scalar_one()
    _big_attempts(tmp_path / "attempts.csv")
    port = _port()
    server = _start(env, port, tmp_path / "server.log")
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300)
    try:
        r = client.post("/v1/token", data={"username": "data", "password": PASSWORD})
        data = {"Authorization": f"Bearer {r.json()['access_token']}"}

        def start_import() -> httpx.Response:
            with (tmp_path / "attempts.csv").open("rb") as upload:
                r = client.post(
                    "/v1/imports", files=[("files", ("attempts.csv", upload, "text/csv"))], headers=data
                )
            assert r.status_code == 202, r.text
            return r

        r = start_import()
        child = None
        deadline = time.monotonic() + 120
        while child is None and time.monotonic() < deadline:
            for pid in _descendant_pids(server.pid):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes() if Path(f"/proc/{pid}").exists() else b""
                if b"service.import_worker" in cmdline:
                    child = pid
            time.sleep(0.05)
        assert child is not None, "no import process appeared"
        time.sleep(1.0)  # into its work
        os.kill(child, signal.SIGKILL)
        job = client.get(r.headers["Location"], headers=data).json()
        deadline = time.monotonic() + 300
        while job["state"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.2)
            job = client.get(r.headers["Location"], headers=data).json()
        assert job["state"] == "failed", job
        assert job["detail"] and "logged" in job["detail"], job
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(t.attempts)).scalar_one() == before
        assert client.get("/healthz").status_code == 200
        r = start_import()  # not refused as "another import is running"
        job = r.json()
        while job["state"] in ("queued", "running"):
            time.sleep(0.2)
            job = client.get(r.headers["Location"], headers=data).json()
        assert job["state"] == "done", job
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(t.attempts)).scalar_one() == before + NEW
    finally:
        client.close()
        engine.dispose()
        server.terminate()
        server.wait(timeout=60)
