"""service.jobs on SQLite and PostgreSQL: a job's life (queued, running, done or failed with its
refusal as problems), and the cleaning at start: jobs whose process is certainly dead are marked
interrupted and their uploads removed (a kill -9 during an import left its upload forever), while a
live process's job — another replica's, sharing the database and even the data dir — is left alone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from service.errors import ImportRefused
from service.jobs import JobRunner, Progress
from service.store import tables as t


def _row(
    job_id: str, runner: str, *, state: str = "running", beat: timedelta = timedelta(0)
) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"job_id": job_id, "kind": "import", "owner_id": "usr-1", "school_id": "*", "state": state,
            "params": {}, "progress": {"rows_checked": 5}, "problems": None, "result": None, "runner": runner,
            "created_at": now - beat, "started_at": now - beat, "finished_at": None, "heartbeat_at": now - beat}  # fmt: skip


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _wait(runner: JobRunner, job_id: str) -> Any:
    deadline = time.monotonic() + 60
    while (job := runner.find(job_id)) is not None and job.state in ("queued", "running"):
        assert time.monotonic() < deadline, job
        time.sleep(0.02)
    return job


def test_at_start_only_certainly_dead_jobs_are_interrupted_and_their_uploads_removed(
    engine: Engine, tmp_path: Path
) -> None:
    host = socket.gethostname()
    killed = _row("job-killed", f"{host}:{_dead_pid()}:a1b2c3d4")  # kill -9: its process is gone
    earlier = _row(
        "job-earlier", f"{host}:{os.getpid()}:00000000", state="queued"
    )  # this pid, an earlier start
    silent = _row("job-silent", "other-host:7:deadbeef", beat=timedelta(hours=1))  # no heartbeat for an hour
    alive = _row("job-alive", f"{host}:{os.getppid()}:cafebabe")  # a live process here (another replica)
    remote = _row("job-remote", "other-host:7:feedface")  # another machine, heartbeat fresh
    done = _row("job-done", f"{host}:{os.getppid()}:cafebabe", state="done")
    with engine.begin() as conn:
        conn.execute(insert(t.jobs), [killed, earlier, silent, alive, remote, done])
    folder = tmp_path / "jobs"
    for name in (
        "job-killed",
        "job-earlier",
        "job-silent",
        "job-alive",
        "job-remote",
        "job-done",
        "job-unknown",
    ):
        (folder / name).mkdir(parents=True)
        (folder / name / "attempts.csv").write_text("event_id\n")

    runner = JobRunner(engine, folder)
    assert sorted(runner.start()) == ["job-earlier", "job-killed", "job-silent"]
    try:
        with engine.connect() as conn:
            states = dict(conn.execute(select(t.jobs.c.job_id, t.jobs.c.state)).all())
            problems = conn.execute(
                select(t.jobs.c.problems).where(t.jobs.c.job_id == "job-killed")
            ).scalar_one()
        assert states == {"job-killed": "interrupted", "job-earlier": "interrupted", "job-silent": "interrupted",
                          "job-alive": "running", "job-remote": "running", "job-done": "done"}  # fmt: skip
        assert "start it again" in problems["detail"] and problems["detail_zh"]
        assert sorted(p.name for p in folder.iterdir()) == ["job-alive", "job-remote"]
    finally:
        runner.stop()


def test_a_job_runs_off_the_caller_s_thread_and_ends_done_or_failed(engine: Engine, tmp_path: Path) -> None:
    runner = JobRunner(engine, tmp_path / "jobs")
    runner.start()
    try:
        job = runner.create(kind="import", owner_id="usr-1", school_id="sch-east", params={"dry_run": False})
        assert (tmp_path / "jobs" / job.job_id).is_dir()

        def work(progress: Progress) -> dict[str, Any]:
            progress.update(rows_checked=3)
            return {"ok": True}

        runner.submit(job.job_id, work, files=["attempts.csv"])
        done = _wait(runner, job.job_id)
        assert (done.state, done.result, done.progress) == ("done", {"ok": True}, {"rows_checked": 3})
        assert done.params == {"dry_run": False, "files": ["attempts.csv"]} and done.finished_at is not None
        assert not (tmp_path / "jobs" / job.job_id).exists()

        job = runner.create(kind="import", owner_id="usr-1", school_id="sch-east", params={})

        def refused(progress: Progress) -> dict[str, Any]:
            raise ImportRefused(
                "nothing was imported", "没有导入任何数据", problems=[{"file": "a.csv"}], problem_count=1
            )

        runner.submit(job.job_id, refused)
        failed = _wait(runner, job.job_id)
        assert failed.state == "failed" and failed.result is None
        assert failed.problems == {"kind": "import-refused", "detail": "nothing was imported",
                                   "detail_zh": "没有导入任何数据", "problems": [{"file": "a.csv"}], "problem_count": 1}  # fmt: skip

        job = runner.create(kind="import", owner_id="usr-1", school_id="sch-east", params={})
        runner.submit(job.job_id, lambda progress: {"when": object()})  # a result the store cannot take
        unstored = _wait(runner, job.job_id)
        assert (unstored.state, unstored.result) == ("failed", None) and unstored.problems
    finally:
        runner.stop()


@pytest.mark.parametrize("other_school", ["sch-east", "*"])
def test_a_second_job_for_the_same_school_is_refused_naming_the_first(
    engine: Engine, tmp_path: Path, other_school: str
) -> None:
    from service.errors import Conflict

    runner = JobRunner(engine, tmp_path / "jobs")
    first = runner.create(kind="import", owner_id="usr-1", school_id="sch-east", params={})
    with pytest.raises(Conflict) as refused:
        runner.create(kind="import", owner_id="usr-2", school_id=other_school, params={})
    assert refused.value.extra["job_id"] == first.job_id
    if other_school != "*":  # a school of its own: not held by the first
        runner.create(kind="import", owner_id="usr-2", school_id="sch-west", params={})
    runner.create(
        kind="scan", owner_id="usr-2", school_id="sch-east", params={}
    )  # another kind: its own queue
