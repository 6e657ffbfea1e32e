"""Plans: a class's tiered sets for a night (drafts, verified and reserved), a teacher's hand edit
and check of a set against every rule, publishing and discarding, teaching progress (C1/C2), the
class's mastery levels (levels, never ranks: R5), the planning page's rows and the printable
worksheets' sets.

Plain functions with keyword-only arguments: the API's routes and the pages call the same ones
after their permission checks (service.access); a refusal is a service.errors exception.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from models.bundle import Bundle
from service import evenings
from service.errors import Conflict, Invalid, RuleBroken
from service.planner.context import StateCache, load_class
from service.planner.plan import ClassPlan, PlannerConfig, mastery_levels, score_class
from service.planner.plan import plan_class as _plan_class
from service.planner.timing import model_timing
from service.policy.evenings import class_policy
from service.policy.gate import context, submit_edit, with_timing
from service.policy.ledger import LedgerError, discard, publish
from service.policy.policy import PolicyBook
from service.policy.proposal import PlannedItem, Proposal
from service.policy.verifier import verify
from service.schemas import (
    CheckItem,
    CheckResult,
    ClassMastery,
    ClassPlanOut,
    EditedPlan,
    PlanChanged,
    ProgressOut,
    Published,
    StudentLevels,
    ViolationOut,
)
from service.store import tables as t
from service.store.db import writing
from service.store.queries import HANDED_OUT, SETS_ITEMS, PlanStatus


@dataclass(frozen=True)
class ModelInUse:
    """The model version being served and the students' states kept for it between requests."""

    version: str
    bundle: Bundle
    states: StateCache

    @contextmanager
    def states_for(self, class_id: str) -> Iterator[StateCache]:
        """The states, held for one class: requests for a class take turns bringing its students'
        states up to date; other classes' requests go on."""
        with self.states.lock_for(class_id):
            yield self.states


def _rule(exc: LedgerError) -> RuleBroken | Invalid:
    if exc.rule:
        return RuleBroken(exc.rule, exc.en, exc.zh)
    return Invalid(exc.en, exc.zh)


def plan_class(
    *,
    db: Engine,
    model: ModelInUse,
    book: PolicyBook,
    class_id: str,
    subject: str,
    night: date,
    focus_kps: Sequence[str],
    teacher_id: str,
    now: datetime,
    share_minutes: float | None = None,
) -> ClassPlanOut:
    """Draft sets for every student of the class, each verified and reserved (or said why not: a
    student with no minutes for the subject tonight is explained in `no_time`, with what to do)."""
    try:  # (the planner holds the class's states itself, only while it reads them)
        result: ClassPlan = _plan_class(
            db, model.bundle, book, class_id, subject, night, list(focus_kps), teacher_id, now=now,
            share_minutes=share_minutes, model_version=model.version, cache=model.states,
        )  # fmt: skip
    except LedgerError as exc:
        raise _rule(exc) from None
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    out = ClassPlanOut.model_validate(dataclasses.asdict(result))
    empty = [s.student_id for s in result.students if s.status == "no_time"]
    if empty:
        out.no_time = evenings.no_time(db=db, book=book, class_id=class_id, subject=subject, night=night,
                                       students=empty)  # fmt: skip
    return out


def publish_plan(*, db: Engine, plan_id: str, now: datetime) -> PlanChanged:
    try:
        publish(db, plan_id, now=now)
    except LedgerError as exc:
        raise Conflict(exc.en, exc.zh) from None
    return PlanChanged(plan_id=plan_id, status="published")


def discard_plan(*, db: Engine, plan_id: str) -> PlanChanged:
    """Discard a draft; its minutes go back to the evening."""
    if not discard(db, plan_id):
        with db.connect() as conn:
            status = conn.execute(select(t.plans.c.status).where(t.plans.c.plan_id == plan_id)).scalar()
        raise Conflict(f"the plan is {status}, not a draft", f"这份作业的状态是 {status}，不是草稿")
    return PlanChanged(plan_id=plan_id, status="discarded")


def publish_class(*, db: Engine, class_id: str, subject: str, night: date, now: datetime) -> Published:
    """Publish every live draft of the class for a subject and night; say why any was not."""
    with db.connect() as conn:
        drafts = list(
            conn.execute(
                select(t.plans.c.plan_id)
                .join(t.students, t.students.c.student_id == t.plans.c.student_id)
                .where(
                    t.students.c.class_id == class_id,
                    t.plans.c.subject == subject,
                    t.plans.c.night == night,
                    t.plans.c.status == PlanStatus.DRAFT.value,
                )
                .order_by(t.plans.c.plan_id)
            ).scalars()
        )
    done, refused = [], {}
    for plan_id in drafts:
        try:
            publish(db, plan_id, now=now)
            done.append(plan_id)
        except LedgerError as exc:
            refused[plan_id] = exc.en
    return Published(published=done, not_published=refused)


