"""Two service replicas on loopback sharing one PostgreSQL and one MLflow registry; 16 teachers at
once plan and publish for overlapping classes and subjects on the same night, half through each
replica. No evening may end above its cap, nor a subject above its share: the ledger's guarded
updates in the shared database are what holds it, not anything in one process. Every set published
is in the archive (R2), whose chain the two replicas' appends did not fork."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from service.auth import create_user
from service.store import tables as t
from service.store.archive import PUBLISHED_SET, verify
from service.store.db import make_engine, upgrade
from service.store.importer import import_files
from tests.conftest import ROOT, SAMPLES, fresh_postgres_database
from tests.test_crash import _port, _start
from training.pipeline import promote, train

pytestmark = pytest.mark.postgres
NIGHT = "2026-11-10"
ON = date(2026, 11, 10)
CLASSES = ["east-5-1", "west-5-1", "east-8-1", "west-8-1"]
SUBJECTS = ["math", "chinese", "english"]


def test_two_replicas_and_sixteen_teachers_never_overbook_an_evening(
    postgres_server: str, tmp_path: Path
) -> None:
    url = fresh_postgres_database(postgres_server)
    engine = make_engine(url)
    upgrade(engine)
    report = import_files(engine, [SAMPLES])
    assert report.ok, report.problems.lines()
    teachers = []
    for k in range(16):
        klass, subject = CLASSES[k % len(CLASSES)], SUBJECTS[k % len(SUBJECTS)]
        create_user(engine, f"teacher-{k}", "replica-password", "teacher", scopes=[("class", klass, subject)])
        teachers.append((f"teacher-{k}", klass, subject))
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    version = train(SAMPLES, tracking, artifact_location=(tmp_path / "artifacts").as_uri())["version"]
    promote(tracking, version, "champion")

    replicas, bases = [], []
    for r in range(2):
        env = {
            **os.environ,
            "JIANFU_DATA_DIR": str(tmp_path / f"replica-{r}"),
            "JIANFU_DATABASE_URL": url,
            "JIANFU_MLFLOW_TRACKING_URI": tracking,
            "JIANFU_JWT_SECRET": "r" * 40,  # the same key on every replica
            "JIANFU_POLICY_DIR": str(ROOT / "data_samples" / "policies"),
            "JIANFU_MODEL_POLL_SECONDS": "3600",
            "JIANFU_LOG_JSON": "false",
        }
        port = _port()
        replicas.append(_start(env, port, tmp_path / f"replica-{r}.log"))
        bases.append(f"http://127.0.0.1:{port}")
    try:
        for base in bases:  # both have loaded the champion
            ready = httpx.get(f"{base}/readyz", timeout=120).json()
            assert ready["ready"], ready
        results: dict[str, Any] = {}
        barrier = threading.Barrier(len(teachers), timeout=300)  # a teacher that fails to start ends the wait

        def teacher(k: int, username: str, klass: str, subject: str) -> None:
            base = bases[k % 2]
            with httpx.Client(base_url=base, timeout=300) as client:
                for _ in range(10):  # 16 sign-ins at once from one address: a 429 says when to try again
                    token = client.post(
                        "/v1/token", data={"username": username, "password": "replica-password"}
                    )
                    if token.status_code != 429:
                        break
                    time.sleep(float(token.headers.get("retry-after", "1")))
                if token.status_code != 200:
                    barrier.abort()  # the others stop waiting: the test fails with this answer
                    results[username] = (token.status_code, token.json(), 0)
                    return
                headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
                barrier.wait()
                # (a colleague may have planned the class first: plan whoever has no set yet)
                plan = client.post(f"/v1/classes/{klass}/plans", headers=headers,
                                   json={"subject": subject, "night": NIGHT, "replan": "missing"})  # fmt: skip
                published = client.post(f"/v1/classes/{klass}/publish", json={"subject": subject, "night": NIGHT},
                                        headers=headers)  # fmt: skip
                results[username] = (plan.status_code, plan.json(), published.status_code)

        threads = [threading.Thread(target=teacher, args=(k, *spec)) for k, spec in enumerate(teachers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        assert len(results) == len(teachers)
        for username, (status, body, published) in results.items():
            assert status == 200 and published == 200, (username, status, str(body)[:300])
        planned = sum(
            1 for _, body, _ in results.values() for s in body["students"] if s["status"] == "draft"
        )
        assert planned > 100  # the teachers really did set work, on both replicas
        statuses = Counter(s["status"] for _, body, _ in results.values() for s in body["students"])
        print(f"plans by status: {dict(statuses)}")
    finally:
        for process in replicas:
            process.terminate()
            process.wait(timeout=30)

    with engine.connect() as conn:
        over = conn.execute(
            select(func.count())
            .select_from(t.evening_ledger)
            .where(t.evening_ledger.c.night == ON, t.evening_ledger.c.reserved_minutes > t.evening_ledger.c.cap_minutes + 1e-6)
        ).scalar_one()  # fmt: skip
        caps = {
            r.student_id: r.cap_minutes
            for r in conn.execute(select(t.evening_ledger).where(t.evening_ledger.c.night == ON))
        }
        shares = {
            (r.student_id, r.subject): r.allowance_minutes
            for r in conn.execute(select(t.evening_subjects).where(t.evening_subjects.c.night == ON))
        }
        evening: dict[str, float] = defaultdict(float)
        subject: dict[tuple[str, str], float] = defaultdict(float)
        for p in conn.execute(
            select(t.plans).where(t.plans.c.night == ON, t.plans.c.status.in_(("draft", "published")))
        ):
            evening[p.student_id] += p.conservative_minutes
            subject[(p.student_id, p.subject)] += p.conservative_minutes
        published = conn.execute(
            select(func.count())
            .select_from(t.plans)
            .where(t.plans.c.night == ON, t.plans.c.status == "published")
        ).scalar_one()
        archived = conn.execute(
            select(func.count())
            .select_from(t.archive_entries)
            .where(t.archive_entries.c.kind == PUBLISHED_SET)
        ).scalar_one()
        archive = verify(conn)
    engine.dispose()
    # R2: every set published through either replica is archived once, in one unforked chain
    assert published > 100 and archived == published
    assert archive.ok, [p.line() for p in archive.problems]
    assert over == 0
    assert all(minutes <= caps[sid] + 1e-6 for sid, minutes in evening.items())  # 0 evenings over the cap
    assert all(minutes <= shares[key] + 1e-6 for key, minutes in subject.items())
    assert len(evening) > 100
