"""Tiered sets for every student of a class: utilities from the models, the optimiser, the time
bound, explanations and mastery levels, then the gate (verifier + ledger) for every set.

For each student: the evening's remaining minutes (cap, other subjects, this subject's share, the
teacher's request) → candidates (the class's syllabus-safe items, minus what was set recently, plus
the student's due error-book reviews) → the basic tier (today's lesson and due reviews, aimed at a
P(correct) band where practice pays) fitted first → the extension tier (harder band, practical /
reading kinds encouraged) in what is left → the whole set's conservative bound checked against the
remaining minutes → the gate. A set the gate refuses is shrunk until it passes (the response says
so); nothing unverified is kept.
"""

from __future__ import annotations

import math
import statistics
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine

from models.bundle import Bundle
from models.features import TIME_FEATURES, feature_matrix
from models.review import Revisit
from service.planner.context import Candidate, ClassToPlan, StateCache, StudentToPlan, load_class
from service.planner.optimise import Knapsack, solve
from service.planner.timing import set_bounds, typical_minutes
from service.policy.evenings import class_policy, evening_specs
from service.policy.gate import verify_many
from service.policy.ledger import (
    EveningSpec,
    EveningView,
    OverBudget,
    Taken,
    book_class,
    evening_views,
    expire_drafts,
    with_sets,
)
from service.policy.policy import Policy, PolicyOf
from service.policy.proposal import PlannedItem, Proposal
from service.store.db import lock_key

DAY = 86_400.0
# A class's booking that found an evening changed meanwhile is verified again on what is there now.
BOOKING_ATTEMPTS = 4
LEVELS = (("A", 0.85), ("B", 0.70), ("C", 0.50), ("D", 0.0))
NON_WRITTEN_BONUS = {"practical": 0.6, "reading": 0.5, "oral": 0.3, "physical": 0.5}  # C7


@dataclass(frozen=True)
class PlannerConfig:
    basic_band: tuple[float, float] = (0.65, 0.90)
    extension_band: tuple[float, float] = (0.35, 0.70)
    too_hard: float = 0.35  # C3: never below this predicted P(correct)
    basic_share: float = 0.75  # of the remaining minutes, for the basic tier
    per_kp: int = 2  # spread: items per knowledge point in one set (the policy's cap may be lower)
    max_reviews: int = 3  # due reviews per set: they replace new items, today's lesson keeps a place
    review_threshold: float = 0.8  # an error-book item is due when predicted recall falls below this
    max_candidates: int = 300  # per student: the class's pool without their repeats, then their due reviews
    shortlist: int = 40  # per student and tier, by utility per minute, handed to the optimiser
    time_limit: float = 0.2  # seconds for the exact optimiser per tier
    hold: timedelta = timedelta(minutes=30)
    workers: int = 2  # threads planning students side by side
    # The utility: expected test gain (see learning_values). Days from tonight to the test the
    # gain should still show in; weight of earlier grades' points against this term's; how much
    # of a point's value a second item on it in the same set loses (diminishing returns).
    horizon_days: float = 14.0
    earlier_weight: float = 0.35
    second_item_loss: float = 0.5
    # Benchmarks only: values (basic, extension) per candidate in place of learning_values, so that
    # baselines draw from the same pool through the same caps, bound and gate as jianfu.
    values: Callable[[_Scored, StudentToPlan, set[str]], tuple[np.ndarray, np.ndarray]] | None = None


@dataclass
class StudentPlan:
    student_id: str
    display_name: str | None
    status: str  # draft / exempt / no_time / nothing_to_set / refused
    plan_id: str | None = None
    items: list[PlannedItem] = field(default_factory=list)
    typical_minutes: float = 0.0
    conservative_minutes: float = 0.0
    available_minutes: float = 0.0
    method: str = ""
    notes: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    levels: dict[str, str] = field(default_factory=dict)  # kp -> A-D (R5: levels, never ranks)
    candidates: int = 0  # items scored for this student (the class's pool, reviews, minus repeats)


@dataclass
class ClassPlan:
    class_id: str
    subject: str
    night: date
    model_version: str | None
    students: list[StudentPlan]
    summary: dict[str, Any]


