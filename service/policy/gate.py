"""The gate every proposed set passes, whoever proposed it (the planner, its fallback, a teacher by
hand): read the set's context from the database, verify it, and only then reserve its minutes.

The verifier judges a snapshot; the reservation's guarded updates are what holds when two teachers
submit at the same moment (a set that passed the verifier can still lose the race for the last
minutes, and is then refused with T5). Item facts (kind, knowledge points, needs_parent,
near-duplicate group) come from the item bank, never from the proposer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, literal, select

from service.policy.evenings import evening_spec, evening_specs
from service.policy.ledger import (
    EveningSpec,
    EveningView,
    LedgerError,
    OverBudget,
    evening_views,
    replace_draft,
    reserve,
    reserve_many,
)
from service.policy.policy import Policy, PolicyOf
from service.policy.proposal import Proposal
from service.policy.verifier import (
    ClassContext,
    EveningState,
    HomeworkSet,
    SetItem,
    StudentContext,
    Violation,
    verify,
)
from service.store import tables as t
from service.store.queries import SETS_ITEMS, evening_at, open_entries, student_places


@dataclass
class Outcome:
    violations: list[Violation] = field(default_factory=list)
    reserved: bool = False

    @property
    def ok(self) -> bool:
        return self.reserved and not self.violations


Context = tuple[HomeworkSet, StudentContext, ClassContext, EveningState, Policy]


def context(
    conn: Connection, policy_of: PolicyOf, proposal: Proposal, spec: EveningSpec | None = None
) -> Context:
    """The verifier's inputs for a proposal, from the database (the plan itself left out)."""
    spec = spec or evening_spec(conn, policy_of, proposal.student_id, proposal.night)
    return contexts(conn, policy_of, [proposal], [spec])[0]


def contexts(
    conn: Connection,
    policy_of: PolicyOf,
    proposals: Sequence[Proposal],
    specs: Sequence[EveningSpec],
    ignore: Collection[str] = (),
) -> list[Context]:
    """context() of proposals for different students, with one query per kind of fact for them all
    (a class's sets are checked together; each is judged on its own student's facts). `ignore`:
    plans left out as if they were not there (drafts the proposals are to replace)."""
    if len({p.student_id for p in proposals}) != len(proposals):
        raise ValueError("one proposal per student in a batch: a student's sets are checked one by one")
    if not proposals:
        return []
    students = [p.student_id for p in proposals]
    nights = sorted({p.night for p in proposals})
    ids = sorted({i.item_id for p in proposals for i in p.items})
    student_rows = student_places(conn, students)
    missing = [s for s in students if s not in student_rows]
    if missing:
        raise LedgerError(f"没有学生 {', '.join(missing)}", f"no student {', '.join(missing)}")
    policies = {s: policy_of(r.policy_name) for s, r in student_rows.items()}
    facts = {r.item_id: r for r in conn.execute(select(t.items).where(t.items.c.item_id.in_(ids)))}
    for proposal in proposals:
        _check_items(proposal, facts)
    kps = _points(conn, ids)
    kp_ids = sorted({kp for values in kps.values() for kp in values})
    kp_grades = dict(
        conn.execute(
            select(t.knowledge_points.c.kp_id, t.knowledge_points.c.grade).where(
                t.knowledge_points.c.kp_id.in_(kp_ids)
            )
        ).all()
    )
    taught: dict[str, dict[str, date]] = {}
    for class_id, kp_id, taught_on in conn.execute(
        select(
            t.teaching_progress.c.class_id, t.teaching_progress.c.kp_id, t.teaching_progress.c.taught_on
        ).where(
            t.teaching_progress.c.class_id.in_(sorted({r.class_id for r in student_rows.values()})),
            t.teaching_progress.c.kp_id.in_(kp_ids),
        )
    ):
        taught.setdefault(class_id, {})[kp_id] = taught_on
    window = max(policy.repeat_days for policy in policies.values())
    recent = _recently_set(conn, proposals, students, ids, nights, window, policies, ignore)
    open_errors: dict[str, set[str]] = {s: set() for s in students}
    evenings = {p.student_id: evening_at(p.night, student_rows[p.student_id].timezone) for p in proposals}
    for entry in open_entries(conn, evenings, item_ids=ids):  # the only items a set may call reviews
        open_errors[entry.student_id].add(entry.item_id)
    views = evening_views(
        conn,
        {p.student_id: p.night for p in proposals},
        exclude={p.student_id: p.plan_id for p in proposals},
        ignore=ignore,
    )
    exempt = {
        (sid, night)
        for sid, night in conn.execute(
            select(t.exemptions.c.student_id, t.exemptions.c.night).where(
                t.exemptions.c.student_id.in_(students), t.exemptions.c.night.in_(nights)
            )
        )
    }
    tonight = _tonight(conn, proposals, students, nights, ignore)
    out = []
    for proposal, spec in zip(proposals, specs, strict=True):
        sid = proposal.student_id
        row = student_rows[sid]
        view = views.get(sid) or EveningView(spec.cap_minutes, {}, dict(spec.allowances))
        evening = EveningState(
            proposal.night,
            spec.day_type,
            view.cap_minutes,
            view.reserved,
            view.allowances.get(proposal.subject, 0.0),
        )
        hw_set = HomeworkSet(
            proposal.subject,
            tuple(
                SetItem(
                    i.item_id,
                    i.tier,
                    facts[i.item_id].kind,
                    tuple(kps.get(i.item_id, ())),
                    i.typical_minutes,
                    facts[i.item_id].needs_parent,
                    facts[i.item_id].dup_group,
                    i.review and i.item_id in open_errors[sid],  # a review only if the error book says so
                )
                for i in proposal.items
            ),
            proposal.conservative_minutes,
            proposal.basic_conservative_minutes,
            proposal.slot,
        )
        student = StudentContext(
            sid, row.personal_cap_minutes, (sid, proposal.night) in exempt, recent[sid], tonight[sid]
        )
        own_kps = {kp for i in proposal.items for kp in kps.get(i.item_id, ())}
        klass = ClassContext(
            row.class_id,
            row.grade,
            {kp: g for kp, g in kp_grades.items() if kp in own_kps},
            {kp: d for kp, d in taught.get(row.class_id, {}).items() if kp in own_kps},
        )
        out.append((hw_set, student, klass, evening, policies[sid]))
    return out