def _lines(items: Sequence[CheckItem], reason: tuple[str, str] = ("", "")) -> list[PlannedItem]:
    return [PlannedItem(i.item_id, i.tier, i.minutes or 0.0, *reason, review=i.review) for i in items]


def check_set(
    *,
    db: Engine,
    model: ModelInUse,
    book: PolicyBook,
    student_id: str,
    class_id: str,
    subject: str,
    night: date,
    items: Sequence[CheckItem],
    checker_id: str,
) -> CheckResult:
    """A set written by hand judged against every rule (作业总量审核); nothing is reserved."""
    proposal = Proposal("check", checker_id, student_id, night, subject, _lines(items), 0.0, 0.0)
    try:
        with model.states_for(class_id) as states:
            timed = with_timing(proposal, model_timing(db, model.bundle, states))
        with db.connect() as conn:
            found = verify(*context(conn, book, timed))
    except LedgerError as exc:
        raise _rule(exc) from None
    return CheckResult(
        ok=not found,
        violations=[ViolationOut(rule=v.rule, item_id=v.item_id, zh=v.zh, en=v.en) for v in found],
        typical_minutes=round(sum(i.typical_minutes for i in timed.items), 2),
        conservative_minutes=round(timed.conservative_minutes, 2),
    )


TEACHER_CHOSE = ("教师选题", "chosen by the teacher")


def edit_plan(
    *,
    db: Engine,
    model: ModelInUse,
    book: PolicyBook,
    plan_id: str,
    items: Sequence[CheckItem],
    teacher_id: str,
    now: datetime,
) -> EditedPlan:
    """A draft edited by hand: re-verified and swapped in one transaction, or refused whole with the
    rules it breaks (the old draft kept)."""
    with db.connect() as conn:
        row = conn.execute(
            select(t.plans.c.status, t.plans.c.student_id, t.plans.c.night, t.plans.c.subject,
                   t.students.c.class_id)
            .join(t.students, t.students.c.student_id == t.plans.c.student_id)
            .where(t.plans.c.plan_id == plan_id)
        ).one()  # fmt: skip
    if row.status != PlanStatus.DRAFT:
        raise Conflict(
            f"the plan is {row.status}; only a draft can be edited",
            f"这份作业的状态是 {row.status}，只有草稿能修改",
        )
    proposal = Proposal(plan_id, teacher_id, row.student_id, row.night, row.subject,
                        _lines(items, TEACHER_CHOSE), 0.0, 0.0, model_version=model.version)  # fmt: skip
    try:
        with model.states_for(row.class_id) as states:  # the model's minutes, once, while the states are ours
            timed = with_timing(proposal, model_timing(db, model.bundle, states))
        outcome = submit_edit(db, book, timed, now=now, timing=None)  # timed already
    except LedgerError as exc:
        raise _rule(exc) from None
    if not outcome.ok:
        first = outcome.violations[0]
        raise RuleBroken(
            first.rule, f"{first.rule}: {first.en}", first.zh,
            violations=[{"rule": v.rule, "item_id": v.item_id, "zh": v.zh, "en": v.en} for v in outcome.violations],
        )  # fmt: skip
    return EditedPlan(
        plan_id=plan_id,
        status="draft",
        items=[
            {"item_id": i.item_id, "tier": i.tier, "typical_minutes": round(i.typical_minutes, 2)}
            for i in timed.items
        ],
        typical_minutes=round(sum(i.typical_minutes for i in timed.items), 2),
        conservative_minutes=round(timed.conservative_minutes, 2),
    )


def record_progress(
    *, db: Engine, class_id: str, grade: int, subject: str, points: dict[str, date]
) -> ProgressOut:
    """What the class has been taught (C2: nothing ahead of it is ever set; C1: nothing above its grade)."""
    with writing(db) as conn:
        known = {
            r.kp_id: r
            for r in conn.execute(
                select(
                    t.knowledge_points.c.kp_id, t.knowledge_points.c.subject, t.knowledge_points.c.grade
                ).where(t.knowledge_points.c.kp_id.in_(sorted(points)))
            )
        }
        for kp in points:
            found = known.get(kp)
            if found is None or found.subject != subject:
                raise Invalid(f"no {subject} knowledge point {kp}", f"{subject} 没有知识点 {kp}",
                              errors=[{"in": "body", "pointer": f"/points/{kp}", "detail": "unknown point"}])  # fmt: skip
            if found.grade > grade:
                raise RuleBroken(
                    "C1", f"{kp} is in the grade {found.grade} curriculum; the class is in grade {grade} (C1)",
                    f"{kp} 属于 {found.grade} 年级课程，本班是 {grade} 年级（C1）",
                )  # fmt: skip
        conn.execute(
            delete(t.teaching_progress).where(
                t.teaching_progress.c.class_id == class_id,
                t.teaching_progress.c.kp_id.in_(sorted(points)),
            )
        )
        conn.execute(
            insert(t.teaching_progress),
            [
                {"class_id": class_id, "subject": subject, "kp_id": kp, "taught_on": d}
                for kp, d in points.items()
            ],
        )
    return ProgressOut(class_id=class_id, subject=subject, recorded=len(points))