def level_of(p: float) -> str:
    return next(name for name, floor in LEVELS if p >= floor)


def plan_class(
    engine: Engine,
    bundle: Bundle,
    policy_of: PolicyOf,
    class_id: str,
    subject: str,
    night: date,
    focus_kps: list[str],
    teacher_id: str,
    *,
    now: datetime,
    share_minutes: float | None = None,
    model_version: str | None = None,
    config: PlannerConfig | None = None,
    cache: StateCache | None = None,
    only: Collection[str] | None = None,
    replacing: Mapping[str, Sequence[str]] | None = None,
    keep_taken: bool = False,
) -> ClassPlan:
    """Draft plans for every student of the class, each verified and reserved (or said why not);
    with `only`, for those students alone (the others are listed with status "kept": their sets
    tonight stay as they are).

    The class's sets are booked in one transaction (ledger.book_class), all or nothing, under the
    class's planning lock for the night (every subject: two subjects' bookings touch the same
    students' evening rows, and replaced drafts are released before the new sets are booked, so two
    such transactions of one class could otherwise lock rows in opposite orders and deadlock on
    PostgreSQL), which looks again at who has a set of the subject: a student
    given one by someone else meanwhile never gets a second (with `keep_taken` they are listed as
    "kept", else ledger.Taken is raised and nothing is written). `replacing`: student -> their
    drafts to replace; they are planned as if those drafts were not there (their minutes free, their
    items not repeats), and a draft is discarded, in the same transaction, only for a new set."""
    config = config or PlannerConfig()
    replacing = replacing or {}
    ignore = sorted({plan_id for ids in replacing.values() for plan_id in ids})
    if cache is not None and cache.priors is not bundle.priors:
        raise ValueError("the state cache was built with another model's priors; use a new cache")
    # The class's students' states are brought up to date and read by one request at a time.
    with cache.lock_for(class_id) if cache is not None else nullcontext():
        with engine.connect() as conn:  # the class's facts and evenings, read once for all its students
            _, policy = class_policy(conn, policy_of, class_id)
            facts = load_class(conn, policy, class_id, subject, night, bundle.priors, cache, ignoring=ignore)
            specs = evening_specs(conn, policy_of, facts.places(), night)
            views = evening_views(conn, dict.fromkeys(specs, night), ignore=ignore)
        unknown = [kp for kp in focus_kps if kp not in facts.kp_meta]
        if unknown:
            raise ValueError(f"unknown knowledge points for {subject}: {', '.join(unknown)}")
        pool = _class_pool(facts, set(focus_kps), config)
        scored = score_class(bundle, facts, pool, facts.students, config)  # one call to each model
    evenings = {
        sid: views.get(sid) or EveningView(spec.cap_minutes, {}, dict(spec.allowances))
        for sid, spec in specs.items()
    }

    def one(k: int) -> tuple[StudentPlan, list[int]]:
        student = facts.students[k]
        if only is not None and student.student_id not in only:
            return StudentPlan(student.student_id, student.display_name, "kept"), []
        view = evenings[student.student_id]
        return _prepare(
            bundle, facts, scored[k], student, view, set(focus_kps), share_minutes, config, policy
        )

    # Students are independent until the gate, so their optimisers run side by side (HiGHS
    # releases the GIL); the gate then checks the class's sets together, each on its own facts.
    with ThreadPoolExecutor(max(1, config.workers)) as workers:
        prepared = list(workers.map(one, range(len(facts.students))))
    plans = [plan for plan, _ in prepared]
    chosen = {k: c for k, (_, c) in enumerate(prepared) if c}
    booking = _Booking(teacher_id, now, model_version, replacing, keep_taken)
    _gate(engine, bundle, policy_of, facts, specs, plans, scored, chosen, booking)
    return ClassPlan(class_id, subject, night, model_version, plans, _summary(plans, set(focus_kps)))