def _check_items(proposal: Proposal, facts: dict[str, Any]) -> None:
    ids = {i.item_id for i in proposal.items}
    unknown = sorted(ids - set(facts))
    if unknown:
        raise LedgerError(
            f"题库里没有这些题：{', '.join(unknown)}", f"no such items in the bank: {', '.join(unknown)}"
        )
    foreign = sorted(i for i in ids if facts[i].subject != proposal.subject)
    if foreign:
        raise LedgerError(
            f"这些题不属于{proposal.subject}：{', '.join(foreign)}；一套作业只能有一门学科的题",
            f"these items are not {proposal.subject} items: {', '.join(foreign)}; a set holds one subject's items",
        )


def _points(conn: Connection, ids: Sequence[str]) -> dict[str, list[str]]:
    kps: dict[str, list[str]] = {}
    for item_id, kp_id in conn.execute(
        select(t.item_kps.c.item_id, t.item_kps.c.kp_id)
        .where(t.item_kps.c.item_id.in_(ids))
        .order_by(t.item_kps.c.item_id, t.item_kps.c.position)
    ):
        kps.setdefault(item_id, []).append(kp_id)
    return kps


def _recently_set(
    conn: Connection,
    proposals: Sequence[Proposal],
    students: Sequence[str],
    ids: Sequence[str],
    nights: Sequence[date],
    window: int,
    policies: dict[str, Policy],
    ignore: Collection[str],
) -> dict[str, dict[str, date]]:
    """student -> item of their set -> the nearest night, before or after, within the repeat window
    that it was set for (or done by) them, other than by this very plan."""
    lo, hi = nights[0] - timedelta(days=window), nights[-1] + timedelta(days=window)
    planned = (
        select(t.plans.c.student_id, t.plan_items.c.item_id, t.plans.c.night, t.plans.c.plan_id)
        .join(t.plans, t.plans.c.plan_id == t.plan_items.c.plan_id)
        .where(
            t.plans.c.student_id.in_(students),
            t.plans.c.status.in_(SETS_ITEMS),
            t.plans.c.night >= lo,
            t.plans.c.night <= hi,  # later nights count too
            t.plan_items.c.item_id.in_(ids),
        )
    )
    done = select(
        t.attempts.c.student_id, t.attempts.c.item_id, t.attempts.c.night, literal(None).label("plan_id")
    ).where(
        t.attempts.c.student_id.in_(students),
        t.attempts.c.night >= lo,
        t.attempts.c.night <= hi,
        t.attempts.c.item_id.in_(ids),
    )
    by_student = {p.student_id: p for p in proposals}
    wanted = {p.student_id: {i.item_id for i in p.items} for p in proposals}
    recent: dict[str, dict[str, date]] = {s: {} for s in students}
    for query in (planned, done):
        for sid, item_id, night, plan_id in conn.execute(query):
            proposal = by_student[sid]
            days = abs((night - proposal.night).days)
            if plan_id == proposal.plan_id or plan_id in ignore or item_id not in wanted[sid]:
                continue
            if days > policies[sid].repeat_days:
                continue
            mine = recent[sid]
            if item_id not in mine or days < abs((mine[item_id] - proposal.night).days):
                mine[item_id] = night
    return recent