def class_mastery(
    *, db: Engine, model: ModelInUse, book: PolicyBook, class_id: str, subject: str, night: date
) -> ClassMastery:
    """Mastery levels (等级 A-D) per student and knowledge point; who needs attention on a point
    taught in the last two weeks (R6). Levels, never ranks (R5)."""
    with model.states_for(class_id) as states, db.connect() as conn:
        _, policy = class_policy(conn, book, class_id)
        facts = load_class(conn, policy, class_id, subject, night, model.bundle.priors, states)
        scored = score_class(model.bundle, facts, facts.candidates, facts.students,
                             PlannerConfig(max_candidates=len(facts.candidates)))  # fmt: skip
    levels = [
        StudentLevels(student_id=s.student_id, display_name=s.display_name, levels=mastery_levels(sc))
        for s, sc in zip(facts.students, scored, strict=True)
    ]
    taught = _recently_taught(db, class_id, subject, night)
    attention = sorted(x.student_id for x in levels if any(x.levels.get(kp) == "D" for kp in taught))
    return ClassMastery(class_id=class_id, subject=subject, night=night, model_version=model.version,
                        levels=levels, attention=attention)  # fmt: skip


def _recently_taught(db: Engine, class_id: str, subject: str, night: date) -> set[str]:
    with db.connect() as conn:
        return set(
            conn.execute(
                select(t.teaching_progress.c.kp_id).where(
                    t.teaching_progress.c.class_id == class_id,
                    t.teaching_progress.c.subject == subject,
                    t.teaching_progress.c.taught_on <= night,
                    t.teaching_progress.c.taught_on > night - timedelta(days=14),
                )
            ).scalars()
        )


# --- what the planning page shows -------------------------------------------------------------


def class_points(*, db: Engine, class_id: str, grade: int, subject: str, night: date) -> list[dict[str, Any]]:
    """The subject's knowledge points of the class's grade, in syllabus order, each marked if taught
    by the night (and if taught on it)."""
    with db.connect() as conn:
        taught = dict(
            conn.execute(
                select(t.teaching_progress.c.kp_id, t.teaching_progress.c.taught_on).where(
                    t.teaching_progress.c.class_id == class_id, t.teaching_progress.c.subject == subject
                )
            ).all()
        )
        rows = conn.execute(
            select(t.knowledge_points.c.kp_id, t.knowledge_points.c.name)
            .where(t.knowledge_points.c.subject == subject, t.knowledge_points.c.grade == grade)
            .order_by(t.knowledge_points.c.unit, t.knowledge_points.c.order)
        ).all()
    return [
        {"kp_id": r.kp_id, "name": r.name, "taught": r.kp_id in taught and taught[r.kp_id] <= night,
         "today": taught.get(r.kp_id) == night}
        for r in rows
    ]  # fmt: skip


@dataclass
class ClassSets:
    """The class's sets for a subject and night as stored: plans, their items, each student in order."""

    students: list[Any]  # (student_id, display_name), by pseudonymous id: an order that says nothing (R5)
    plans: list[Any]
    items: dict[str, list[Any]]  # plan -> its items in order

    @property
    def drafts(self) -> int:
        return sum(1 for p in self.plans if p.status == PlanStatus.DRAFT)

    @property
    def published(self) -> int:
        return sum(1 for p in self.plans if p.status == PlanStatus.PUBLISHED)


def class_sets(*, db: Engine, class_id: str, subject: str, night: date) -> ClassSets:
    with db.connect() as conn:
        students = conn.execute(
            select(t.students.c.student_id, t.students.c.display_name)
            .where(t.students.c.class_id == class_id)
            .order_by(t.students.c.student_id)
        ).all()
        plans = conn.execute(
            select(t.plans.c.plan_id, t.plans.c.student_id, t.plans.c.status, t.plans.c.typical_minutes,
                   t.plans.c.conservative_minutes, t.plans.c.model_version)
            .join(t.students, t.students.c.student_id == t.plans.c.student_id)
            .where(t.students.c.class_id == class_id, t.plans.c.subject == subject, t.plans.c.night == night,
                   t.plans.c.status.in_(SETS_ITEMS))
        ).all()  # fmt: skip
        items = conn.execute(
            select(t.plan_items.c.plan_id, t.plan_items.c.item_id, t.plan_items.c.tier,
                   t.plan_items.c.typical_minutes, t.plan_items.c.reason_zh, t.plan_items.c.reason_en,
                   t.plan_items.c.position, t.items.c.kind, t.items.c.stem, t.item_kps.c.kp_id)
            .join(t.items, t.items.c.item_id == t.plan_items.c.item_id)
            .join(t.item_kps, (t.item_kps.c.item_id == t.items.c.item_id) & (t.item_kps.c.position == 0))
            .where(t.plan_items.c.plan_id.in_([p.plan_id for p in plans]))
            .order_by(t.plan_items.c.position)
        ).all()  # fmt: skip
    by_plan: dict[str, list[Any]] = defaultdict(list)
    for item in items:
        by_plan[item.plan_id].append(item)
    return ClassSets(list(students), list(plans), dict(by_plan))