def _class_pool(facts: ClassToPlan, focus: set[str], config: PlannerConfig) -> list[Candidate]:
    """The class's candidates in order of preference: today's lesson first, then the most recently
    taught points (each student takes the first max_candidates that are not repeats for them)."""
    order = {kp: k for k, kp in enumerate(facts.kp_meta)}
    ordered = sorted(
        facts.candidates,
        key=lambda c: (0 if set(c.kps) & focus else 1, -max(order.get(kp, 0) for kp in c.kps), c.item_id),
    )
    return ordered


def _remaining(view: EveningView, subject: str, share_minutes: float | None) -> float:
    evening_left = view.cap_minutes - sum(view.reserved.values())
    subject_left = view.allowances.get(subject, 0.0) - view.reserved.get(subject, 0.0)
    left = min(evening_left, subject_left)
    if share_minutes is not None:
        left = min(left, share_minutes - view.reserved.get(subject, 0.0))
    return max(0.0, left)


def _prepare(
    bundle: Bundle,
    facts: ClassToPlan,
    scored: _Scored,
    student: StudentToPlan,
    view: EveningView,
    focus: set[str],
    share_minutes: float | None,
    config: PlannerConfig,
    policy: Policy,
) -> tuple[StudentPlan, list[int]]:
    """The student's plan so far and the candidates chosen for the gate (none: the plan is final)."""
    plan = StudentPlan(student.student_id, student.display_name, "draft")
    available = _remaining(view, facts.subject, share_minutes)
    plan.available_minutes = round(available, 2)
    plan.levels = mastery_levels(scored)
    plan.candidates = len(scored.candidates)
    if student.exempt:  # T12: a parent excused tonight; nothing is set, nothing moves to tomorrow
        plan.status = "exempt"
        return plan, []
    if available < 1.0:
        plan.status = "no_time"
        plan.notes.append("no minutes left tonight for this subject")
        return plan, []
    chosen = _choose(bundle, facts, scored, student, focus, available, config, policy)
    if not chosen:
        plan.status = "nothing_to_set"
    return plan, chosen


@dataclass(frozen=True)
class _Booking:
    teacher_id: str
    now: datetime
    model_version: str | None
    replacing: Mapping[str, Sequence[str]]
    keep_taken: bool


def _gate(
    engine: Engine,
    bundle: Bundle,
    policy_of: PolicyOf,
    facts: ClassToPlan,
    specs: dict[str, EveningSpec],
    plans: list[StudentPlan],
    scored: list[_Scored],
    chosen: dict[int, list[int]],
    booking: _Booking,
) -> None:
    """Verify every chosen set against the database (a refused set loses its least useful item and
    goes round again, the fallback's shrink, until it passes or is empty), then book the sets that
    passed in one transaction with the drafts they replace. If an evening changed meanwhile so that
    a set no longer fits (a colleague's set of another subject took its minutes), nothing was
    written: the sets are verified again on what is there now, and booked again."""
    plan_ids = {k: f"plan-{uuid.uuid4().hex[:16]}" for k in chosen}
    removed = dict.fromkeys(chosen, 0)
    ignore = sorted({plan_id for ids in booking.replacing.values() for plan_id in ids})
    pending = dict(chosen)
    for attempt in range(1, BOOKING_ATTEMPTS + 1):
        passed: dict[int, tuple[list[int], Proposal]] = {}
        while pending:
            order = sorted(pending)
            proposals = []
            for k in order:
                whole, basic = _bounds(bundle, scored[k], pending[k])
                items = [scored[k].item(i) for i in pending[k]]
                whole = max(whole, sum(i.typical_minutes for i in items))  # held: never below the typical sum
                proposals.append(
                    Proposal(plan_ids[k], booking.teacher_id, plans[k].student_id, facts.night, facts.subject,
                             items, whole, basic, model_version=booking.model_version)
                )  # fmt: skip
            # The minutes are the duration model's own (no floor to put under them).
            findings = verify_many(
                engine, policy_of, proposals, specs=[specs[p.student_id] for p in proposals], ignore=ignore
            )
            # A set refused because someone else gave the student one meanwhile is not shrunk: the
            # student has a set (looked at after the verifier did, so every set it saw is seen).
            with engine.connect() as conn:
                taken = with_sets(
                    conn, [p.student_id for p in proposals], facts.subject, facts.night, ignore=ignore
                )
            if taken and not booking.keep_taken:
                raise Taken(taken)
            for k, proposal, found in zip(order, proposals, findings, strict=True):
                if proposal.student_id in taken:
                    _kept(plans[k])
                    del pending[k]
                    continue
                if not found:
                    passed[k] = (pending.pop(k), proposal)
                    continue
                plans[k].violations = [f"{v.rule}: {v.en}" for v in found]
                pending[k] = _drop_least(scored[k], pending[k])
                removed[k] += 1
                if not pending[k]:
                    plans[k].status = "refused"
                    del pending[k]
        replaced = [pid for k in passed for pid in booking.replacing.get(plans[k].student_id, ())]
        try:
            taken = book_class(
                engine, [(proposal, specs[proposal.student_id]) for _, proposal in passed.values()],
                now=booking.now, lock=lock_key("plan", facts.class_id, facts.night),
                replacing=replaced, keep_taken=booking.keep_taken,
            )  # fmt: skip
        except OverBudget:
            if attempt == BOOKING_ATTEMPTS:
                raise
            expire_drafts(engine, booking.now, night=facts.night)  # drafts past their hold give minutes back
            pending = {k: indices for k, (indices, _) in passed.items()}
            continue
        for k, (_, proposal) in passed.items():
            plan = plans[k]
            if plan.student_id in taken:
                _kept(plan)
                continue
            plan.plan_id = proposal.plan_id
            plan.items = list(proposal.items)
            plan.typical_minutes = round(sum(i.typical_minutes for i in proposal.items), 2)
            plan.conservative_minutes = round(proposal.conservative_minutes, 2)
            plan.method = scored[k].method
            if removed[k]:
                plan.notes.append(
                    f"the fallback removed {removed[k]} item(s) until the verifier accepted the set"
                )
        return


