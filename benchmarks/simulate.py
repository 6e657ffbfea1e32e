"""Four more weeks of the synthetic school, with the hidden students doing what each policy plans.

The yardstick is the ground truth of the foundation issue (training.synth.truth), rebuilt in memory
from the same seed as data_samples/ and unchanged here: after the 8 weeks of logs the hidden
students go on — taught by the same timetable, doing homework every homework night — once per
policy, each policy on its own copy of the students and of the database:

- jianfu: the planner (service.planner.plan_class) — tiered, personal, reviews, conservative bound;
- same_set: today's lesson items, the same for the whole class, sized to the class's average time;
- random: random in-syllabus items per student, sized by the same conservative bound as jianfu;
- difficulty_matched: per student the items predicted closest to P(correct) = 0.7, no reviews,
  sized by the same bound.

Measured on the truth: the learning the homework caused (the practice part of each student's
mastery of each knowledge point: consolidated gain plus the unforgotten recent gain, at the end
minus at the start) per minute actually spent, and the share of student-evenings whose true time
exceeded the student's cap. Every policy's answers go back into its own database (the log and the
error book), so the models see each policy's students as they are.
"""

from __future__ import annotations

import copy
import math
import random
import shutil
import statistics
import tempfile
import time as clock
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Engine, insert, select, update

from models.bundle import Bundle
from service.planner.context import StateCache, load_class
from service.planner.plan import PlannerConfig, plan_class, score_candidates
from service.policy.budget import evening_cap
from service.policy.evenings import class_policy, evening_spec, set_allocation
from service.policy.ledger import publish
from service.policy.policy import PolicyBook
from service.store import tables as t
from service.store.db import make_engine, upgrade
from service.store.importer import import_files
from training.synth.truth import SECONDS_PER_DAY, GroundTruth
from training.synth.world import CST, SCHOOLS, World, build_world, homework_nights, log_end, subjects_tonight

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data_samples"
POLICIES = ("jianfu", "same_set", "random", "difficulty_matched")


@dataclass
class _Run:
    name: str
    engine: Engine
    truth: GroundTruth
    rng: np.random.Generator
    cache: StateCache
    minutes: float = 0.0
    evenings: int = 0
    over_cap: int = 0
    items: int = 0
    events: int = 0
    entries: int = 0
    plan_seconds: float = 0.0
    grades: dict[str, int] = field(default_factory=dict)


def practice_mastery(truth: GroundTruth, students: list[str], at: datetime) -> float:
    """Sum over students and knowledge points of the mastery that practice built and that is still
    there at `at` (consolidated + the recent gain after forgetting); teaching and aptitude excluded."""
    total = 0.0
    wanted = set(students)
    for (sid, _kp), st in truth.state.items():
        if sid not in wanted:
            continue
        fade = 0.0
        if st.last_practice is not None and st.gain:
            tau = truth.students[sid].forget_days * (1 + 0.5 * st.practices)
            fade = st.gain * math.exp(-(at - st.last_practice).total_seconds() / SECONDS_PER_DAY / tau)
        total += st.consolidated + fade
    return total


def _database(folder: Path, world: World, until: date) -> Path:
    """data_samples/ in SQLite, plus the teaching progress of the weeks to simulate (the school's
    teaching plan; C2 still only allows what is taught by each night)."""
    path = folder / "base.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    report = import_files(engine, [SAMPLES])
    if not report.ok:
        raise RuntimeError("\n".join(report.problems.lines()))
    end = log_end()
    with engine.begin() as conn:
        rows = [
            {"class_id": cid, "kp_id": kp.kp_id, "subject": kp.d.subject, "taught_on": on}
            for cid, taught in world.progress.items()
            for kp, on in taught
            if end < on <= until
        ]
        if rows:
            conn.execute(insert(t.teaching_progress), rows)
    engine.dispose()
    return path