def _tonight(
    conn: Connection,
    proposals: Sequence[Proposal],
    students: Sequence[str],
    nights: Sequence[date],
    ignore: Collection[str],
) -> dict[str, tuple[tuple[str, str | None, tuple[str, ...]], ...]]:
    """Per student, items other plans already set for them tonight, with their group and points."""
    by_student = {p.student_id: p for p in proposals}
    rows = [
        r
        for r in conn.execute(
            select(
                t.plans.c.student_id,
                t.plans.c.night,
                t.plans.c.plan_id,
                t.plan_items.c.item_id,
                t.items.c.dup_group,
            )
            .join(t.plans, t.plans.c.plan_id == t.plan_items.c.plan_id)
            .join(t.items, t.items.c.item_id == t.plan_items.c.item_id)
            .where(
                t.plans.c.student_id.in_(students),
                t.plans.c.night.in_(nights),
                t.plans.c.status.in_(SETS_ITEMS),
            )
        )
        if r.night == by_student[r.student_id].night
        and r.plan_id != by_student[r.student_id].plan_id
        and r.plan_id not in ignore
    ]
    points = _points(conn, sorted({r.item_id for r in rows}))
    out: dict[str, list[tuple[str, str | None, tuple[str, ...]]]] = {s: [] for s in students}
    for r in rows:
        out[r.student_id].append((r.item_id, r.dup_group, tuple(points.get(r.item_id, ()))))
    return {s: tuple(v) for s, v in out.items()}


# A timing gives, for a proposal, each item's typical minutes for this student and the conservative
# bounds of the whole set and of its basic tier. The service's timing is the duration model's; the
# gate never takes a proposer's minutes below it.
Timing = Callable[[Proposal], tuple[Sequence[float], float, float]]
BANK_DEFAULT_MINUTES = 5.0  # an item with no estimate in the bank
BANK_BOUND_FACTOR = 1.8  # without a model: a wide margin over the bank's estimates


def bank_timing(engine: Engine) -> Timing:
    """Timing from the item bank's estimates alone (no model): for checks run without the service."""

    def timing(proposal: Proposal) -> tuple[list[float], float, float]:
        ids = [i.item_id for i in proposal.items]
        with engine.connect() as conn:
            est = dict(
                conn.execute(
                    select(t.items.c.item_id, t.items.c.est_minutes).where(t.items.c.item_id.in_(ids))
                ).all()
            )
        minutes = [float(est.get(i) or BANK_DEFAULT_MINUTES) for i in ids]
        basic = sum(m for m, i in zip(minutes, proposal.items, strict=True) if i.tier == "basic")
        return minutes, BANK_BOUND_FACTOR * sum(minutes), BANK_BOUND_FACTOR * basic

    return timing


def with_timing(proposal: Proposal, timing: Timing | None) -> Proposal:
    """The proposal with minutes no lower than the timing's, item by item and for both bounds.
    None: the proposal's minutes are the service's duration model's already (the planner's own
    numbers, or a proposal this function has timed), so there is nothing to raise them to."""
    if timing is None:
        return proposal
    minutes, whole, basic = timing(proposal)
    items = [
        replace(item, typical_minutes=max(item.typical_minutes, float(m)))
        if math.isfinite(item.typical_minutes)
        else item  # NaN stays NaN: the verifier refuses it by name
        for item, m in zip(proposal.items, minutes, strict=True)
    ]
    return replace(
        proposal,
        items=items,
        conservative_minutes=max(proposal.conservative_minutes, whole),
        basic_conservative_minutes=max(proposal.basic_conservative_minutes, basic),
    )


def submit(
    engine: Engine, policy_of: PolicyOf, proposal: Proposal, *, now: datetime, timing: Timing | None
) -> Outcome:
    """Verify a proposed set against every HARD rule and, only if it passes, reserve it as a draft.

    Minutes are never taken below `timing`'s for this student (None: they are the service's model's
    already, see with_timing); the reservation holds the set's conservative bound."""
    return submit_many(engine, policy_of, [proposal], now=now, timings=[timing])[0]


