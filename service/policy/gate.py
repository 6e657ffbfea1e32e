"""The gate every proposed set passes, whoever proposed it (the planner, its fallback, a teacher by
hand): read the set's context from the database, verify it, and only then reserve its minutes.

The verifier judges a snapshot; the reservation's guarded updates are what holds when two teachers
submit at the same moment (a set that passed the verifier can still lose the race for the last
minutes, and is then refused with T5). Item facts (kind, knowledge points, needs_parent,
near-duplicate group) come from the item bank, never from the proposer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select

from service.policy.ledger import (
    EveningSpec,
    EveningView,
    LedgerError,
    OverBudget,
    PlanDraft,
    PlanLine,
    evening_spec,
    evening_view,
    is_exempt,
    reserve,
)
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


@dataclass(frozen=True)
class Proposal:
    plan_id: str
    teacher_id: str
    student_id: str
    night: date
    subject: str
    items: Sequence[PlanLine]
    conservative_minutes: float
    basic_conservative_minutes: float
    slot: str = "evening"
    model_version: str | None = None


@dataclass
class Outcome:
    violations: list[Violation] = field(default_factory=list)
    reserved: bool = False

    @property
    def ok(self) -> bool:
        return self.reserved and not self.violations


def context(
    conn: Connection, policy_of: Any, proposal: Proposal, spec: EveningSpec | None = None
) -> tuple[HomeworkSet, StudentContext, ClassContext, EveningState, Any]:
    """The verifier's inputs for a proposal, from the database (the plan itself left out)."""
    spec = spec or evening_spec(conn, policy_of, proposal.student_id, proposal.night)
    student_row = conn.execute(
        select(t.students.c.personal_cap_minutes, t.classes.c.class_id, t.classes.c.grade, t.schools.c.policy)
        .join(t.classes, t.classes.c.class_id == t.students.c.class_id)
        .join(t.schools, t.schools.c.school_id == t.classes.c.school_id)
        .where(t.students.c.student_id == proposal.student_id)
    ).one()
    policy = policy_of(student_row.policy or "national")
    ids = [i.item_id for i in proposal.items]
    facts = {r.item_id: r for r in conn.execute(select(t.items).where(t.items.c.item_id.in_(ids)))}
    unknown = sorted(set(ids) - set(facts))
    if unknown:
        raise LedgerError(
            f"题库里没有这些题：{', '.join(unknown)}", f"no such items in the bank: {', '.join(unknown)}"
        )
    foreign = sorted(i for i in set(ids) if facts[i].subject != proposal.subject)
    if foreign:
        raise LedgerError(
            f"这些题不属于{proposal.subject}：{', '.join(foreign)}；一套作业只能有一门学科的题",
            f"these items are not {proposal.subject} items: {', '.join(foreign)}; a set holds one subject's items",
        )
    kps: dict[str, list[str]] = {}
    for row in conn.execute(
        select(t.item_kps.c.item_id, t.item_kps.c.kp_id)
        .where(t.item_kps.c.item_id.in_(ids))
        .order_by(t.item_kps.c.item_id, t.item_kps.c.position)
    ):
        kps.setdefault(row.item_id, []).append(row.kp_id)
    kp_ids = {kp for values in kps.values() for kp in values}
    kp_grades = dict(
        conn.execute(
            select(t.knowledge_points.c.kp_id, t.knowledge_points.c.grade).where(
                t.knowledge_points.c.kp_id.in_(kp_ids)
            )
        ).all()
    )
    taught = dict(
        conn.execute(
            select(t.teaching_progress.c.kp_id, t.teaching_progress.c.taught_on).where(
                t.teaching_progress.c.class_id == student_row.class_id,
                t.teaching_progress.c.kp_id.in_(kp_ids),
            )
        ).all()
    )
    recent = _recently_set(conn, proposal, policy.repeat_days)
    open_errors = _open_errors(conn, proposal)
    view = evening_view(conn, proposal.student_id, proposal.night, exclude_plan=proposal.plan_id)
    if view is None:  # nothing booked yet: the evening as it will be opened
        view = EveningView(spec.cap_minutes, {}, dict(spec.allowances))
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
                i.review and i.item_id in open_errors,  # a review only if the error book says so
            )
            for i in proposal.items
        ),
        proposal.conservative_minutes,
        proposal.basic_conservative_minutes,
        proposal.slot,
    )
    student = StudentContext(
        proposal.student_id,
        student_row.personal_cap_minutes,
        is_exempt(conn, proposal.student_id, proposal.night),
        recent,
        _tonight(conn, proposal),
    )
    klass = ClassContext(student_row.class_id, student_row.grade, kp_grades, taught)
    return hw_set, student, klass, evening, policy


