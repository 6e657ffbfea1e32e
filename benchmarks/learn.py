"""`jianfu bench learn`: does jianfu's homework teach more than simpler ways of choosing it?

The synthetic school goes on after its 8 weeks of logs, once per (learner, seed, policy), each run on
its own copy of the database and of the hidden students:

- every calendar day, the lessons of the teaching plan are taught (the school's timetable, not
  only on homework nights — the old simulation's bug left 1,608 student-point pairs untaught; the
  points taught before the period are taught first, for the same reason);
- every homework night, each planned subject of each class is planned by the policy and the hidden
  students do their sets; the answers go back into that run's database, so the models see each
  policy's students as they are.

Every policy goes through the same planner pipeline: the same candidate pool (the syllabus taught so
far, minus repeats, plus due reviews), the same evening budget and conservative time bound, the same
caps (per point, near-duplicates, reviews), the same tiers and the same gate (verifier + ledger).
Only the value of each candidate differs:

- none: no homework (the reference every gain is measured from);
- jianfu: the planner's own utility (expected test gain, service.planner.plan.learning_values);
- random: the minutes of each item times a random factor (the optimiser fills the time at random);
- difficulty_matched: items predicted closest to P(correct) = 0.7;
- same_set: one random order of the pool for the whole class, today's lesson first (as near the
  same set for everyone as each student's repeats and the C3 floor allow);
- spacing: a review schedule — points not practised for longest first (Leitner-like intervals that
  double with each right answer on the point);
- oracle: the learner's own expected test gain of each item (reads the hidden truth; headroom).

The measure: the expected score (0-100) on a test over this term's knowledge points taught by the
end of the period (each point's whole item bank), minus the same student's score after the no
homework run; at the end of the period and 14 and 28 days later with no further practice. Students
are the unit: their gains are averaged over seeds, and every interval is a 95 % bootstrap interval
over students (paired for ratios).
"""

from __future__ import annotations

import copy
import math
import random
import shutil
import tempfile
import time as clock
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import bootstrap

from benchmarks.simulate import do_sets
from models.bundle import Bundle
from service.planner.context import StateCache, StudentToPlan
from service.planner.plan import DAY, PlannerConfig, _Scored, plan_class
from service.policy.evenings import set_allocation
from service.policy.ledger import publish
from service.policy.policy import PolicyBook
from service.store.db import make_engine
from training.learners import Learner, load_learner
from training.synth.world import CST, SCHOOLS, World, build_world, homework_nights, log_end, subjects_tonight

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data_samples"
POLICIES = ("jianfu", "random", "difficulty_matched", "same_set", "spacing", "oracle")
BASELINES = ("random", "difficulty_matched")
HORIZONS = {"end": 0, "14d": 14, "28d": 28}


@dataclass
class _Run:
    policy: str
    learner: Learner
    rng: np.random.Generator
    engine: Any
    cache: StateCache
    minutes: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    evenings: int = 0
    over_cap: int = 0
    bound_over: int = 0
    refused: int = 0  # sets the gate refused even after shrinking (nothing set)
    sets: int = 0  # sets the gate accepted and published
    items: int = 0
    events: int = 0
    entries: int = 0
    plan_seconds: float = 0.0