def run(
    weeks: int = 4,
    seed: int = 7,
    policies: tuple[str, ...] = POLICIES,
    class_ids: tuple[str, ...] | None = None,
    bundle: Bundle | None = None,
) -> dict[str, Any]:
    world = build_world(seed)
    start = log_end() + timedelta(days=1)
    until = start + timedelta(weeks=weeks) - timedelta(days=1)
    nights = homework_nights(until, start)
    classes = [(s, c) for s in SCHOOLS for c in s.classes if class_ids is None or c.class_id in class_ids]
    if bundle is None:
        from training.loaders.contract import load
        from training.pipeline import fit_bundle

        bundle = fit_bundle(load(SAMPLES), "simulation")
    book = PolicyBook(SAMPLES / "policies")
    students_of = defaultdict(list)
    caps = {}
    for sid, cls, _, _personal in world.students:
        students_of[cls.class_id].append(sid)
    school_of = {c.class_id: s for s, c in classes}
    for sid, cls, _, personal in world.students:
        if cls.class_id in school_of:
            caps[sid] = evening_cap(book(school_of[cls.class_id].school_id), cls.grade, personal)
    everyone = [sid for _, c in classes for sid in students_of[c.class_id]]
    start_at = datetime.combine(start, time(0, 0), CST)
    end_at = datetime.combine(until + timedelta(days=1), time(0, 0), CST)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="jianfu-simulate-") as tmp:
        bundle.compile(Path(tmp) / "forests", threads=2)  # as the service serves it; same predictions
        base = _database(Path(tmp), world, until)
        for name in policies:
            path = Path(tmp) / f"{name}.db"
            shutil.copy(base, path)
            r = _Run(name, make_engine(f"sqlite:///{path}"), copy.deepcopy(world.truth),
                     np.random.default_rng(seed + 1), StateCache(bundle.priors))  # fmt: skip
            r.grades = {sid: cls.grade for sid, cls, _, _ in world.students}
            before = practice_mastery(r.truth, everyone, start_at)
            for night in nights:
                _night(r, world, bundle, book, classes, students_of, caps, night)
            gained = practice_mastery(r.truth, everyone, end_at) - before
            results[name] = {
                "mastery_gain": round(gained, 3),
                "homework_minutes": round(r.minutes, 1),
                "gain_per_minute": gained / r.minutes if r.minutes else 0.0,
                "student_evenings": r.evenings,
                "true_over_cap": r.over_cap,
                "true_over_cap_share": r.over_cap / r.evenings if r.evenings else 0.0,
                "items_done": r.items,
                "planning_seconds": round(r.plan_seconds, 1),
            }
            r.engine.dispose()
    return {
        "weeks": weeks,
        "nights": len(nights),
        "first_night": nights[0].isoformat(),
        "last_night": nights[-1].isoformat(),
        "classes": [c.class_id for _, c in classes],
        "students": len(everyone),
        "policies": results,
    }


def _night(
    r: _Run, world: World, bundle: Bundle, book: PolicyBook, classes: list[Any],
    students_of: dict[str, list[str]], caps: dict[str, float], night: date,
) -> None:  # fmt: skip
    spent: dict[str, float] = defaultdict(float)
    for school, cls in classes:
        for kp, on in world.progress[cls.class_id]:
            if on == night:
                for sid in students_of[cls.class_id]:
                    r.truth.teach(sid, kp.kp_id)
        subjects = subjects_tonight(school, cls, night)
        set_allocation(r.engine, book, cls.class_id, night.weekday(), dict.fromkeys(subjects, 1.0))
        for subject in subjects:
            taught_today = [
                kp.kp_id for kp, on in world.progress[cls.class_id] if on == night and kp.d.subject == subject
            ]
            focus = taught_today or [kp.kp_id for kp, on in sorted(world.progress[cls.class_id], key=lambda x: x[1])
                                     if on <= night and kp.d.subject == subject][-2:]  # fmt: skip
            began = clock.perf_counter()
            sets = _sets(r, bundle, book, cls.class_id, subject, night, focus)
            r.plan_seconds += clock.perf_counter() - began
            done = do_sets(r, sets, night, r.grades, lambda rng, sid, item, at: r.truth.answer(rng, sid, item, at)[:2],
                           f"sim-{r.name}")  # fmt: skip
            for sid, minutes in done.items():
                spent[sid] += minutes
    for sid, minutes in spent.items():
        r.evenings += 1
        r.minutes += minutes
        if minutes > caps[sid] + 1e-9:
            r.over_cap += 1


