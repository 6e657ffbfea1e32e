"""`jianfu bench district`: a district (教育局) on one PostgreSQL, end to end.

1. generate: the district sample (`jianfu data sample --district`'s generator, deterministic in the
   seed) with its schools, classes, students and weeks of logs;
2. import: through the real import path (`import_files`) into a throwaway PostgreSQL 16 (pgserver);
   the reference files first, then the attempts alone, timed: `import.attempts_per_second`;
3. plan_all: every class, every subject, on the first homework night after the logs, planned
   through the service's HTTP API (`POST /v1/classes/{id}/plans`) by N concurrent teacher clients
   against 2 replicas (real uvicorn processes sharing the database and one MLflow registry, the
   model trained on data_samples/ as `bench serve` does); afterwards an independent query sums each
   student's planned minutes across subjects and compares it with the cap the synthetic world's
   policy gives (national cap, the school's own, the student's personal cap), not the service's
   ledger: `plan_all.over_cap_evenings` (target 0);
4. report: the half-month district report, the same function `jianfu report district` calls
   (`service.district_report.make_report`, as a PDF), in a child process of its own: seconds and
   that process's peak resident memory (ru_maxrss, whole process: interpreter and imports included);
5. database: `pg_database_size`.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data_samples"
DISTRICT_ID = "d-sample"  # what `data sample --district` writes into district.json
REFERENCE = ("schools", "knowledge_points", "items", "classes", "students", "teaching_progress", "calendar")
FULL_STUDENTS = 100_000  # the district: 200 schools, 100,000 students, 8 weeks
TARGET_REPORT_SECONDS = 5.0
TARGET_REPORT_MB = 1024.0
PLAN_MINUTES = 30


def _say_nothing(line: str) -> None:
    pass


def _pg_size_mb(url: str) -> float:
    from sqlalchemy import text

    from service.store.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return round(size / 2**20, 1)


def plan_night(weeks: int) -> date:
    """The first homework night after the logs end (the synthetic world's calendar)."""
    from training.synth.world import homework_nights, log_end

    end = log_end(weeks)
    return next(n for n in homework_nights(end + timedelta(days=21), start=end + timedelta(days=1)))


def over_cap(url: str, night: date, policies: Path) -> dict[str, Any]:
    """Independently of the planner and its ledger: each student's planned minutes (drafts and
    published sets, every subject) on the night, summed in SQL, against the cap the policy files
    give the student (their school's policy for the grade, their personal cap if lower:
    service.policy.budget.evening_cap, read from the files, not from the ledger the planner keeps)."""
    from sqlalchemy import func, select

    from service.policy.budget import evening_cap
    from service.policy.policy import PolicyBook
    from service.store import tables as t
    from service.store.db import make_engine

    book = PolicyBook(policies)
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.plans.c.student_id, t.schools.c.policy, t.classes.c.grade, t.students.c.personal_cap_minutes,
                   func.sum(t.plans.c.conservative_minutes), func.count())
            .join(t.students, t.students.c.student_id == t.plans.c.student_id)
            .join(t.classes, t.classes.c.class_id == t.students.c.class_id)
            .join(t.schools, t.schools.c.school_id == t.classes.c.school_id)
            .where(t.plans.c.night == night, t.plans.c.status.in_(("draft", "published")))
            .group_by(t.plans.c.student_id, t.schools.c.policy, t.classes.c.grade, t.students.c.personal_cap_minutes)
        ).all()  # fmt: skip
    engine.dispose()
    over = []
    for sid, policy, grade, personal, minutes, _ in rows:
        cap = evening_cap(book(policy), grade, personal)
        if float(minutes or 0) > cap + 1e-6:
            over.append(f"{sid} (grade {grade}): {float(minutes):.1f} > {cap:.0f} min")
    return {
        "students_with_sets": len(rows),
        "sets": sum(r[5] for r in rows),
        "minutes_planned": round(sum(float(r[4] or 0) for r in rows), 1),
        "over_cap_evenings": len(over),
        "over_cap_examples": over[:5],
    }


def _train_model(tmp: Path) -> str:
    from training.pipeline import promote, train

    tracking = f"sqlite:///{tmp / 'mlflow.db'}"
    version = train(SAMPLES, tracking, artifact_location=(tmp / "artifacts").as_uri())["version"]
    promote(tracking, version, "champion")
    return tracking