def _values(policy: str, run: _Run, night: date, test_at: datetime, points: set[str], seed: int) -> Callable[..., Any] | None:  # fmt: skip
    """The candidate values of a baseline (None: jianfu's own utility)."""
    at = datetime.combine(night, time(19, 0), CST)
    evening = at.timestamp()

    def jitter(key: str) -> float:
        return random.Random(f"{seed}-{key}").uniform(0.8, 1.2)

    def values(s: _Scored, student: StudentToPlan, focus: set[str]) -> tuple[np.ndarray, np.ndarray]:
        w = s.weight
        n = len(s.candidates)
        if policy == "random":
            v = np.array(
                [w[i] * jitter(f"{student.student_id}-{s.candidates[i].item_id}-{night}") for i in range(n)]
            )
        elif policy == "difficulty_matched":
            v = w * np.exp(-np.abs(s.p - 0.7) / 0.1)
        elif policy == "same_set":
            v = np.array([w[i] * jitter(f"{s.candidates[i].item_id}-{night}")
                          * (10.0 if set(s.candidates[i].kps) & focus else 1.0) for i in range(n)])  # fmt: skip
        elif policy == "spacing":
            v = np.zeros(n)
            for i, c in enumerate(s.candidates):
                record = student.state.kps.get(c.kps[0])
                if record is None or record.last_time != record.last_time:
                    v[i] = w[i]
                    continue
                days = (evening - record.last_time) / DAY
                v[i] = w[i] * (0.05 + min(1.0, days / 2.0 ** min(record.right, 5)))
        elif policy == "oracle":
            v = np.array([run.learner.practice_gain(student.student_id, c.item_id, at, test_at, points)
                          for c in s.candidates])  # fmt: skip
        else:
            raise ValueError(policy)
        return v, v.copy()

    return None if policy == "jianfu" else values


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=k) for k in range((end - start).days + 1)]


def _fix_teaching(world: World) -> None:
    """Points taught up to the end of the logs count as taught (the log simulation taught only on
    homework nights)."""
    end = log_end()
    for sid, cls, _, _ in world.students:
        for kp, on in world.progress[cls.class_id]:
            if on <= end:
                world.truth.teach(sid, kp.kp_id)


def _mean_ci(x: np.ndarray, seed: int) -> dict[str, float]:
    mean = float(np.mean(x))
    if len(x) < 3 or float(np.std(x)) == 0.0:
        return {"mean": round(mean, 3), "ci_low": round(mean, 3), "ci_high": round(mean, 3)}
    ci = bootstrap(
        (x,), np.mean, n_resamples=2000, method="percentile", random_state=seed
    ).confidence_interval
    return {"mean": round(mean, 3), "ci_low": round(float(ci.low), 3), "ci_high": round(float(ci.high), 3)}