def _kept(plan: StudentPlan) -> None:
    plan.status = "kept"
    plan.violations = []
    plan.notes.append("given a set of this subject tonight by someone else meanwhile: kept as it is")


@dataclass
class _Scored:
    candidates: list[Candidate]
    p: np.ndarray
    minutes: np.ndarray  # typical minutes
    mu: np.ndarray  # log-seconds median and variance of each item (the duration model)
    s2: np.ndarray

    @property
    def weight(self) -> np.ndarray:
        """The optimiser's minutes: the mean, not the median, so that an item whose time is
        uncertain (a new item) does not look cheap — choosing by underestimated minutes would
        fill sets with items that take longer than planned."""
        return np.exp(self.mu + self.s2 / 2) / 60.0

    review: np.ndarray  # bool: a due error-book review
    review_days: np.ndarray
    tiers: dict[int, str] = field(default_factory=dict)
    utility: dict[int, float] = field(default_factory=dict)
    reasons: dict[int, tuple[str, str]] = field(default_factory=dict)
    method: str = "exact"
    kp_meta: dict[str, tuple[str, str, int]] = field(default_factory=dict)

    def item(self, i: int) -> PlannedItem:
        c = self.candidates[i]
        zh, en = self.reasons[i]
        return PlannedItem(c.item_id, self.tiers[i], round(float(self.minutes[i]), 2), zh, en,
                           bool(self.review[i]), c.kind, c.kps, round(float(self.p[i]), 3))  # fmt: skip


def score_candidates(
    bundle: Bundle, facts: ClassToPlan, pool: list[Candidate], student: StudentToPlan, config: PlannerConfig
) -> _Scored:
    """P(correct) and typical minutes of every candidate for this student; due reviews added."""
    return score_class(bundle, facts, pool, [student], config)[0]