def _start_replicas(
    url: str, tracking: str, policies: Path, tmp: Path
) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    from benchmarks.serve import _port, _wait

    processes, bases = [], []
    for r in range(2):
        env = {
            **os.environ,
            "JIANFU_DATA_DIR": str(tmp / f"replica-{r}"),
            "JIANFU_DATABASE_URL": url,
            "JIANFU_MLFLOW_TRACKING_URI": tracking,
            "JIANFU_JWT_SECRET": "d" * 40,  # the same key on every replica
            "JIANFU_POLICY_DIR": str(policies),
            "JIANFU_MODEL_POLL_SECONDS": "3600",
            "JIANFU_LOG_JSON": "false",
        }
        port = _port()
        log = tmp / f"replica-{r}.log"
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "service.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log"],
            cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        ))  # fmt: skip
        bases.append(f"http://127.0.0.1:{port}")
    for base in bases:
        _wait(f"{base}/readyz", seconds=600)
    return processes, bases


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _plan_all(
    bases: list[str], jobs_of: list[list[tuple[str, str]]], night: date, say: Callable[[str], None]
) -> dict[str, Any]:
    """Client k (teacher `bench-teacher-k`) plans its (class, subject) pairs one after another,
    alternating between the replicas; all clients at once. A 429 (the replica's planning pool is
    full) is waited out as its Retry-After says and counted."""
    total = sum(len(jobs) for jobs in jobs_of)
    done = Counter[str]()
    statuses = Counter[str]()
    failures: list[str] = []
    lock = threading.Lock()
    seconds_each: list[float] = []
    started = time.perf_counter()

    def client(k: int, jobs: list[tuple[str, str]]) -> None:
        clients = [httpx.Client(base_url=base, timeout=900) for base in bases]
        try:
            token = None
            for _ in range(30):
                r = clients[k % 2].post(
                    "/v1/token", data={"username": f"bench-teacher-{k}", "password": "bench-password"}
                )
                if r.status_code != 429:
                    break
                time.sleep(float(r.headers.get("retry-after", "1")))
            if r.status_code != 200:
                with lock:
                    failures.append(f"teacher {k} sign-in: {r.status_code} {r.text[:200]}")
                return
            token = r.json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            for j, (class_id, subject) in enumerate(jobs):
                http = clients[(k + j) % 2]
                for _ in range(200):
                    t0 = time.perf_counter()
                    r = http.post(f"/v1/classes/{class_id}/plans", headers=headers,
                                  json={"subject": subject, "night": night.isoformat()})  # fmt: skip
                    if r.status_code != 429:
                        break
                    with lock:
                        done["busy_429"] += 1
                    time.sleep(float(r.headers.get("retry-after", "1")))
                with lock:
                    seconds_each.append(time.perf_counter() - t0)
                    done[str(r.status_code)] += 1
                    if r.status_code == 200:
                        statuses.update(s["status"] for s in r.json()["students"])
                    else:
                        failures.append(f"{class_id}/{subject}: {r.status_code} {r.text[:200]}")
                    finished = sum(v for key, v in done.items() if key != "busy_429")
                if finished % max(1, total // 20) == 0:
                    elapsed = time.perf_counter() - started
                    say(f"  planned {finished}/{total} class-subjects in {elapsed:.0f} s")
        finally:
            for c in clients:
                c.close()

    threads = [threading.Thread(target=client, args=(k, jobs)) for k, jobs in enumerate(jobs_of)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    ordered = sorted(seconds_each)
    return {
        "seconds": seconds,
        "answers": dict(done),
        "student_statuses": dict(statuses),
        "failures": failures[:10],
        "failed": len(failures),
        "request_seconds_median": round(ordered[len(ordered) // 2], 3) if ordered else None,
        "request_seconds_max": round(ordered[-1], 3) if ordered else None,
    }


def report_child(url: str, policies: str, start: str, end: str) -> dict[str, Any]:
    """In a process of its own: the district report as `jianfu report district` makes it; its
    seconds and this process's peak resident memory."""
    from service import district_report
    from service.policy.policy import PolicyBook
    from service.settings import get_settings
    from service.store.db import make_engine

    settings = get_settings()
    engine = make_engine(url)
    began = time.perf_counter()
    made = district_report.make_report(
        db=engine, book=PolicyBook(Path(policies)), district_id=DISTRICT_ID, start=date.fromisoformat(start),
        end=date.fromisoformat(end), min_class_size=settings.district_min_class_size, file_format="pdf",
        username="bench-district", now=datetime.now(UTC), font=settings.pdf_font, cjk_font=settings.pdf_cjk_font,
    )  # fmt: skip
    seconds = time.perf_counter() - began
    engine.dispose()
    return {
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "pdf_bytes": len(made.content),
        "schools": len(made.summary.schools),
        "archived": made.archived is not None,
    }


def _report(url: str, policies: Path, start: date, end: date) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.district", url, str(policies), start.isoformat(), end.isoformat()],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"the district report failed: {out.stderr[-2000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run(
    *,
    schools: int = 200,
    students: int = FULL_STUDENTS,
    weeks: int = 8,
    clients: int = 8,
    seed: int = 7,
    postgres_url: str | None = None,
    say: Callable[[str], None] = _say_nothing,
) -> dict[str, Any]:
    from sqlalchemy import select

    from service import district
    from service.auth import create_user
    from service.pool import cores
    from service.store import tables as t
    from service.store.db import make_engine, upgrade
    from service.store.importer import import_files
    from service.store.local_pg import local_postgres
    from training.synth.world import district_schools, generate

    result: dict[str, Any] = {
        "setup": {"schools": schools, "students_asked": students, "weeks": weeks, "clients": clients, "seed": seed,
                  "replicas": 2, "machine_cores": cores(), "full_size": {"schools": 200, "students": FULL_STUDENTS, "weeks": 8}},
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="jianfu-bench-district-") as folder:
        tmp = Path(folder)
        world = tmp / "world"
        say(f"generating {schools} schools, about {students:,} students, {weeks} weeks of logs ...")
        began = time.perf_counter()
        defs = district_schools(schools, seed, students)
        counts = generate(world, seed, weeks=weeks, schools=defs, district="示范区教育局")
        result["generate"] = {**counts, "seconds": round(time.perf_counter() - began, 1)}
        result["setup"]["students"] = counts["students"]
        result["setup"]["full_size_run"] = (
            schools >= 200 and counts["students"] >= 0.99 * FULL_STUDENTS and weeks >= 8
        )
        say(f"generated {counts['students']:,} students in {counts['classes']} classes, {counts['attempts']:,} attempts "
            f"in {result['generate']['seconds']:.0f} s")  # fmt: skip
        night = plan_night(weeks)
        with local_postgres() if postgres_url is None else _given(postgres_url) as url:
            engine = make_engine(url)
            upgrade(engine)
            say("importing the reference files (schools, items, classes, students, progress, calendar) ...")
            began = time.perf_counter()
            ref = import_files(engine, [world / f"{kind}.csv" for kind in REFERENCE])
            if not ref.ok:
                raise RuntimeError(
                    "the reference files did not import: " + "; ".join(ref.problems.lines()[:10])
                )
            reference_seconds = time.perf_counter() - began
            say(f"importing {counts['attempts']:,} attempts (timed) ...")
            began = time.perf_counter()
            imported = import_files(engine, [world / "attempts.csv"])
            attempts_seconds = time.perf_counter() - began
            if not imported.ok or imported.counts["attempts"].inserted != counts["attempts"]:
                raise RuntimeError(
                    "the attempts did not import: " + "; ".join(imported.problems.lines()[:10])
                )
            began = time.perf_counter()
            errors = import_files(engine, [world / "error_book.csv"])
            if not errors.ok:
                raise RuntimeError(
                    "the error book did not import: " + "; ".join(errors.problems.lines()[:10])
                )
            result["import"] = {
                "attempts": counts["attempts"],
                "seconds": round(attempts_seconds, 1),
                "attempts_per_second": round(counts["attempts"] / attempts_seconds, 1),
                "reference_seconds": round(reference_seconds, 1),
                "error_book_seconds": round(time.perf_counter() - began, 1),
                "path": "service.store.importer.import_files (as `jianfu data import`), one transaction per call",
            }
            say(f"imported at {result['import']['attempts_per_second']:,.0f} attempts/s")
            spec = json.loads((world / "district.json").read_text(encoding="utf-8"))
            district.save_district(
                db=engine, district_id=spec["district_id"], name=spec["name"], schools=spec["schools"]
            )
            subjects_of: dict[str, list[str]] = {}
            with engine.connect() as conn:
                for class_id, subject in conn.execute(
                    select(t.class_subjects.c.class_id, t.class_subjects.c.subject)
                    .order_by(t.class_subjects.c.class_id, t.class_subjects.c.subject)
                ):  # fmt: skip
                    subjects_of.setdefault(class_id, []).append(subject)
            classes = sorted(subjects_of)
            pairs = [(c, s) for c in classes for s in subjects_of[c]]
            jobs_of: list[list[tuple[str, str]]] = [[] for _ in range(clients)]
            scopes: list[list[tuple[str, str, str]]] = [[] for _ in range(clients)]
            for n, class_id in enumerate(classes):  # client k teaches every subject of its classes
                scopes[n % clients].append(("class", class_id, ""))
                jobs_of[n % clients] += [(class_id, s) for s in subjects_of[class_id]]
            for k in range(clients):
                create_user(engine, f"bench-teacher-{k}", "bench-password", "teacher", scopes=scopes[k])
            create_user(
                engine, "bench-district", "bench-password", "district", scopes=[("district", DISTRICT_ID, "")]
            )
            engine.dispose()
            say("training the model on data_samples/ and starting 2 replicas ...")
            began = time.perf_counter()
            tracking = _train_model(tmp)
            processes, bases = _start_replicas(url, tracking, world / "policies", tmp)
            say(f"ready in {time.perf_counter() - began:.0f} s; planning {len(classes)} classes x their subjects "
                f"({len(pairs)} plans) for {night} with {clients} clients ...")  # fmt: skip
            try:
                planned = _plan_all(bases, jobs_of, night, say)
            finally:
                _stop(processes)
            checked = over_cap(url, night, world / "policies")
            per_core = len(classes) / planned["seconds"] / cores()
            students_per_core = counts["students"] / planned["seconds"] / cores()
            result["plan_all"] = {
                "night": night.isoformat(),
                "classes": len(classes),
                "class_subjects": len(pairs),
                "students": counts["students"],
                "seconds": round(planned["seconds"], 1),
                "classes_per_second_per_core": round(per_core, 4),
                "cores_for_30_minutes": math.ceil(len(classes) / (per_core * PLAN_MINUTES * 60)),
                "students_per_second_per_core": round(students_per_core, 2),
                "cores_for_full_district_30_minutes": math.ceil(
                    FULL_STUDENTS / (students_per_core * PLAN_MINUTES * 60)
                ),
                "cores_for_full_district_note": "extrapolated by students planned per second per core to 100,000 students",
                **{k: v for k, v in planned.items() if k != "seconds"},
                **checked,
                "cap_source": "the policy files (evening_cap: school policy by grade, personal cap), not the planner's ledger",
                "target_over_cap_evenings": 0,
            }
            say(
                f"planned {len(classes)} classes in {planned['seconds']:.0f} s; {checked['over_cap_evenings']} evenings over the cap"
            )
            start, end = night - timedelta(days=14), night
            say(f"the district report {start} - {end} in a child process ...")
            result["report"] = {
                "from": start.isoformat(), "to": end.isoformat(), "format": "pdf",
                **_report(url, world / "policies", start, end),
                "target_seconds": TARGET_REPORT_SECONDS, "target_peak_rss_mb": TARGET_REPORT_MB,
                "peak_rss_measured": "ru_maxrss of the child process that made the report (whole process)",
            }  # fmt: skip
            result["database"] = {
                "size_mb": _pg_size_mb(url),
                "engine": "PostgreSQL 16 (pgserver)" if postgres_url is None else "given",
            }
    r, p = result["report"], result["plan_all"]
    result["targets_met"] = {
        "over_cap_evenings_0": p["over_cap_evenings"] == 0,
        "plans_all_answered_200": p["failed"] == 0,
        "report_seconds": r["seconds"] <= TARGET_REPORT_SECONDS,
        "report_peak_rss_mb": r["peak_rss_mb"] <= TARGET_REPORT_MB,
    }
    return result


class _given:
    """A PostgreSQL URL given by the caller, used as is."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *exc: object) -> None:
        return None


if __name__ == "__main__":  # the report's child process (see _report)
    print(json.dumps(report_child(*sys.argv[1:5])))