def submit_many(
    engine: Engine,
    policy_of: PolicyOf,
    proposals: Sequence[Proposal],
    *,
    now: datetime,
    timings: Sequence[Timing | None],
    edit: bool = False,
    specs: Sequence[EveningSpec] | None = None,
) -> list[Outcome]:
    """submit() for sets of different students (a class): their facts are read together, each set
    is verified on its own, and the sets that pass are booked by ledger.reserve_many (together when
    all fit, else each on its own), so one refusal touches no other.
    With `edit`, each proposal replaces the live draft with its plan id (its own items and minutes
    left out of its context) in one transaction. `specs`: the evenings' specs, one per proposal, if
    the caller has read them already (a class plan reads its class's once); else they are read here."""
    for proposal in proposals:
        if not proposal.items:
            raise LedgerError("这套作业没有题目", "the set has no items")
    timed = [with_timing(p, timing) for p, timing in zip(proposals, timings, strict=True)]
    with engine.connect() as conn:
        if specs is None:
            specs = _specs(conn, policy_of, timed)
        found = contexts(conn, policy_of, timed, specs)
    outcomes: list[Outcome] = [Outcome(verify(*ctx), reserved=False) for ctx in found]
    passed = [k for k, outcome in enumerate(outcomes) if not outcome.violations]
    if edit:
        for k in passed:
            outcomes[k] = _reserve(engine, timed[k], specs[k], now, edit=True)
        return outcomes
    refusals = reserve_many(engine, [(_booked(timed[k]), specs[k]) for k in passed], now=now)
    for k, refusal in zip(passed, refusals, strict=True):
        outcomes[k] = Outcome([], reserved=True) if refusal is None else _refused(refusal)
    return outcomes


def verify_many(
    engine: Engine,
    policy_of: PolicyOf,
    proposals: Sequence[Proposal],
    *,
    specs: Sequence[EveningSpec],
    ignore: Collection[str] = (),
) -> list[list[Violation]]:
    """The verifier's findings on each of sets of different students (a class's), their minutes the
    service's model's already; nothing is reserved (the caller books the sets that pass, e.g. with
    ledger.book_class). `ignore`: plans judged as if they were not there (drafts to be replaced)."""
    for proposal in proposals:
        if not proposal.items:
            raise LedgerError("这套作业没有题目", "the set has no items")
    with engine.connect() as conn:
        found = contexts(conn, policy_of, proposals, specs, ignore)
    return [verify(*ctx) for ctx in found]


def _specs(conn: Connection, policy_of: PolicyOf, proposals: Sequence[Proposal]) -> list[EveningSpec]:
    """Each proposal's evening spec, read together for the proposals of one night."""
    found: dict[tuple[str, date], EveningSpec] = {}
    for night in sorted({p.night for p in proposals}):
        students = [p.student_id for p in proposals if p.night == night]
        for sid, spec in evening_specs(conn, policy_of, students, night).items():
            found[(sid, night)] = spec
    return [found[(p.student_id, p.night)] for p in proposals]


def submit_edit(
    engine: Engine, policy_of: PolicyOf, proposal: Proposal, *, now: datetime, timing: Timing | None
) -> Outcome:
    """A hand edit of a live draft (the proposal keeps the draft's plan id), verified like any set."""
    return submit_many(engine, policy_of, [proposal], now=now, timings=[timing], edit=True)[0]


def _reserve(engine: Engine, proposal: Proposal, spec: EveningSpec, now: datetime, edit: bool) -> Outcome:
    try:
        (replace_draft if edit else reserve)(engine, _booked(proposal), spec, now=now)
    except LedgerError as exc:
        if exc.rule is None and not isinstance(exc, OverBudget):
            raise
        return _refused(exc)
    return Outcome([], reserved=True)


def _refused(exc: LedgerError) -> Outcome:
    """A verified set the ledger refused: it lost a race since the snapshot (the guard holds T5), or
    broke a rule only the database sees at once (C4: an item twice on one night)."""
    return Outcome([Violation(exc.rule or "T5", exc.zh, exc.en)], reserved=False)


def _booked(proposal: Proposal) -> Proposal:
    """What the ledger holds for a verified set: its conservative bound, never below its typical total."""
    typical = sum(i.typical_minutes for i in proposal.items)
    return replace(proposal, conservative_minutes=max(proposal.conservative_minutes, typical))