def score_class(
    bundle: Bundle,
    facts: ClassToPlan,
    pool: list[Candidate],
    students: Sequence[StudentToPlan],
    config: PlannerConfig,
) -> list[_Scored]:
    """score_candidates for several students, with one call to each model for all their rows."""
    by_id = {c.item_id: c for c in facts.candidates}
    priors = bundle.priors
    per_student, rows, time_rows = [], [], []
    for student in students:
        reviews = _due_reviews(bundle, facts, by_id, student, config)
        candidates = [c for c in pool if c.item_id not in student.recent and c.item_id not in reviews]
        candidates = candidates[: config.max_candidates]
        candidates += [by_id[i] for i in reviews]  # only reviews inside the syllabus and allowed kinds
        state = student.state
        rows += state.features_many([(c.item_id, c.info) for c in candidates], priors, facts.evening_at)
        time_rows += [state.time_features(c.item_id, c.info, priors) for c in candidates]
        per_student.append((candidates, reviews))
    if rows:
        p_all = bundle.p_correct(feature_matrix(rows))
        mu_all, s2_all = bundle.duration.item_params(
            np.asarray(time_rows, dtype=np.float64).reshape(-1, len(TIME_FEATURES))
        )
    else:
        p_all = mu_all = s2_all = np.zeros(0)
    out, start = [], 0
    for candidates, reviews in per_student:
        rows_of = slice(start, start + len(candidates))
        start += len(candidates)
        p, mu, s2 = p_all[rows_of], mu_all[rows_of], s2_all[rows_of]
        review = np.array([c.item_id in reviews for c in candidates], dtype=bool)
        days = np.array([reviews.get(c.item_id, 0.0) for c in candidates])
        out.append(_Scored(candidates, p, typical_minutes(mu), mu, s2, review, days, kp_meta=facts.kp_meta))
    return out


def _due_reviews(
    bundle: Bundle,
    facts: ClassToPlan,
    by_id: dict[str, Candidate],
    student: StudentToPlan,
    config: PlannerConfig,
) -> dict[str, float]:
    """Open error-book items due tonight (R1, from grade 3) -> days since the error."""
    if facts.grade < 3:
        return {}
    due = {}
    for e in student.open_errors.values():
        delta = (facts.evening_at - e.last_at) / DAY
        if delta < 1.0:
            continue  # the same day: not a review yet
        since = max(0.0, (facts.evening_at - e.error_at) / DAY)  # an error recorded later: not negative
        if e.item_id not in by_id:
            continue
        info = by_id[e.item_id].info
        rate = bundle.priors.item_rate(e.item_id, info.kps)
        revisit = Revisit(delta, e.right, e.wrong, math.log(rate / (1 - rate)), since, e.box, 0)
        if bundle.review is None or bundle.review.due_in_days(revisit, config.review_threshold) <= delta:
            due[e.item_id] = since
    return due


def _band(p: float, lo: float, hi: float) -> float:
    if lo <= p <= hi:
        return 1.0
    distance = lo - p if p < lo else p - hi
    return math.exp(-distance / 0.1)