def _ratio_ci(a: np.ndarray, b: np.ndarray, seed: int) -> dict[str, float]:
    def ratio(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean(x, axis=axis) / np.mean(y, axis=axis)

    value = float(np.mean(a) / np.mean(b)) if np.mean(b) else math.inf
    if len(a) < 3:
        return {"ratio": round(value, 3), "ci_low": round(value, 3), "ci_high": round(value, 3)}
    ci = bootstrap((a, b), ratio, paired=True, vectorized=True, n_resamples=2000, method="percentile",
                   random_state=seed).confidence_interval  # fmt: skip
    return {"ratio": round(value, 3), "ci_low": round(float(ci.low), 3), "ci_high": round(float(ci.high), 3)}


def run(
    *,
    learners: tuple[str, ...] = ("truth", "bkt"),
    seeds: tuple[int, ...] = (1, 2, 3),
    weeks: float = 2.0,
    class_ids: tuple[str, ...] = ("east-5-1", "west-8-1"),
    subjects: tuple[str, ...] = ("math",),
    policies: tuple[str, ...] = POLICIES,
    world_seed: int = 7,
    bundle: Bundle | None = None,
    bundle_dir: Path | None = None,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    began = clock.perf_counter()
    world = build_world(world_seed)
    _fix_teaching(world)
    start = log_end() + timedelta(days=1)
    until = start + timedelta(days=max(1, round(7 * weeks)) - 1)
    nights = set(homework_nights(until, start))
    classes = [(s, c) for s in SCHOOLS for c in s.classes if c.class_id in class_ids]
    if len(classes) != len(class_ids):
        raise ValueError(f"未知班级 / unknown class in {class_ids}")
    if bundle is None and bundle_dir is not None:
        bundle = Bundle.load(bundle_dir)
    if bundle is None:
        from training.loaders.contract import load
        from training.pipeline import fit_bundle

        progress("fitting the models on data_samples …")
        bundle = fit_bundle(load(SAMPLES), "learn")
    book = PolicyBook(SAMPLES / "policies")
    students_of: dict[str, list[str]] = defaultdict(list)
    grades: dict[str, int] = {}
    for sid, cls, _, _ in world.students:
        students_of[cls.class_id].append(sid)
        grades[sid] = cls.grade
    everyone = [sid for _, c in classes for sid in students_of[c.class_id]]
    # This term's points taught by the end of the period (the test), and earlier grades' points.
    term: dict[str, list[str]] = {}
    earlier: dict[str, list[str]] = {}
    for _, cls in classes:
        taught = [kp for kp, on in world.progress[cls.class_id] if on <= until and kp.d.subject in subjects]
        term[cls.class_id] = sorted({kp.kp_id for kp in taught if kp.d.grade == cls.grade})
        earlier[cls.class_id] = sorted({kp.kp_id for kp in taught if kp.d.grade < cls.grade})
    points_of = {sid: term[c.class_id] for _, c in classes for sid in students_of[c.class_id]}
    earlier_of = {sid: earlier[c.class_id] for _, c in classes for sid in students_of[c.class_id]}
    start_at = datetime.combine(start, time(7, 0), CST)
    end_at = datetime.combine(until + timedelta(days=1), time(8, 0), CST)
    test_at = {h: end_at + timedelta(days=d) for h, d in HORIZONS.items()}
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="jianfu-learn-") as tmp:
        progress("compiling the forests …")
        bundle.compile((bundle_dir or Path(tmp)) / "forests", threads=2)  # cached beside a saved bundle
        from benchmarks.simulate import _database

        base = _database(Path(tmp), world, until)
        for spec in learners:
            cls_ = load_learner(spec)
            base_learner = cls_(world.truth)
            name = getattr(base_learner, "name", spec)
            start_score = np.array([base_learner.test_score(s, points_of[s], start_at) for s in everyone])
            raw: dict[str, dict[str, list[np.ndarray]]] = defaultdict(lambda: defaultdict(list))
            extra: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
            for seed in seeds:
                for policy in ("none", *policies):
                    t0 = clock.perf_counter()
                    path = Path(tmp) / f"{name}-{seed}-{policy}.db"
                    shutil.copy(base, path)
                    r = _Run(policy, copy.deepcopy(base_learner), np.random.default_rng(seed),
                             make_engine(f"sqlite:///{path}"), StateCache(bundle.priors))  # fmt: skip
                    _period(r, world, bundle, book, classes, students_of, grades, subjects, start, until,
                            nights, test_at["14d"], set().union(*term.values()), seed)  # fmt: skip
                    r.engine.dispose()
                    path.unlink()
                    for h, at in test_at.items():
                        raw[policy][h].append(
                            np.array([100 * r.learner.test_score(s, points_of[s], at) for s in everyone])
                        )
                    raw[policy]["earlier_14d"].append(
                        np.array(
                            [100 * r.learner.test_score(s, earlier_of[s], test_at["14d"]) for s in everyone]
                        )
                    )
                    raw[policy]["mastered_14d"].append(np.array([
                        np.mean([r.learner.test_score(s, [kp], test_at["14d"]) >= 0.8 for kp in points_of[s]])
                        for s in everyone
                    ]))  # fmt: skip
                    raw[policy]["minutes"].append(np.array([r.minutes[s] for s in everyone]))
                    extra[policy]["evenings"].append(r.evenings)
                    extra[policy]["over_cap"].append(r.over_cap)
                    extra[policy]["bound_over"].append(r.bound_over)
                    extra[policy]["items"].append(r.items)
                    extra[policy]["sets"].append(r.sets)
                    extra[policy]["refused"].append(r.refused)
                    extra[policy]["plan_seconds"].append(r.plan_seconds)
                    progress(f"  {name} seed {seed} {policy:>18}: {clock.perf_counter() - t0:5.1f} s, "
                             f"{r.items} items, {sum(r.minutes.values()):.0f} true minutes "
                             f"[{clock.perf_counter() - began:.0f} s so far]")  # fmt: skip
            out[name] = _summarise(raw, extra, start_score, policies, seeds)
    return {
        "protocol": {
            "world_seed": world_seed,
            "seeds": list(seeds),
            "weeks": weeks,
            "first_day": start.isoformat(),
            "last_day": until.isoformat(),
            "homework_nights": len(nights),
            "classes": list(class_ids),
            "subjects": list(subjects),
            "students": len(everyone),
            "test_points": {c: len(v) for c, v in term.items()},
            "horizons_days": HORIZONS,
            "unit": "expected test score, 0-100, minus the same student's score with no homework",
        },
        "learners": out,
        "targets": {
            "ratio_vs_best_baseline_14d": 1.3,
            "ratio_ci_low": 1.15,
            "ratio_vs_same_set_14d": 2.0,
            "bound_over_cap_evenings": 0,
            "true_over_cap_share": 0.05,
        },
        "seconds": round(clock.perf_counter() - began, 1),
    }


def _period(
    r: _Run, world: World, bundle: Bundle, book: PolicyBook, classes: list[Any], students_of: dict[str, list[str]],
    grades: dict[str, int], subjects: tuple[str, ...], start: date, until: date, nights: set[date],
    test_at: datetime, points: set[str], seed: int,
) -> None:  # fmt: skip
    for day in _days(start, until):
        lesson = datetime.combine(day, time(9, 0), CST)
        for _, cls in classes:
            for kp, on in world.progress[cls.class_id]:
                if on == day:
                    for sid in students_of[cls.class_id]:
                        r.learner.teach(sid, kp.kp_id, lesson)
        if day not in nights or r.policy == "none":
            continue
        available: dict[str, float] = defaultdict(float)
        bound: dict[str, float] = defaultdict(float)
        spent: dict[str, float] = defaultdict(float)
        for school, cls in classes:
            tonight = subjects_tonight(school, cls, day)
            set_allocation(r.engine, book, cls.class_id, day.weekday(), dict.fromkeys(tonight, 1.0))
            for subject in tonight:
                if subject not in subjects:
                    continue
                taught = sorted((on, kp.kp_id) for kp, on in world.progress[cls.class_id]
                                if on <= day and kp.d.subject == subject)  # fmt: skip
                focus = [kp for on, kp in taught if on == day] or [kp for _, kp in taught[-2:]]
                values = _values(r.policy, r, day, test_at, points, seed)
                config = (
                    PlannerConfig() if values is None else PlannerConfig(values=values, second_item_loss=0.0)
                )
                now = datetime.combine(day, time(16, 0), CST).astimezone(UTC)
                t0 = clock.perf_counter()
                cp = plan_class(r.engine, bundle, book, cls.class_id, subject, day, focus, f"teacher-{subject}",
                                now=now, cache=r.cache, config=config)  # fmt: skip
                r.plan_seconds += clock.perf_counter() - t0
                sets = {}
                for sp in cp.students:
                    r.refused += sp.status == "refused"
                    if sp.plan_id:
                        r.sets += 1
                        publish(r.engine, sp.plan_id, now=now)
                        sets[sp.student_id] = [i.item_id for i in sp.items]
                        available[sp.student_id] += sp.available_minutes
                        bound[sp.student_id] += sp.conservative_minutes
                for sid, minutes in do_sets(
                    r, sets, day, grades, r.learner.answer, f"learn-{r.policy}"
                ).items():
                    spent[sid] += minutes
        for sid, minutes in spent.items():
            r.evenings += 1
            r.minutes[sid] += minutes
            if minutes > available[sid] + 1e-9:
                r.over_cap += 1
            if bound[sid] > available[sid] + 1e-6:
                r.bound_over += 1


def _summarise(
    raw: dict[str, dict[str, list[np.ndarray]]], extra: dict[str, dict[str, list[float]]],
    start_score: np.ndarray, policies: tuple[str, ...], seeds: tuple[int, ...],
) -> dict[str, Any]:  # fmt: skip
    """Per student: the mean over seeds of (policy - none); intervals over students."""

    def gain(policy: str, key: str) -> np.ndarray:
        return np.mean([p - n for p, n in zip(raw[policy][key], raw["none"][key], strict=True)], axis=0)

    bottom = start_score <= np.quantile(start_score, 0.25)
    result: dict[str, Any] = {"policies": {}}
    for k, policy in enumerate(policies):
        minutes = np.mean(raw[policy]["minutes"], axis=0)
        g14 = gain(policy, "14d")
        evenings = sum(extra[policy]["evenings"])
        result["policies"][policy] = {
            **{f"test_gain_{h}": _mean_ci(gain(policy, h), 100 + k) for h in HORIZONS},
            "minutes": round(float(np.mean(minutes)), 1),
            "gain_14d_per_100_minutes": round(100 * float(np.mean(g14)) / float(np.mean(minutes)), 3)
            if float(np.mean(minutes))
            else 0.0,
            "bottom_quartile_gain_14d": round(float(np.mean(g14[bottom])), 3),
            "earlier_points_gain_14d": round(float(np.mean(gain(policy, "earlier_14d"))), 3),
            "mastered_share_14d": round(float(np.mean(raw[policy]["mastered_14d"])), 4),
            "mastered_share_gain_14d": round(
                float(np.mean(raw[policy]["mastered_14d"]) - np.mean(raw["none"]["mastered_14d"])), 4
            ),
            "student_evenings": evenings,
            "true_over_cap_share": round(sum(extra[policy]["over_cap"]) / evenings, 4) if evenings else 0.0,
            "bound_over_cap_evenings": int(sum(extra[policy]["bound_over"])),
            "items_done": int(sum(extra[policy]["items"])),
            "sets_published": int(sum(extra[policy]["sets"])),
            "sets_refused_by_gate": int(sum(extra[policy]["refused"])),
            "planning_seconds": round(sum(extra[policy]["plan_seconds"]), 1),
        }
    pol = result["policies"]
    if "jianfu" in pol:
        present = [b for b in BASELINES if b in pol]
        if present:
            best = max(present, key=lambda b: pol[b]["test_gain_14d"]["mean"])
            result["best_baseline_14d"] = best
            result["ratio_vs_best_baseline_14d"] = _ratio_ci(gain("jianfu", "14d"), gain(best, "14d"), 7)
            jm, bm = pol["jianfu"]["minutes"], pol[best]["minutes"]
            result["minutes_differ_over_5pct"] = bool(abs(jm - bm) > 0.05 * bm)
            result["ratio_vs_best_baseline_14d_per_minute"] = round(
                pol["jianfu"]["gain_14d_per_100_minutes"] / pol[best]["gain_14d_per_100_minutes"], 3
            ) if pol[best]["gain_14d_per_100_minutes"] > 0 else None  # fmt: skip
            result["ratio_vs_best_baseline_end"] = _ratio_ci(gain("jianfu", "end"), gain(best, "end"), 8)
            result["ratio_vs_best_baseline_28d"] = _ratio_ci(gain("jianfu", "28d"), gain(best, "28d"), 9)
        if "same_set" in pol:
            result["ratio_vs_same_set_14d"] = _ratio_ci(gain("jianfu", "14d"), gain("same_set", "14d"), 10)
        if "oracle" in pol and pol["jianfu"]["test_gain_14d"]["mean"]:
            result["oracle_headroom_14d"] = round(
                pol["oracle"]["test_gain_14d"]["mean"] / pol["jianfu"]["test_gain_14d"]["mean"], 3
            )
        result["bottom_quartile_not_behind"] = all(
            pol["jianfu"]["bottom_quartile_gain_14d"] >= pol[b]["bottom_quartile_gain_14d"] - 1e-9
            for b in ("random", "difficulty_matched", "same_set") if b in pol
        )  # fmt: skip
    result["none_score_14d"] = round(float(np.mean(np.mean(raw["none"]["14d"], axis=0))), 3)
    result["start_score"] = round(100 * float(np.mean(start_score)), 3)
    return result