def plan_items(*, db: Engine, plan_id: str) -> list[Any]:
    """A plan's items in order, with their kind and text (the edit page)."""
    with db.connect() as conn:
        return list(
            conn.execute(
                select(t.plan_items.c.item_id, t.plan_items.c.tier, t.plan_items.c.typical_minutes,
                       t.items.c.kind, t.items.c.stem)
                .join(t.items, t.items.c.item_id == t.plan_items.c.item_id)
                .where(t.plan_items.c.plan_id == plan_id)
                .order_by(t.plan_items.c.position)
            ).all()
        )  # fmt: skip


# --- worksheets -------------------------------------------------------------------------------


def sheet_layout(items: list[dict[str, Any]]) -> tuple[float, float]:
    """(millimetres of answer space under each written item, text scale) so that one student's
    evening fits on one A4 page: about 200 mm between the heading and the time box, an item's text
    about 14 mm at full size. Answer space shrinks first (28 mm down to 6), then the text."""
    writing = sum(1 for i in items if i["kind"] in ("written", "practical"))
    text = 14.0 * len(items)
    room = 28.0 if not writing else max(6.0, min(28.0, (200.0 - text) / writing))
    scale = 1.0 if not items else max(0.6, min(1.0, (200.0 - writing * room) / text))
    return round(room if writing else 0.0, 1), round(scale, 2)


def worksheet_pages(
    *,
    db: Engine,
    night: date,
    class_id: str = "",
    subject: str = "",
    student_id: str | None = None,
    plan_id: str | None = None,
) -> list[dict[str, Any]]:
    """Published sets to print: one page per student (the class's for a subject, or one student's
    whole evening, or one plan). Each names its sheet for the QR code (service.scanning.sheets):
    ("p", plan) for one plan, ("e", first plan) for a student's whole evening."""
    with db.connect() as conn:
        query = (
            select(t.plans.c.plan_id, t.plans.c.student_id, t.plans.c.typical_minutes, t.students.c.display_name,
                   t.classes.c.name.label("class_name"), t.plans.c.subject)
            .join(t.students, t.students.c.student_id == t.plans.c.student_id)
            .join(t.classes, t.classes.c.class_id == t.students.c.class_id)
            .where(t.plans.c.night == night, t.plans.c.status.in_(HANDED_OUT))
            .order_by(t.plans.c.student_id, t.plans.c.subject)
        )  # fmt: skip
        if plan_id:
            query = query.where(t.plans.c.plan_id == plan_id)
        elif student_id:
            query = query.where(t.plans.c.student_id == student_id)
        else:
            query = query.where(t.students.c.class_id == class_id, t.plans.c.subject == subject)
        plans = conn.execute(query).all()
        items = conn.execute(
            select(t.plan_items.c.plan_id, t.plan_items.c.item_id, t.plan_items.c.tier,
                   t.plan_items.c.typical_minutes, t.items.c.kind, t.items.c.stem, t.items.c.needs_parent)
            .join(t.items, t.items.c.item_id == t.plan_items.c.item_id)
            .where(t.plan_items.c.plan_id.in_([p.plan_id for p in plans]))
            .order_by(t.plan_items.c.tier, t.plan_items.c.position)
        ).all()  # fmt: skip
    by_plan: dict[str, list[Any]] = defaultdict(list)
    for item in items:
        by_plan[item.plan_id].append(item)
    pages: dict[str, dict[str, Any]] = {}
    for p in plans:
        page = pages.setdefault(p.student_id, {"name": p.display_name or p.student_id, "class_name": p.class_name,
                                               "student_id": p.student_id, "items": [], "minutes": 0.0})  # fmt: skip
        page["items"] += [{"subject": p.subject, **i._asdict()} for i in by_plan[p.plan_id]]
        page["minutes"] += p.typical_minutes
        page.setdefault("plan_ids", []).append(p.plan_id)
    for page in pages.values():
        page["sheet"] = ("p" if plan_id or not student_id else "e", page["plan_ids"][0])
        page["answer_mm"], page["scale"] = sheet_layout(page["items"])
    return list(pages.values())