def learning_values(
    bundle: Bundle,
    facts: ClassToPlan,
    s: _Scored,
    student: StudentToPlan,
    focus: set[str],
    config: PlannerConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Expected test gain of each candidate for this student (the knapsack divides by minutes), from
    principles that hold for any reasonable learner, with the service's own models:

    - how much a success moves the expected score on the point: the mean P̂(1-P̂) over the point's
      items for this student (a point mastered, or far out of reach, moves little);
    - reach: an attempt teaches when the student can nearly do the item (a far-too-hard one
      teaches little): σ(6·(P̂ - 0.45));
    - diminishing returns with the student's practice on the point: 1/√(1 + n/4);
    - forgetting: a point practised long ago is worth refreshing (1 - recall now, by the review
      model's half-life), and what is learned tonight must last to the test (recall at the horizon
      after one more success);
    - the curriculum: this term's points weigh 1, earlier grades' `earlier_weight`.
    Due error-book reviews count double (R1: errors are corrected). The basic tier keeps its
    P(correct) band as a soft weight; the extension tier its band and C7's non-written bonus."""
    n = len(s.candidates)
    p = np.clip(s.p.astype(np.float64), 1e-3, 1 - 1e-3)
    by_kp: dict[str, list[int]] = {}
    for i, c in enumerate(s.candidates):
        for kp in c.kps:
            by_kp.setdefault(kp, []).append(i)
    point: dict[str, float] = {}
    for kp, members in by_kp.items():
        pk = p[members]
        slope = 4.0 * float(np.mean(pk * (1 - pk)))
        record = student.state.kps.get(kp)
        practised = (record.right + record.wrong) if record is not None else 0
        last = record.last_time if record is not None else math.nan
        # (an answer recorded after this evening — a late upload — counts as practised now, never negative)
        days = max(0.0, (facts.evening_at - last) / DAY) if last == last else math.inf
        right = record.right if record is not None else 0
        wrong = record.wrong if record is not None else 0
        logit = math.log(float(np.mean(pk)) / (1 - float(np.mean(pk))))
        half_now = _half_life(bundle, right, wrong, logit, days)
        half_after = _half_life(bundle, right + 1, wrong, logit, 0.0)
        refresh = 1.0 if days == math.inf else 1.0 - 2.0 ** (-days / half_now)
        lasting = 2.0 ** (-config.horizon_days / half_after)
        grade = facts.kp_meta.get(kp, ("", "", facts.grade))[2]
        weight = 1.0 if grade >= facts.grade else config.earlier_weight
        point[kp] = (
            weight * slope / math.sqrt(1 + practised / 4) * (0.4 + 0.6 * refresh) * (0.5 + 0.5 * lasting)
        )
    reach = 1.0 / (1.0 + np.exp(-6.0 * (p - 0.45)))
    gain = np.array([max(point[kp] for kp in c.kps) for c in s.candidates]) * reach
    gain = np.where(s.review, 2.0 * gain, gain)
    basic = np.array([gain[i] * (0.5 + 0.5 * _band(float(p[i]), *config.basic_band)) for i in range(n)])
    extension = np.array(
        [
            0.0 if s.review[i] else gain[i] * (0.5 + 0.5 * _band(float(p[i]), *config.extension_band))
            * (1.0 + NON_WRITTEN_BONUS.get(s.candidates[i].kind, 0.0))
            for i in range(n)
        ]
    )  # fmt: skip
    # Today's lesson (C6) and due reviews (T11) first within the basic tier: a small lead that
    # orders them without making the rest worthless.
    lead = np.array([1.0 + (0.3 if set(c.kps) & focus else 0.0) for c in s.candidates])
    return basic * lead, extension


def _half_life(bundle: Bundle, right: int, wrong: int, logit: float, days: float) -> float:
    """Days for recall to halve, by the review model (half-life regression) when there is one."""
    if bundle.review is None:
        return 2.0 * (1 + right)
    since = 0.0 if days == math.inf else max(0.0, days)
    return max(0.25, bundle.review.half_life(Revisit(since, right, max(wrong, 1), logit, since, 1, 0)))


def _choose(
    bundle: Bundle,
    facts: ClassToPlan,
    s: _Scored,
    student: StudentToPlan,
    focus: set[str],
    available: float,
    config: PlannerConfig,
    policy: Policy,
) -> list[int]:
    """Basic tier first within basic_share of the minutes, then the extension tier; the whole set's
    conservative bound within `available`."""
    n = len(s.candidates)
    if config.values is not None:
        basic_value, extension_value = (
            np.array(v, dtype=np.float64) for v in config.values(s, student, focus)
        )
    else:
        basic_value, extension_value = learning_values(bundle, facts, s, student, focus, config)
    for i in range(n):
        if float(s.p[i]) < config.too_hard:  # C3: nothing in the student's "too hard" zone
            basic_value[i] = extension_value[i] = 0.0
        if s.review[i]:
            extension_value[i] = 0.0
    per_kp = min(config.per_kp, policy.max_per_kp)
    inflation = [_inflation(bundle, s, basic_value + extension_value)]

    def fit(value: np.ndarray, chosen: list[int], limit: float) -> list[int]:
        """Items of one tier added to `chosen` so that the whole set's bound stays within `limit`."""
        for _ in range(4):  # shrink the optimiser's capacity until the conservative bound fits
            left = limit - (_bounds(bundle, s, chosen)[0] if chosen else 0.0)
            picked = _optimise(
                s, value, chosen, left / inflation[0], per_kp, policy.max_per_dup_group, config
            )
            whole = _bounds(bundle, s, chosen + picked)[0] if chosen + picked else 0.0
            if whole <= limit + 1e-9:
                return picked
            inflation[0] *= whole / limit * 1.02
        while picked and _bounds(bundle, s, chosen + picked)[0] > limit:
            picked = picked[:-1]
        s.method = "fallback"
        return picked

    # Today's lesson always has a place in the basic tier: its best item (by value per minute)
    # that fits goes in first, then the optimiser fills the rest.
    seed: list[int] = []
    focus_items = [i for i in range(n) if basic_value[i] > 0 and set(s.candidates[i].kps) & focus]
    for i in sorted(focus_items, key=lambda i: -basic_value[i] / s.weight[i]):
        if _bounds(bundle, s, [i])[0] <= available * config.basic_share:
            seed = [i]
            break
    basic = seed + fit(basic_value, seed, available * config.basic_share)
    if not basic:  # the basic tier may use the whole evening rather than be empty
        basic = fit(basic_value, [], available)
    if not basic:
        return []  # no extension without a basic tier
    for i in basic:
        s.tiers[i] = "basic"
        s.reasons[i] = _reason(s, i, "basic", focus)
    extension = fit(extension_value, basic, available)
    for i in extension:
        s.tiers[i] = "extension"
        s.reasons[i] = _reason(s, i, "extension", focus)
    return basic + extension


def _inflation(bundle: Bundle, s: _Scored, value: np.ndarray) -> float:
    """Conservative bound per typical minute for this student, from a set of their top items."""
    top = [int(i) for i in np.argsort(-value)[:6] if value[int(i)] > 0]
    if not top:
        return 1.5
    bound = bundle.duration.bound_of(s.mu[top], s.s2[top]) / 60.0
    return max(1.0, bound / float(s.weight[top].sum()))


def _optimise(
    s: _Scored,
    value: np.ndarray,
    taken: list[int],
    capacity: float,
    per_kp: int,
    per_dup: int,
    config: PlannerConfig,
) -> list[int]:
    if capacity <= 0:
        return []
    eligible = [i for i in range(len(value)) if value[i] > 0 and i not in taken]
    weight = s.weight
    eligible.sort(key=lambda i: -value[i] / weight[i])
    # A diverse shortlist: the best few of every knowledge point first, then the best of the rest.
    seen: Counter[str] = Counter()
    first: list[int] = []
    rest: list[int] = []
    for i in eligible:
        kp = s.candidates[i].kps[0]
        (first if seen[kp] < per_kp + 1 else rest).append(i)
        seen[kp] += 1
    eligible = (first + rest)[: config.shortlist]
    if not eligible:
        return []
    idx = np.array(eligible)
    kp_used = Counter(kp for i in taken for kp in s.candidates[i].kps)
    dup_used = Counter(s.candidates[i].dup_group for i in taken if s.candidates[i].dup_group)
    groups: dict[tuple[str, str], list[int]] = {}
    for local, i in enumerate(eligible):
        c = s.candidates[i]
        for kp in c.kps:
            groups.setdefault(("kp", kp), []).append(local)
        if c.dup_group:
            groups.setdefault(("dup", c.dup_group), []).append(local)
    constraints = []
    for (kind, key), members in groups.items():
        cap = (per_kp - kp_used[key]) if kind == "kp" else (per_dup - dup_used[key])
        constraints.append((np.array(members), max(cap, 0)))
    reviews = [local for local, i in enumerate(eligible) if s.review[i]]
    if reviews:
        constraints.append(
            (np.array(reviews), max(config.max_reviews - sum(1 for i in taken if s.review[i]), 0))
        )
    # Diminishing returns: a second item on a point is worth second_item_loss of the point's typical
    # value less (if the point already has an item in the set, every new one pays it).
    local_value = value[idx].astype(np.float64)
    penalties = []
    for (kind, key), members in groups.items():
        if kind != "kp":
            continue
        loss = config.second_item_loss * float(np.median(local_value[members]))
        if kp_used[key]:
            local_value[members] = np.maximum(local_value[members] - loss, 1e-9)
        elif len(members) > 1 and loss > 0:
            penalties.append((np.array(members), loss))
    problem = Knapsack(local_value, weight[idx], capacity, constraints, penalties)
    solution = solve(problem, config.time_limit)
    if solution.method != "exact":
        s.method = "fallback"
    return [int(idx[k]) for k in solution.chosen]


def _bounds(bundle: Bundle, s: _Scored, chosen: list[int]) -> tuple[float, float]:
    """(whole set, basic tier) conservative minutes of the chosen candidates (timing.set_bounds)."""
    basic = np.array([s.tiers.get(i, "basic") == "basic" for i in chosen], dtype=bool)
    return set_bounds(bundle, s.mu[chosen], s.s2[chosen], basic)


def _drop_least(s: _Scored, chosen: list[int]) -> list[int]:
    """The fallback's shrink step: drop the extension item worth least per minute, else a basic one."""
    if not chosen:
        return chosen
    extension = [i for i in chosen if s.tiers[i] == "extension"]
    pool = extension or chosen
    worst = min(pool, key=lambda i: (s.p[i], -s.minutes[i]))
    return [i for i in chosen if i != worst]


def _reason(s: _Scored, i: int, tier: str, focus: set[str]) -> tuple[str, str]:
    c = s.candidates[i]
    name = s.kp_meta.get(c.kps[0], ("", c.kps[0], 0))[1]  # the point as the syllabus names it
    if s.review[i]:
        days = max(1, round(float(s.review_days[i])))
        return f"复习：{name}（{days}天前做错）", f"review: {name} (wrong {days} days ago)"
    if tier == "basic":
        if set(c.kps) & focus:
            return f"今天新课：{name}", f"today's lesson: {name}"
        return f"巩固：{name}", f"practice: {name}"
    kinds = {"practical": ("实践活动", "practical activity"), "reading": ("阅读", "reading"),
             "oral": ("口头表达", "speaking"), "physical": ("体育锻炼", "physical activity")}  # fmt: skip
    if c.kind in kinds:
        zh, en = kinds[c.kind]
        return f"拓展：{zh}", f"extension: {en}"
    return "拓展：挑战题", "extension: challenge"


def mastery_levels(s: _Scored) -> dict[str, str]:
    """Mastery level (等级 A-D) per knowledge point: the mean predicted P(correct) on its items."""
    sums: dict[str, list[float]] = {}
    for c, p in zip(s.candidates, s.p, strict=True):
        for kp in c.kps:
            sums.setdefault(kp, []).append(float(p))
    return {kp: level_of(sum(v) / len(v)) for kp, v in sorted(sums.items())}


def _summary(plans: list[StudentPlan], focus: set[str]) -> dict[str, Any]:
    """Class totals and distributions; no student is put in order of results (R5). Attention by level (R6)."""
    drafted = [p for p in plans if p.status == "draft"]

    def spread(values: list[float]) -> dict[str, float]:
        if not values:
            return {"min": 0.0, "median": 0.0, "max": 0.0}
        return {
            "min": round(min(values), 1),
            "median": round(statistics.median(values), 1),
            "max": round(max(values), 1),
        }

    coverage: Counter[str] = Counter()
    for p in drafted:
        for kp in {kp for i in p.items for kp in i.kps}:
            coverage[kp] += 1
    attention = [
        {
            "student_id": p.student_id,
            "display_name": p.display_name,
            "levels": {kp: lv for kp, lv in p.levels.items() if kp in focus},
        }
        for p in sorted(plans, key=lambda p: p.student_id)
        if any(p.levels.get(kp) == "D" for kp in focus)
    ]
    return {
        "students": len(plans),
        "planned": len(drafted),
        "by_status": dict(Counter(p.status for p in plans)),
        "minutes": {
            "basic": spread([sum(i.typical_minutes for i in p.items if i.tier == "basic") for p in drafted]),
            "extension": spread(
                [sum(i.typical_minutes for i in p.items if i.tier == "extension") for p in drafted]
            ),
            "conservative": spread([p.conservative_minutes for p in drafted]),
        },
        "kp_coverage": dict(sorted(coverage.items())),
        "students_with_reviews": sum(1 for p in drafted if any(i.review for i in p.items)),
        "fallback_used": sum(1 for p in drafted if p.method == "fallback" or p.notes),
        "attention_by_level": attention,
    }
