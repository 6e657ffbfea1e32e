"""Crash safety: the service is killed with SIGKILL while it takes in 10,000 answers in batches of
100. After a restart every batch it acknowledged is stored, and sending again the batches it did
not acknowledge (and, for good measure, some it did) stores each answer exactly once."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from service.auth import create_user
from service.store import tables as t
from service.store.db import make_engine
from tests.conftest import ROOT

BATCH = 100
TOTAL = 10_000


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "service.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"the service did not start: {log.read_text()[-2000:]}")


def test_a_killed_service_keeps_every_acknowledged_batch_and_resending_duplicates_nothing(
    samples_sqlite: str, tmp_path: Path
) -> None:
    db = tmp_path / "school.db"
    shutil.copy(Path(samples_sqlite.removeprefix("sqlite:///")), db)
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        students = list(
            conn.execute(select(t.students.c.student_id).where(t.students.c.class_id == "east-5-1")).scalars()
        )
        items = list(
            conn.execute(
                select(t.items.c.item_id).where(t.items.c.subject == "math", t.items.c.grade == 5).limit(200)
            ).scalars()
        )
    create_user(engine, "crash-teacher", "crash-password", "teacher", scopes=[("class", "east-5-1", "")])
    engine.dispose()
    env = {
        **os.environ,
        "JIANFU_DATA_DIR": str(tmp_path / "var"),
        "JIANFU_DATABASE_URL": f"sqlite:///{db}",
        "JIANFU_JWT_SECRET": "c" * 40,
        "JIANFU_MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'empty-mlflow.db'}",  # no model needed to take answers
        "JIANFU_MODEL_ATTEMPTS": "1",
        "JIANFU_POLICY_DIR": str(ROOT / "data_samples" / "policies"),
        "JIANFU_LOG_JSON": "false",
    }
    start = datetime(2026, 11, 10, 11, 0, tzinfo=UTC)
    batches: list[tuple[str, list[dict[str, Any]]]] = []
    for b in range(TOTAL // BATCH):
        student = students[b % len(students)]
        answers = [
            {"event_id": f"crash-{b:03d}-{k:03d}", "item_id": items[(b * 7 + k) % len(items)], "night": "2026-11-10",
             "submitted_at": (start + timedelta(seconds=b * BATCH + k)).isoformat(), "correct": (b + k) % 3 != 0,
             "seconds": 30 + k}
            for k in range(BATCH)
        ]  # fmt: skip
        batches.append((student, answers))

    port = _port()
    log = tmp_path / "service.log"
    service = _start(env, port, log)
    base = f"http://127.0.0.1:{port}"

    def token() -> dict[str, str]:
        r = httpx.post(f"{base}/v1/token", data={"username": "crash-teacher", "password": "crash-password"})
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    headers = token()
    acknowledged: set[int] = set()
    failed: set[int] = set()

    def send_all() -> None:
        with httpx.Client(timeout=30) as client:
            for b, (student, answers) in enumerate(batches):
                try:
                    r = client.post(
                        f"{base}/v1/students/{student}/attempts", json={"attempts": answers}, headers=headers
                    )
                except httpx.HTTPError:
                    failed.add(b)
                    continue
                if r.status_code == 200:
                    acknowledged.add(b)
                else:
                    failed.add(b)

    sender = threading.Thread(target=send_all)
    sender.start()
    while len(acknowledged) < 30 and sender.is_alive():
        time.sleep(0.01)
    service.send_signal(signal.SIGKILL)  # in the middle of the stream: no shutdown, no flush
    service.wait(timeout=30)
    sender.join(timeout=300)
    assert 30 <= len(acknowledged) < len(batches), (len(acknowledged), log.read_text()[-2000:])
    assert failed, "the kill interrupted nothing"
    print(f"acknowledged {len(acknowledged)} batches, {len(failed)} not")

    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        stored = set(
            conn.execute(select(t.attempts.c.event_id).where(t.attempts.c.event_id.like("crash-%"))).scalars()
        )
    for b in acknowledged:  # every acknowledged batch survived the kill, whole
        assert {a["event_id"] for a in batches[b][1]} <= stored, b
    partial = [b for b in failed if 0 < len({a["event_id"] for a in batches[b][1]} & stored) < BATCH]
    assert not partial, f"batches half stored: {partial}"

    service = _start(env, port, log)
    try:
        headers = token()
        again = sorted(failed) + sorted(acknowledged)[:5]
        stored_again = 0
        with httpx.Client(timeout=30) as client:
            for b in again:
                student, answers = batches[b]
                r = client.post(
                    f"{base}/v1/students/{student}/attempts", json={"attempts": answers}, headers=headers
                )
                assert r.status_code == 200, r.text
                stored_again += r.json()["stored"]
                if b in acknowledged:
                    assert r.json()["stored"] == 0 and r.json()["already_stored"] == BATCH
    finally:
        service.terminate()
        service.wait(timeout=30)
    with engine.connect() as conn:
        count = conn.execute(
            select(func.count()).select_from(t.attempts).where(t.attempts.c.event_id.like("crash-%"))
        ).scalar_one()
        open_twice = conn.execute(
            select(t.error_book.c.student_id, t.error_book.c.item_id)
            .where(t.error_book.c.resolved_at.is_(None))
            .group_by(t.error_book.c.student_id, t.error_book.c.item_id)
            .having(func.count() > 1)
        ).all()
    engine.dispose()
    assert count == TOTAL  # each answer exactly once
    assert len(stored) + stored_again == TOTAL
    assert not open_twice  # and no error-book entry doubled by the resending
