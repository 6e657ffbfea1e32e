"""`jianfu bench ingest`: bulk import speed of attempts through the real import path
(read, decode, validate every row, write, commit) into SQLite and into PostgreSQL.

The school's reference data (data_samples/ without its logs) is loaded first and not timed; then
N generated attempts for its students and items are imported from one CSV file, in one transaction.
"""

from __future__ import annotations

import csv
import resource
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock
from pathlib import Path
from typing import Any

import numpy as np

from service.store.db import make_engine, upgrade
from service.store.importer import import_files
from service.store.local_pg import local_postgres

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data_samples"
REFERENCE = ("schools", "knowledge_points", "items", "classes", "students", "teaching_progress", "calendar")


def write_attempts(path: Path, n: int, seed: int = 1) -> None:
    """n attempts by data_samples' students on its items, spread over 8 weeks of evenings."""
    with open(SAMPLES / "students.csv", encoding="utf-8") as f:
        students = [r["student_id"] for r in csv.DictReader(f)]
    with open(SAMPLES / "items.csv", encoding="utf-8") as f:
        items = [r["item_id"] for r in csv.DictReader(f)]
    rng = np.random.default_rng(seed)
    cst = timezone(timedelta(hours=8))
    start = datetime.combine(date(2026, 9, 7), clock(18, 30), cst)
    s_idx = rng.integers(0, len(students), n)
    i_idx = rng.integers(0, len(items), n)
    day = rng.integers(0, 56, n)
    sec_of_evening = rng.integers(0, 4 * 3600, n)
    correct = rng.random(n) < 0.72
    seconds = rng.integers(20, 1800, n)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(
            ["event_id", "student_id", "item_id", "night", "submitted_at", "correct", "seconds", "source"]
        )
        for k in range(n):
            at = start + timedelta(days=int(day[k]), seconds=int(sec_of_evening[k]))
            writer.writerow(
                [f"bench-{k:08d}", students[s_idx[k]], items[i_idx[k]], (start + timedelta(days=int(day[k]))).date(),
                 at.isoformat(), int(correct[k]), int(seconds[k]), "app"]
            )  # fmt: skip


def _measure(url: str, attempts_file: Path, n: int) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade(engine)
    reference = [SAMPLES / f"{kind}.csv" for kind in REFERENCE]
    setup = import_files(engine, reference)
    if not setup.ok:
        raise RuntimeError("reference data did not import: " + "; ".join(setup.problems.lines()))
    started = time.perf_counter()
    report = import_files(engine, [attempts_file])
    seconds = time.perf_counter() - started
    if not report.ok or report.counts["attempts"].inserted != n:
        raise RuntimeError("the benchmark import failed: " + "; ".join(report.problems.lines()))
    engine.dispose()
    return {"attempts": n, "seconds": round(seconds, 3), "attempts_per_second": round(n / seconds, 1)}


def run(attempts: int = 1_000_000, postgres_url: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="jianfu-bench-ingest-") as tmp:
        folder = Path(tmp)
        attempts_file = folder / "attempts.csv"
        write_attempts(attempts_file, attempts)
        result: dict[str, Any] = {
            "sqlite": _measure(f"sqlite:///{folder / 'bench.db'}", attempts_file, attempts)
        }
        if postgres_url:
            result["postgresql"] = _measure(postgres_url, attempts_file, attempts)
        else:
            with local_postgres() as url:
                result["postgresql"] = _measure(url, attempts_file, attempts)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["target_attempts_per_second"] = 50_000
    result["meets_target"] = all(result[e]["attempts_per_second"] >= 50_000 for e in ("sqlite", "postgresql"))
    return result
