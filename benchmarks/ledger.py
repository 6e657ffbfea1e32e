"""`jianfu bench ledger` and the concurrency test: many teachers booking one class's evening at once.

16 workers (threads, each with its own database connection) book draft plans of random sizes in
4 subjects for the 45 students of one class on the same night, and discard some of them again,
through `service.policy.ledger`. Afterwards every evening is audited: reserved never above the cap
(`over_cap_evenings`), reserved equal to the sum of the accepted reservations that were not
discarded, equal to the sum of the ledger lines, and every subject within its share.

Mode `split=True` uses the class's real shares (the head teacher's split); `split=False` gives
every subject the whole evening, so only the evening guard stands between the teachers and an
overbooked evening: the harder test of the guarded UPDATE. With `batch` > 1 each worker books the
sets of `batch` students at once (ledger.reserve_many, as a class plan does).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from service.policy.evenings import class_students, evening_spec
from service.policy.ledger import EveningSpec, LedgerError, discard, reserve, reserve_many
from service.policy.policy import PolicyBook
from service.policy.proposal import PlannedItem, Proposal
from service.store import tables as t
from service.store.db import make_engine

ROOT = Path(__file__).resolve().parent.parent
CLASS_ID = "east-5-1"  # 45 students
SUBJECTS = ("chinese", "math", "english", "pe")
NIGHT = date(2026, 11, 10)  # a Tuesday
TOLERANCE = 1e-6


def hammer(
    url: str,
    *,
    workers: int = 16,
    per_worker: int = 40,
    seed: int = 0,
    split: bool = True,
    batch: int = 1,
    discard_share: float = 0.2,
    class_id: str = CLASS_ID,
    night: date = NIGHT,
    policies: Path = ROOT / "data_samples" / "policies",
) -> dict[str, Any]:
    engine = make_engine(url, pool_size=workers, max_overflow=4)
    book = PolicyBook(policies)
    with engine.connect() as conn:
        students = class_students(conn, class_id)
        specs = {}
        for sid in students:
            spec = evening_spec(conn, book, sid, night)
            if not split:
                spec = EveningSpec(
                    sid, night, spec.day_type, spec.cap_minutes, dict.fromkeys(SUBJECTS, spec.cap_minutes)
                )
            specs[sid] = spec
        bank = {
            s: list(
                conn.execute(
                    select(t.items.c.item_id).where(t.items.c.subject == s).order_by(t.items.c.item_id)
                ).scalars()
            )
            for s in SUBJECTS
        }
    accepted: dict[tuple[str, str], float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    lock = threading.Lock()
    now = datetime(2026, 11, 10, 16, 0, tzinfo=UTC)

    def work(k: int) -> None:
        rng = random.Random(seed * 1000 + k)
        mine: list[tuple[str, str, str, float]] = []
        for _ in range(per_worker):
            subject = rng.choice(SUBJECTS)
            sets = []
            for sid in rng.sample(students, batch) if batch > 1 else [rng.choice(students)]:
                items = rng.sample(bank[subject], rng.randint(1, 4))
                lines = [
                    PlannedItem(i, rng.choice(("basic", "extension")), round(rng.uniform(1.0, 8.0), 2))
                    for i in items
                ]
                minutes = round(sum(line.typical_minutes for line in lines) * rng.uniform(1.0, 1.6), 3)
                plan_id = f"p-{uuid.UUID(int=rng.getrandbits(128))}"
                draft = Proposal(plan_id, f"teacher-{k}", sid, night, subject, lines, minutes, minutes)
                sets.append((draft, specs[sid]))
            if batch > 1:  # a class's sets at once: together, or set by set when one is refused
                refusals: list[LedgerError | None] = reserve_many(engine, sets, now=now)
            else:
                refusals = []
                for draft, spec in sets:
                    try:
                        reserve(engine, draft, spec, now=now)
                        refusals.append(None)
                    except LedgerError as exc:
                        refusals.append(exc)
            for (draft, _), refusal in zip(sets, refusals, strict=True):
                if refusal is not None:
                    with lock:
                        counts[f"refused_{refusal.rule or 'other'}"] += 1
                    continue
                minutes = draft.conservative_minutes
                with lock:
                    counts["accepted"] += 1
                    accepted[(draft.student_id, subject)] += minutes
                mine.append((draft.plan_id, draft.student_id, subject, minutes))
            if rng.random() < discard_share and mine:
                plan_id, s2, subj2, m2 = mine.pop(rng.randrange(len(mine)))
                if discard(engine, plan_id):
                    with lock:
                        counts["discarded"] += 1
                        accepted[(s2, subj2)] -= m2

    threads = [threading.Thread(target=work, args=(k,)) for k in range(workers)]
    start = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    seconds = time.perf_counter() - start
    audit = _audit(engine, night, accepted)
    engine.dispose()
    attempts = workers * per_worker * batch
    return {
        "workers": workers,
        "students": len(students),
        "subjects": len(SUBJECTS),
        "split": split,
        "batch": batch,
        "attempted": attempts,
        **{k: counts[k] for k in sorted(counts)},
        **audit,
        "seconds": round(seconds, 2),
        "reservations_per_second": round(attempts / seconds, 1),
    }


def _audit(engine: Engine, night: date, accepted: dict[tuple[str, str], float]) -> dict[str, Any]:
    per_student: dict[str, float] = defaultdict(float)
    for (sid, _), m in accepted.items():
        per_student[sid] += m
    with engine.connect() as conn:
        evenings = conn.execute(select(t.evening_ledger).where(t.evening_ledger.c.night == night)).all()
        subjects = conn.execute(select(t.evening_subjects).where(t.evening_subjects.c.night == night)).all()
        lines = dict(
            conn.execute(
                select(t.ledger_lines.c.student_id, func.sum(t.ledger_lines.c.minutes))
                .where(t.ledger_lines.c.night == night)
                .group_by(t.ledger_lines.c.student_id)
            ).all()
        )
    over_cap = sum(1 for e in evenings if e.reserved_minutes > e.cap_minutes + TOLERANCE)
    mismatched = sum(
        1
        for e in evenings
        if abs(e.reserved_minutes - per_student.get(e.student_id, 0.0)) > 1e-6
        or abs(e.reserved_minutes - float(lines.get(e.student_id, 0.0))) > 1e-6
    )
    subject_mismatched = sum(
        1 for s in subjects if abs(s.reserved_minutes - accepted.get((s.student_id, s.subject), 0.0)) > 1e-6
    )
    over_share = sum(1 for s in subjects if s.reserved_minutes > s.allowance_minutes + TOLERANCE)
    return {
        "evenings": len(evenings),
        "over_cap_evenings": over_cap,
        "over_share_subjects": over_share,
        "evenings_not_matching_accepted": mismatched,
        "subjects_not_matching_accepted": subject_mismatched,
        "nearly_full_evenings": sum(1 for e in evenings if e.cap_minutes - e.reserved_minutes < 5.0),
        "reserved_minutes_total": round(sum(e.reserved_minutes for e in evenings), 3),
    }


def _prepared(url: str) -> str:
    from service.store.db import upgrade
    from service.store.importer import import_files

    samples = ROOT / "data_samples"
    engine = make_engine(url)
    upgrade(engine)
    names = ("schools", "knowledge_points", "items", "classes", "students", "teaching_progress", "calendar")
    report = import_files(engine, [samples / f"{n}.csv" for n in names])
    engine.dispose()
    if not report.ok:
        raise RuntimeError("\n".join(report.problems.lines()))
    return url


def run(
    workers: int = 16, per_worker: int = 400, seed: int = 20261125, postgres_url: str | None = None
) -> dict[str, Any]:
    """Both engines, both modes; the headline figures are the evening-guard-only mode (every
    subject may take the whole evening, so only the guarded UPDATE keeps evenings within the cap)."""
    import tempfile

    from service.store.local_pg import local_postgres

    result: dict[str, Any] = {
        "workers": workers,
        "per_worker": per_worker,
        "class": CLASS_ID,
        "night": NIGHT.isoformat(),
    }
    with tempfile.TemporaryDirectory(prefix="jianfu-bench-ledger-") as tmp:
        for name in ("sqlite", "postgresql"):
            runs = {}
            for split in (False, True):
                if name == "sqlite":
                    url = _prepared(f"sqlite:///{Path(tmp) / f'ledger-{split}.db'}")
                    runs[split] = hammer(url, workers=workers, per_worker=per_worker, seed=seed, split=split)
                elif postgres_url:
                    runs[split] = hammer(
                        _prepared(postgres_url),
                        workers=workers,
                        per_worker=per_worker,
                        seed=seed,
                        split=split,
                    )
                else:
                    with local_postgres() as url:
                        runs[split] = hammer(
                            _prepared(url), workers=workers, per_worker=per_worker, seed=seed, split=split
                        )
            result[name] = {
                "over_cap_evenings": runs[False]["over_cap_evenings"] + runs[True]["over_cap_evenings"],
                "reservations_per_second": runs[False]["reservations_per_second"],
                "evening_guard_only": runs[False],
                "with_subject_shares": runs[True],
            }
    return result