def _recently_set(conn: Connection, proposal: Proposal, days: int) -> dict[str, date]:
    """item -> the latest night within the repeat window it was set for (or done by) this student."""
    since = proposal.night - timedelta(days=days)
    ids = [i.item_id for i in proposal.items]
    recent: dict[str, date] = {}
    planned = (
        select(t.plan_items.c.item_id, t.plans.c.night)
        .join(t.plans, t.plans.c.plan_id == t.plan_items.c.plan_id)
        .where(
            t.plans.c.student_id == proposal.student_id,
            t.plans.c.status.in_(("draft", "published", "exempted", "done")),
            t.plans.c.night >= since,
            t.plans.c.night <= proposal.night + timedelta(days=days),  # later nights count too
            t.plans.c.plan_id != proposal.plan_id,
            t.plan_items.c.item_id.in_(ids),
        )
    )
    done = select(t.attempts.c.item_id, t.attempts.c.night).where(
        t.attempts.c.student_id == proposal.student_id,
        t.attempts.c.night >= since,
        t.attempts.c.night <= proposal.night + timedelta(days=days),
        t.attempts.c.item_id.in_(ids),
    )
    for query in (planned, done):
        for item_id, night in conn.execute(query):
            if item_id not in recent or abs((night - proposal.night).days) < abs(
                (recent[item_id] - proposal.night).days
            ):
                recent[item_id] = night  # the nearest night, before or after
    return recent


def _open_errors(conn: Connection, proposal: Proposal) -> set[str]:
    """Items with an error-book entry of this student still open on the night: the only items a
    set may call reviews (C4 lets reviews come back within the repeat window)."""
    ids = [i.item_id for i in proposal.items]
    rows = conn.execute(
        select(t.error_book.c.item_id, t.error_book.c.created_at, t.error_book.c.resolved_at).where(
            t.error_book.c.student_id == proposal.student_id, t.error_book.c.item_id.in_(ids)
        )
    ).all()
    night_start = datetime.combine(proposal.night, time(0, 0), tzinfo=UTC)
    return {
        r.item_id
        for r in rows
        if r.created_at.date() <= proposal.night and (r.resolved_at is None or r.resolved_at > night_start)
    }


def _tonight(conn: Connection, proposal: Proposal) -> tuple[tuple[str, str | None, tuple[str, ...]], ...]:
    """Items other plans already set for this student tonight, with their group and points."""
    rows = conn.execute(
        select(t.plan_items.c.item_id, t.items.c.dup_group)
        .join(t.plans, t.plans.c.plan_id == t.plan_items.c.plan_id)
        .join(t.items, t.items.c.item_id == t.plan_items.c.item_id)
        .where(
            t.plans.c.student_id == proposal.student_id,
            t.plans.c.night == proposal.night,
            t.plans.c.status.in_(("draft", "published", "exempted", "done")),
            t.plans.c.plan_id != proposal.plan_id,
        )
    ).all()
    points: dict[str, list[str]] = {}
    for item_id, kp in conn.execute(
        select(t.item_kps.c.item_id, t.item_kps.c.kp_id).where(
            t.item_kps.c.item_id.in_([r.item_id for r in rows])
        )
    ):
        points.setdefault(item_id, []).append(kp)
    return tuple((r.item_id, r.dup_group, tuple(points.get(r.item_id, ()))) for r in rows)


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


def _timed(proposal: Proposal, timing: Timing) -> Proposal:
    """The proposal with minutes no lower than the timing's, item by item and for both bounds."""
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


def submit(engine: Engine, policy_of: Any, proposal: Proposal, *, now: datetime, timing: Timing) -> Outcome:
    """Verify a proposed set against every HARD rule and, only if it passes, reserve it as a draft.

    Minutes are never taken below `timing`'s for this student; the reservation holds the set's
    conservative bound."""
    if not proposal.items:
        raise LedgerError("这套作业没有题目", "the set has no items")
    proposal = _timed(proposal, timing)
    with engine.connect() as conn:
        spec = evening_spec(conn, policy_of, proposal.student_id, proposal.night)
        hw_set, student, klass, evening, policy = context(conn, policy_of, proposal, spec)
    violations = verify(hw_set, student, klass, evening, policy)
    if violations:
        return Outcome(violations, reserved=False)
    draft = PlanDraft(
        proposal.plan_id,
        proposal.student_id,
        proposal.night,
        proposal.subject,
        proposal.teacher_id,
        proposal.items,
        max(proposal.conservative_minutes, sum(i.typical_minutes for i in proposal.items)),
        proposal.model_version,
    )
    try:
        reserve(engine, draft, spec, now=now)
    except OverBudget as exc:  # lost a race since the snapshot: the guard holds the rule
        return Outcome([Violation(exc.rule or "T5", exc.zh, exc.en)], reserved=False)
    except LedgerError as exc:
        if exc.rule is None:
            raise
        return Outcome([Violation(exc.rule, exc.zh, exc.en)], reserved=False)
    return Outcome([], reserved=True)