def _sets(r: _Run, bundle: Bundle, book: PolicyBook, class_id: str, subject: str, night: date,
          focus: list[str]) -> dict[str, list[str]]:  # fmt: skip
    now = datetime.combine(night, time(16, 0), CST).astimezone(UTC)
    if r.name == "jianfu":
        cp = plan_class(r.engine, bundle, book, class_id, subject, night, focus, f"teacher-{subject}",
                        now=now, cache=r.cache)  # fmt: skip
        out = {}
        for sp in cp.students:
            if sp.plan_id:
                publish(r.engine, sp.plan_id, now=now)
                out[sp.student_id] = [i.item_id for i in sp.items]
        return out
    with r.engine.connect() as conn:
        _, policy = class_policy(conn, book, class_id)
        facts = load_class(conn, policy, class_id, subject, night, bundle.priors, r.cache)
        shares = {s.student_id: evening_spec(conn, book, s.student_id, night).allowances.get(subject, 0.0)
                  for s in facts.students}  # fmt: skip
    config = PlannerConfig(max_candidates=len(facts.candidates))  # baselines draw from the whole syllabus
    pool = facts.candidates
    rng = random.Random(f"{r.name}-{class_id}-{subject}-{night}")
    if r.name == "same_set":
        # Today's lesson items, the same for everyone, sized to the class's average typical time.
        fresh = [c for c in pool if set(c.kps) & set(focus)
                 and not any(c.item_id in s.recent for s in facts.students)]  # fmt: skip
        per_student = [score_candidates(bundle, facts, fresh, s, config) for s in facts.students]
        minutes_of = [
            {c.item_id: float(m) for c, m in zip(sc.candidates, sc.minutes, strict=True)}
            for sc in per_student
        ]
        mean_minutes = {c.item_id: statistics.fmean(m[c.item_id] for m in minutes_of) for c in fresh}
        share = statistics.fmean(shares.values()) if shares else 0.0
        chosen, used = [], 0.0
        for c in sorted(fresh, key=lambda c: c.item_id):
            if used + mean_minutes[c.item_id] <= share:
                chosen.append(c.item_id)
                used += mean_minutes[c.item_id]
        return {s.student_id: list(chosen) for s in facts.students if not s.exempt}
    out = {}
    for s in facts.students:
        sc = score_candidates(bundle, facts, pool, s, config)
        order = list(range(len(sc.candidates)))
        if r.name == "random":
            rng.shuffle(order)
        else:  # difficulty_matched: closest to P = 0.7, no reviews
            order = [i for i in order if not sc.review[i]]
            order.sort(key=lambda i: (abs(float(sc.p[i]) - 0.7), sc.candidates[i].item_id))
        picked: list[int] = []
        for i in order:
            trial = [*picked, i]
            if bundle.duration.bound_of(sc.mu[trial], sc.s2[trial]) / 60.0 <= shares[s.student_id]:
                picked = trial
        out[s.student_id] = [sc.candidates[i].item_id for i in picked]
    return out


class Answering(Protocol):
    """What a simulated run keeps while its hidden students answer (benchmarks.simulate, .learn)."""

    engine: Engine
    rng: np.random.Generator
    items: int
    events: int
    entries: int


def do_sets(
    run: Answering, sets: dict[str, list[str]], night: date, grades: dict[str, int],
    answer: Callable[[np.random.Generator, str, str, datetime], tuple[int, float]], prefix: str,
) -> dict[str, float]:  # fmt: skip
    """The hidden students do their sets (each from a random time between 18:30 and 19:30, in
    order), answering with `answer`; answers and new errors go into the run's database (R1: error
    book entries from grade 3), a right answer resolves an open entry. Returns minutes per student."""
    spent: dict[str, float] = defaultdict(float)
    attempts, entries, resolved = [], [], []
    with run.engine.connect() as conn:
        open_items = {
            (e.student_id, e.item_id): e.entry_id
            for e in conn.execute(
                select(t.error_book.c.entry_id, t.error_book.c.student_id, t.error_book.c.item_id).where(
                    t.error_book.c.resolved_at.is_(None), t.error_book.c.student_id.in_(list(sets))
                )
            )
        }
    for sid in sorted(sets):
        at = datetime.combine(night, time(18, 30), CST) + timedelta(seconds=int(run.rng.integers(0, 3600)))
        for item_id in sets[sid]:
            correct, seconds = answer(run.rng, sid, item_id, at)
            at += timedelta(seconds=round(seconds))
            spent[sid] += seconds / 60.0
            run.items += 1
            run.events += 1
            event = f"{prefix}-{run.events:08d}"
            attempts.append({"event_id": event, "student_id": sid, "item_id": item_id, "night": night,
                             "submitted_at": at, "submitted_offset_min": 480, "correct": correct,
                             "seconds": max(1, min(21600, round(seconds))), "score": None, "source": "app"})  # fmt: skip
            key = (sid, item_id)
            if correct and key in open_items:
                resolved.append((open_items.pop(key), at))
            elif not correct and key not in open_items and grades[sid] >= 3:  # R1: from grade 3
                run.entries += 1
                entry = f"{prefix}-e{run.entries:07d}"
                open_items[key] = entry
                entries.append({"entry_id": entry, "student_id": sid, "item_id": item_id, "created_at": at,
                                "created_offset_min": 480, "error_type": "concept", "event_id": event})  # fmt: skip
    with run.engine.begin() as conn:
        if attempts:
            conn.execute(insert(t.attempts), attempts)
        if entries:
            conn.execute(insert(t.error_book), entries)
        for entry_id, at in resolved:
            conn.execute(update(t.error_book).where(t.error_book.c.entry_id == entry_id)
                         .values(resolved_at=at, resolved_offset_min=480))  # fmt: skip
    return spent
