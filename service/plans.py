"""Plans: a class's tiered sets for a night (drafts, verified and reserved), a teacher's hand edit
and check of a set against every rule, publishing and discarding, teaching progress (C1/C2), the
class's mastery levels (levels, never ranks: R5), the planning page's rows and the printable
worksheets' sets.

Plain functions with keyword-only arguments: the API's routes and the pages call the same ones
after their permission checks (service.access); a refusal is a service.errors exception.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine, delete, insert, select

from models.bundle import Bundle
from models.schema import ITEM_KINDS, SUBJECTS
from service import evenings
from service.errors import Conflict, Invalid, NotFound, RuleBroken
from service.planner.context import StateCache, load_class
from service.planner.plan import ClassPlan, PlannerConfig, mastery_levels, score_class
from service.planner.plan import plan_class as _plan_class
from service.planner.timing import model_timing
from service.policy.evenings import class_policy
from service.policy.evenings import evening_specs as evenings_specs
from service.policy.gate import context, submit_edit, with_timing
from service.policy.ledger import LedgerError, Taken, discard, evening_views, publish
from service.policy.minutes import SetMinutes, set_minutes
from service.policy.minutes import shown as shown  # how pages write minutes: the domain's one way
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
from service.store.queries import HANDED_OUT, SETS_ITEMS, ClassPlace, PlanStatus, class_place
from service.store.versions import ITEMS, bump


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
    replan: Replan | None = None,
) -> ClassPlanOut:
    """Draft sets for every student of the class, each verified and reserved (or said why not: a
    student with no minutes for the subject tonight is explained in `no_time`, with what to do).

    Planning again is explicit. When the class already has live sets for the subject and night,
    `replan` must say what to do, else the request is refused (Conflict) saying what is there:
    "missing" plans only the students without a set; "replace_drafts" plans every student without a
    published set again, all or nothing: the new sets and the discarding of the drafts they replace
    are one transaction, so a failure midway leaves the old drafts as they were and writes nothing
    (a student for whom no new set is made keeps their draft). Published work is never touched.

    Two requests for the same class, subject and night at once (two teachers, two clicks, two
    replicas) never give a student two sets: the booking holds the class's planning lock and looks
    again (service.policy.ledger.book_class). Whoever books second is refused as if they had come
    second (Conflict), or with "missing" leaves the students planned meanwhile as they are."""
    there = planning_state(db=db, class_id=class_id, subject=subject, night=night)
    only: set[str] | None = None
    replacing: dict[str, list[str]] = {}
    if there.published or there.drafts:
        if replan is None:
            raise _planned_already(class_id, subject, night, there)
        if replan == "replace_drafts":
            only = set(there.students) - set(there.with_published)
            replacing = {sid: ids for sid, ids in there.drafts_of.items() if sid in only}
        else:
            only = set(there.students) - set(there.with_published) - set(there.with_draft)
    try:  # (the planner holds the class's states itself, only while it reads them)
        result: ClassPlan = _plan_class(
            db, model.bundle, book, class_id, subject, night, list(focus_kps), teacher_id, now=now,
            share_minutes=share_minutes, model_version=model.version, cache=model.states, only=only,
            replacing=replacing, keep_taken=replan == "missing",
        )  # fmt: skip
    except Taken:  # planned by someone else meanwhile: nothing was written
        now_there = planning_state(db=db, class_id=class_id, subject=subject, night=night)
        raise _planned_already(class_id, subject, night, now_there, meanwhile=True) from None
    except LedgerError as exc:
        raise _rule(exc) from None
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    for sp in result.students:
        if sp.student_id in replacing and sp.plan_id is None:
            sp.notes.append("no new set was made: the earlier draft is kept as it was")
    _keep_levels(db, subject, night, result)
    # the API's figures are the ones every page shows: from the stored plans, through set_minutes
    with db.connect() as conn:
        stored = {
            r.plan_id: set_minutes(typical=r.typical_minutes, conservative=r.conservative_minutes)
            for r in conn.execute(
                select(t.plans.c.plan_id, t.plans.c.typical_minutes, t.plans.c.conservative_minutes).where(
                    t.plans.c.plan_id.in_([sp.plan_id for sp in result.students if sp.plan_id])
                )
            )
        }
    for sp in result.students:
        if sp.plan_id in stored:
            sp.typical_minutes, sp.conservative_minutes = stored[sp.plan_id].typical, stored[sp.plan_id].bound
    out = ClassPlanOut.model_validate(dataclasses.asdict(result))
    empty = [s.student_id for s in result.students if s.status == "no_time"]
    if empty:
        out.no_time = evenings.no_time(db=db, book=book, class_id=class_id, subject=subject, night=night,
                                       students=empty)  # fmt: skip
    return out


def _planned_already(
    class_id: str, subject: str, night: date, there: PlanningState, *, meanwhile: bool = False
) -> Conflict:
    """The refusal of planning a class again without saying how (or of a plan that lost the race to
    another for the same class, subject and night), saying what is there and what may be done."""
    en_when = (
        "was given sets by someone else meanwhile, while you planned (nothing of yours was written)"
        if meanwhile
        else "already has sets"
    )
    zh_when = "在你生成期间已由别人生成（你的这次生成没有写入任何内容）" if meanwhile else "已经生成过"
    return Conflict(
        f"class {class_id} {en_when}: {subject} for {night}: {there.published} published, "
        f"{there.drafts} drafts, {there.without_set} students without a set. Say replan='missing' "
        "to plan only the students without a set, or replan='replace_drafts' to discard the drafts "
        "and plan again (published sets are never changed).",
        f"本班 {night} 的{SUBJECTS.get(subject, subject)}作业{zh_when}：已发布 {there.published} 份，草稿 "
        f"{there.drafts} 份，{there.without_set} 名学生还没有作业。请选择“只给还没有作业的学生生成”或"
        "“替换草稿重新生成”（已发布的作业不会改动）。",
        published=there.published, drafts=there.drafts, without_set=there.without_set,
        options=["missing", "replace_drafts"],
    )  # fmt: skip


def _keep_levels(db: Engine, subject: str, night: date, result: ClassPlan) -> None:
    """The levels each planned student's set was chosen on, kept for the preview (one statement each
    to clear and to write, whatever the class's size)."""
    planned = [sp for sp in result.students if sp.status != "kept" and sp.levels]
    if not planned:
        return
    with writing(db) as conn:
        conn.execute(
            delete(t.evening_levels).where(
                t.evening_levels.c.student_id.in_([sp.student_id for sp in planned]),
                t.evening_levels.c.night == night,
                t.evening_levels.c.subject == subject,
            )
        )
        conn.execute(
            insert(t.evening_levels),
            [{"student_id": sp.student_id, "night": night, "subject": subject, "kp_id": kp, "level": level}
             for sp in planned for kp, level in sp.levels.items() if level in ("A", "B", "C", "D")],
        )  # fmt: skip


def minutes_of(proposal: Proposal) -> SetMinutes:
    """A timed set's figures (service.policy.minutes.set_minutes of its items and its bound)."""
    return set_minutes(
        typical=sum(i.typical_minutes for i in proposal.items), conservative=proposal.conservative_minutes
    )


Replan = Literal["missing", "replace_drafts"]


@dataclass(frozen=True)
class PlanningState:
    """What a class already has for a subject and night: who has a published set, who a draft."""

    students: list[str]
    with_published: list[str]
    with_draft: list[str]
    draft_ids: list[str]
    exempt: list[str]
    drafts_of: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # student -> their drafts

    @property
    def published(self) -> int:
        return len(self.with_published)

    @property
    def drafts(self) -> int:
        return len(self.draft_ids)

    @property
    def without_set(self) -> int:
        having = set(self.with_published) | set(self.with_draft) | set(self.exempt)
        return sum(1 for s in self.students if s not in having)


def planning_state(*, db: Engine, class_id: str, subject: str, night: date) -> PlanningState:
    """The class's live sets for a subject and night (two queries whatever the class's size)."""
    with db.connect() as conn:
        students = list(
            conn.execute(
                select(t.students.c.student_id).where(t.students.c.class_id == class_id)
                .order_by(t.students.c.student_id)
            ).scalars()
        )  # fmt: skip
        rows = conn.execute(
            select(t.plans.c.plan_id, t.plans.c.student_id, t.plans.c.status)
            .join(t.students, t.students.c.student_id == t.plans.c.student_id)
            .where(t.students.c.class_id == class_id, t.plans.c.subject == subject, t.plans.c.night == night,
                   t.plans.c.status.in_(SETS_ITEMS))
            .order_by(t.plans.c.plan_id)
        ).all()  # fmt: skip
        exempt = list(
            conn.execute(
                select(t.exemptions.c.student_id)
                .join(t.students, t.students.c.student_id == t.exemptions.c.student_id)
                .where(t.students.c.class_id == class_id, t.exemptions.c.night == night)
            ).scalars()
        )
    drafts = [r for r in rows if r.status == PlanStatus.DRAFT]
    return PlanningState(
        students=students,
        with_published=sorted({r.student_id for r in rows if r.status != PlanStatus.DRAFT}),
        with_draft=sorted({r.student_id for r in drafts}),
        draft_ids=[r.plan_id for r in drafts],
        exempt=sorted(exempt),
        drafts_of={
            sid: [r.plan_id for r in drafts if r.student_id == sid] for sid in {r.student_id for r in drafts}
        },
    )


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
    there = planning_state(db=db, class_id=class_id, subject=subject, night=night)
    over = set(there.with_published)
    done, refused = [], {}
    with db.connect() as conn:
        owner = dict(
            conn.execute(
                select(t.plans.c.plan_id, t.plans.c.student_id).where(t.plans.c.plan_id.in_(drafts))
            ).all()
        )
    for plan_id in drafts:
        if owner.get(plan_id) in over:  # never a second set on top of one already handed out
            refused[plan_id] = "the student already has a published set for this subject tonight"
            continue
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
        typical_minutes=minutes_of(timed).typical,  # the figures every page shows (service.policy.minutes)
        conservative_minutes=minutes_of(timed).bound,
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
                   t.students.c.class_id, t.classes.c.school_id)
            .join(t.students, t.students.c.student_id == t.plans.c.student_id)
            .join(t.classes, t.classes.c.class_id == t.students.c.class_id)
            .where(t.plans.c.plan_id == plan_id)
        ).one()  # fmt: skip
        reasons = {
            r.item_id: (r.reason_zh, r.reason_en)
            for r in conn.execute(
                select(t.plan_items.c.item_id, t.plan_items.c.reason_zh, t.plan_items.c.reason_en).where(
                    t.plan_items.c.plan_id == plan_id
                )
            )
        }
    if row.status != PlanStatus.DRAFT:
        raise Conflict(
            f"the plan is {row.status}; only a draft can be edited",
            f"这份作业的状态是 {row.status}，只有草稿能修改",
        )
    foreign = foreign_items(db=db, school_id=row.school_id, item_ids=[i.item_id for i in items])
    if foreign:  # another school's own items are not in this school's bank
        raise Invalid(f"items not in this school's bank: {', '.join(foreign)}",
                      f"这些题目不在本校题库中：{', '.join(foreign)}")  # fmt: skip
    # a school's own item: the teacher's estimate is a floor under the model's minutes
    floors = own_minutes(db=db, item_ids=[i.item_id for i in items])
    # an item that stays keeps its reason, and stays a review if it is one (in the student's open
    # error book: C4 lets it come back); only an item the teacher added is "chosen by the teacher"
    with db.connect() as conn:
        reviews = set(
            conn.execute(
                select(t.error_book.c.item_id).where(
                    t.error_book.c.student_id == row.student_id,
                    t.error_book.c.resolved_at.is_(None),
                    t.error_book.c.item_id.in_([i.item_id for i in items if i.item_id in reasons]),
                )
            ).scalars()
        )
    lines = [PlannedItem(i.item_id, i.tier, i.minutes or floors.get(i.item_id, 0.0),
                         *reasons.get(i.item_id, TEACHER_CHOSE), review=i.review or i.item_id in reviews)
             for i in items]  # fmt: skip
    proposal = Proposal(plan_id, teacher_id, row.student_id, row.night, row.subject,
                        lines, 0.0, 0.0, model_version=model.version)  # fmt: skip
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
        typical_minutes=minutes_of(timed).typical,  # the figures every page shows (service.policy.minutes)
        conservative_minutes=minutes_of(timed).bound,
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


def _recently_taught_query(class_id: str, subject: str, night: date) -> Any:
    """The class's points of the subject taught in the two weeks up to the night."""
    return select(t.teaching_progress.c.kp_id).where(
        t.teaching_progress.c.class_id == class_id,
        t.teaching_progress.c.subject == subject,
        t.teaching_progress.c.taught_on <= night,
        t.teaching_progress.c.taught_on > night - timedelta(days=14),
    )


def _recently_taught(db: Engine, class_id: str, subject: str, night: date) -> set[str]:
    with db.connect() as conn:
        return set(conn.execute(_recently_taught_query(class_id, subject, night)).scalars())


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
                       t.items.c.kind, t.items.c.stem, t.plan_items.c.reason_zh, t.plan_items.c.reason_en,
                       t.knowledge_points.c.name.label("kp_name"))
                .join(t.items, t.items.c.item_id == t.plan_items.c.item_id)
                .outerjoin(t.item_kps, (t.item_kps.c.item_id == t.items.c.item_id) & (t.item_kps.c.position == 0))
                .outerjoin(t.knowledge_points, t.knowledge_points.c.kp_id == t.item_kps.c.kp_id)
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
                   t.classes.c.name.label("class_name"), t.plans.c.subject, t.plans.c.conservative_minutes)
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
                                               "student_id": p.student_id, "items": [],
                                               "set_minutes": SetMinutes(0.0, 0.0)})  # fmt: skip
        page["items"] += [{"subject": p.subject, **i._asdict()} for i in by_plan[p.plan_id]]
        page["set_minutes"] += set_minutes(typical=p.typical_minutes, conservative=p.conservative_minutes)
        page.setdefault("plan_ids", []).append(p.plan_id)
    for page in pages.values():  # the figures every page shows (service.policy.minutes)
        page["minutes"], page["bound"] = page["set_minutes"].typical, page["set_minutes"].bound
        page["sheet"] = ("p" if plan_id or not student_id else "e", page["plan_ids"][0])
        page["answer_mm"], page["scale"] = sheet_layout(page["items"])
    return list(pages.values())


# --- the teacher's preview (what 生成分层作业 shows) ---------------------------------------------


def class_names(*, db: Engine, class_ids: Sequence[str]) -> dict[str, str]:
    """Classes as the school writes them (五年级1班), by id; an id the database does not know stays as is."""
    with db.connect() as conn:
        found = dict(
            conn.execute(
                select(t.classes.c.class_id, t.classes.c.name).where(
                    t.classes.c.class_id.in_(sorted(set(class_ids)))
                )
            ).all()
        )
    return {c: found.get(c, c) for c in class_ids}


@dataclass
class PreviewSet:
    """One of a student's sets tonight: its plan, items (with question text and point names) and minutes."""

    plan_id: str
    status: str
    minutes: SetMinutes
    basic: list[dict[str, Any]]
    extension: list[dict[str, Any]]


@dataclass
class PreviewRow:
    """One student in the preview: every live set (published first: published work is never hidden),
    the mastery level of each point set, and the evening against the subject's share and the cap."""

    student_id: str
    name: str
    sets: list[PreviewSet]
    points: list[str]  # the points of the student's items, in order of first appearance
    levels: dict[str, str]
    exempt: bool
    cap: float
    share: float | None  # the subject's minutes tonight (None: no split, the cap is the limit)
    subject_held: float
    evening_held: float
    held: dict[str, float]  # conservative minutes held per subject

    @property
    def published(self) -> bool:
        return any(s.status != PlanStatus.DRAFT for s in self.sets)

    @property
    def draft(self) -> PreviewSet | None:
        return next((s for s in self.sets if s.status == PlanStatus.DRAFT), None)


@dataclass
class ClassPreview:
    """The class's sets for a subject and night as the teacher previews them, with a class summary:
    minutes per tier, the points covered, how many students are at each level (A-D) on each, and
    who needs attention (level D on a point taught in the last two weeks: R6). Students in order of
    their pseudonymous ids; nothing is ranked or ordered by result (R5)."""

    class_id: str
    class_name: str
    subject: str
    night: date
    rows: list[PreviewRow]
    point_names: dict[str, str]
    attention: list[str] = dataclasses.field(default_factory=list)

    @property
    def drafts(self) -> int:
        """Drafts that may be published: a student's draft where nothing is published to them yet."""
        return sum(1 for r in self.rows if r.draft is not None and not r.published)

    @property
    def published(self) -> int:
        return sum(1 for r in self.rows if r.published)

    @property
    def without_set(self) -> int:
        return sum(1 for r in self.rows if not r.sets and not r.exempt)

    def tiers(self) -> dict[str, dict[str, float]]:
        """Per tier: students with items in it, and the typical minutes (lowest, middle, highest)."""
        out = {}
        for tier in ("basic", "extension"):
            per = sorted(
                round(sum(i["minutes"] for s in r.sets for i in getattr(s, tier)), 1)
                for r in self.rows
                if any(getattr(s, tier) for s in r.sets)
            )
            out[tier] = {"students": len(per), "low": per[0] if per else 0.0,
                         "middle": per[len(per) // 2] if per else 0.0, "high": per[-1] if per else 0.0}  # fmt: skip
        return out

    def covered(self) -> list[dict[str, Any]]:
        """Each point in tonight's sets: its name, how many students have it, and how many are at
        each level A-D (counts only)."""
        seen: dict[str, dict[str, Any]] = {}
        for r in self.rows:
            for kp in r.points:
                one = seen.setdefault(kp, {"kp_id": kp, "name": self.point_names.get(kp, kp), "students": 0,
                                           "levels": dict.fromkeys("ABCD", 0)})  # fmt: skip
                one["students"] += 1
                level = r.levels.get(kp)
                if level in one["levels"]:
                    one["levels"][level] += 1
        return list(seen.values())


def class_preview(*, db: Engine, book: PolicyBook, class_id: str, subject: str, night: date) -> ClassPreview:
    """The class's live sets for a subject and night, read in a fixed number of queries whatever the
    class's size (no query per student or item): every student, every live set, its items with
    question text and point names, each evening's cap, the subject's share and what is held."""
    with db.connect() as conn:
        klass = conn.execute(select(t.classes.c.name).where(t.classes.c.class_id == class_id)).one_or_none()
        students = conn.execute(
            select(t.students.c.student_id, t.students.c.display_name)
            .where(t.students.c.class_id == class_id)
            .order_by(t.students.c.student_id)  # pseudonymous ids: an order that says nothing (R5)
        ).all()
        sets = conn.execute(
            select(t.plans.c.plan_id, t.plans.c.student_id, t.plans.c.status, t.plans.c.typical_minutes,
                   t.plans.c.conservative_minutes)
            .join(t.students, t.students.c.student_id == t.plans.c.student_id)
            .where(t.students.c.class_id == class_id, t.plans.c.subject == subject, t.plans.c.night == night,
                   t.plans.c.status.in_(SETS_ITEMS))
            .order_by(t.plans.c.created_at, t.plans.c.plan_id)
        ).all()  # fmt: skip
        items = conn.execute(
            select(t.plan_items.c.plan_id, t.plan_items.c.item_id, t.plan_items.c.tier,
                   t.plan_items.c.typical_minutes, t.plan_items.c.reason_zh, t.plan_items.c.reason_en,
                   t.items.c.kind, t.items.c.stem, t.item_kps.c.kp_id, t.knowledge_points.c.name.label("kp_name"))
            .join(t.plans, t.plans.c.plan_id == t.plan_items.c.plan_id)
            .join(t.students, t.students.c.student_id == t.plans.c.student_id)
            .join(t.items, t.items.c.item_id == t.plan_items.c.item_id)
            .join(t.item_kps, (t.item_kps.c.item_id == t.items.c.item_id) & (t.item_kps.c.position == 0))
            .join(t.knowledge_points, t.knowledge_points.c.kp_id == t.item_kps.c.kp_id)
            .where(t.students.c.class_id == class_id, t.plans.c.subject == subject, t.plans.c.night == night,
                   t.plans.c.status.in_(SETS_ITEMS))
            .order_by(t.plan_items.c.plan_id, t.plan_items.c.position)
        ).all()  # fmt: skip
        exempt = set(
            conn.execute(
                select(t.exemptions.c.student_id)
                .join(t.students, t.students.c.student_id == t.exemptions.c.student_id)
                .where(t.students.c.class_id == class_id, t.exemptions.c.night == night)
            ).scalars()
        )
        kept_levels: dict[str, dict[str, str]] = defaultdict(dict)
        for sid, kp, level in conn.execute(
            select(t.evening_levels.c.student_id, t.evening_levels.c.kp_id, t.evening_levels.c.level)
            .join(t.students, t.students.c.student_id == t.evening_levels.c.student_id)
            .where(t.students.c.class_id == class_id, t.evening_levels.c.night == night,
                   t.evening_levels.c.subject == subject)
        ):  # fmt: skip
            kept_levels[sid][kp] = level
        recent = set(conn.execute(_recently_taught_query(class_id, subject, night)).scalars())
        ids = [s.student_id for s in students]
        views = evening_views(conn, dict.fromkeys(ids, night))
        missing = [sid for sid in ids if sid not in views]
        specs = evenings_specs(conn, book, missing, night) if missing else {}
    by_plan: dict[str, list[Any]] = defaultdict(list)
    names: dict[str, str] = {}
    for i in items:
        names[i.kp_id] = i.kp_name
        by_plan[i.plan_id].append({
            "item_id": i.item_id, "tier": i.tier, "kind": i.kind, "stem": i.stem, "kp_id": i.kp_id,
            "kp_name": i.kp_name, "minutes": round(i.typical_minutes, 1), "reason_zh": i.reason_zh,
            "reason_en": i.reason_en,
        })  # fmt: skip
    by_student: dict[str, list[PreviewSet]] = defaultdict(list)
    for p in sets:
        its = by_plan.get(p.plan_id, [])
        by_student[p.student_id].append(PreviewSet(
            p.plan_id, p.status, set_minutes(typical=p.typical_minutes, conservative=p.conservative_minutes),
            [i for i in its if i["tier"] == "basic"], [i for i in its if i["tier"] == "extension"],
        ))  # fmt: skip
    rows = []
    for s in students:
        own = sorted(by_student.get(s.student_id, []), key=lambda x: x.status == PlanStatus.DRAFT)
        view = views.get(s.student_id)
        if view is not None:
            cap, held, allowances = view.cap_minutes, view.reserved, view.allowances
        else:
            spec = specs[s.student_id]
            cap, held, allowances = spec.cap_minutes, {}, dict(spec.allowances)
        points = list(dict.fromkeys(i["kp_id"] for x in own for i in x.basic + x.extension))
        rows.append(PreviewRow(
            student_id=s.student_id, name=s.display_name or s.student_id, sets=own, points=points,
            levels={kp: kept_levels[s.student_id].get(kp, "-") for kp in points},
            exempt=s.student_id in exempt, cap=round(cap, 1),
            share=round(allowances[subject], 1) if subject in allowances else None,
            subject_held=round(held.get(subject, 0.0), 1), evening_held=round(sum(held.values()), 1),
            held={k: round(v, 1) for k, v in sorted(held.items())},
        ))  # fmt: skip
    # R6: who is at level D on a point taught in the last two weeks (by id: an order that says nothing)
    attention = [
        s.student_id for s in students if any(kept_levels[s.student_id].get(kp) == "D" for kp in recent)
    ]
    return ClassPreview(class_id, klass.name if klass else class_id, subject, night, rows, names, attention)


# --- the item bank as the edit page browses it, and a teacher's own items ------------------------

BANK_PAGE = 20


@dataclass(frozen=True)
class BankPage:
    """One page of the bank a teacher may choose from: the grade's (and earlier grades') items of the
    subject, the shared bank and the school's own, filtered by point, kind and words in the text."""

    items: list[dict[str, Any]]
    page: int
    more: bool
    points: list[tuple[str, str]]  # (kp_id, name) of the subject up to the grade, in syllabus order


def _visible_to(school_id: str) -> Any:
    """Items of the shared bank and of this school (another school's own items are never shown)."""
    return t.items.c.item_id.not_in(
        select(t.school_items.c.item_id).where(t.school_items.c.school_id != school_id)
    )


def bank_items(
    *,
    db: Engine,
    school_id: str,
    subject: str,
    grade: int,
    kp: str = "",
    kind: str = "",
    words: str = "",
    page: int = 1,
) -> BankPage:
    """A page (BANK_PAGE items, in item order) of the bank for the edit page's browser."""
    page = max(1, page)
    with db.connect() as conn:
        points = [
            (r.kp_id, r.name)
            for r in conn.execute(
                select(t.knowledge_points.c.kp_id, t.knowledge_points.c.name)
                .where(t.knowledge_points.c.subject == subject, t.knowledge_points.c.grade <= grade)
                .order_by(
                    t.knowledge_points.c.grade.desc(), t.knowledge_points.c.unit, t.knowledge_points.c.order
                )
            )
        ]
        query = (
            select(t.items.c.item_id, t.items.c.kind, t.items.c.stem, t.items.c.est_minutes,
                   t.knowledge_points.c.name.label("kp_name"))
            .join(t.item_kps, (t.item_kps.c.item_id == t.items.c.item_id) & (t.item_kps.c.position == 0))
            .join(t.knowledge_points, t.knowledge_points.c.kp_id == t.item_kps.c.kp_id)
            .where(t.items.c.subject == subject, t.items.c.grade <= grade, _visible_to(school_id))
        )  # fmt: skip
        if kp:
            query = query.where(
                t.items.c.item_id.in_(select(t.item_kps.c.item_id).where(t.item_kps.c.kp_id == kp))
            )
        if kind:
            query = query.where(t.items.c.kind == kind)
        for word in words.split()[:5]:
            query = query.where(t.items.c.stem.contains(word, autoescape=True))
        rows = conn.execute(
            query.order_by(t.items.c.grade.desc(), t.items.c.item_id)
            .offset((page - 1) * BANK_PAGE)
            .limit(BANK_PAGE + 1)
        ).all()
    return BankPage([r._asdict() for r in rows[:BANK_PAGE]], page, len(rows) > BANK_PAGE, points)


def add_own_item(
    *,
    db: Engine,
    school_id: str,
    subject: str,
    grade: int,
    text: str,
    kps: Sequence[str],
    kind: str,
    minutes: float,
    teacher_id: str,
    now: datetime,
) -> str:
    """A teacher's own item or workbook exercise into the bank of their school (only its teachers see
    it, only its students are set it); the teacher's estimate is the item's minutes (the time model
    still times it: its estimate is a floor, never a ceiling). Returns the new item's id."""
    text = " ".join(text.split())
    if not 1 <= len(text) <= 500:
        raise Invalid("text: write the item's text (1-500 characters)", "题目内容：请填写题目（1-500 字）")
    if kind not in ITEM_KINDS:
        raise Invalid(
            f"kind: {kind!r} is not one of {', '.join(ITEM_KINDS)}", f"类型：{kind!r} 不是可用的题目类型"
        )
    if not 0 < minutes <= 120:
        raise Invalid(
            "minutes: your estimate must be between 0 and 120", "用时：估计的分钟数须在 0 到 120 之间"
        )
    points = list(dict.fromkeys(k for k in kps if k))
    if not points:
        raise Invalid("points: choose at least one knowledge point", "知识点：请至少选一个知识点")
    item_id = f"own-{uuid.uuid4().hex[:16]}"
    with writing(db) as conn:
        known = dict(
            conn.execute(
                select(t.knowledge_points.c.kp_id, t.knowledge_points.c.grade).where(
                    t.knowledge_points.c.kp_id.in_(points), t.knowledge_points.c.subject == subject
                )
            ).all()
        )
        wrong = [k for k in points if known.get(k, grade + 1) > grade]
        if wrong:
            raise Invalid(f"points: not {subject} points of grade {grade} or below: {', '.join(wrong)}",
                          f"知识点：{', '.join(wrong)} 不是本年级及以下的{SUBJECTS.get(subject, subject)}知识点")  # fmt: skip
        conn.execute(insert(t.items).values(item_id=item_id, subject=subject, grade=grade, kind=kind, stem=text,
                                            needs_parent=False, dup_group=None, est_minutes=minutes, answer=None))  # fmt: skip
        conn.execute(insert(t.item_kps), [{"item_id": item_id, "kp_id": k, "position": n}
                                          for n, k in enumerate(points)])  # fmt: skip
        conn.execute(insert(t.school_items).values(item_id=item_id, school_id=school_id, created_by=teacher_id,
                                                   created_at=now))  # fmt: skip
        bump(conn, ITEMS)  # every process's item snapshot takes the new item in (the models time it)
    return item_id


def own_minutes(*, db: Engine, item_ids: Sequence[str]) -> dict[str, float]:
    """The teacher's estimate of each of the given items that is a school's own (a floor on its time)."""
    with db.connect() as conn:
        return {
            r.item_id: float(r.est_minutes)
            for r in conn.execute(
                select(t.items.c.item_id, t.items.c.est_minutes)
                .join(t.school_items, t.school_items.c.item_id == t.items.c.item_id)
                .where(t.items.c.item_id.in_(list(item_ids)))
            )
            if r.est_minutes
        }


def foreign_items(*, db: Engine, school_id: str, item_ids: Sequence[str]) -> list[str]:
    """The given items that are another school's own (never to be set here)."""
    with db.connect() as conn:
        return list(
            conn.execute(
                select(t.school_items.c.item_id).where(
                    t.school_items.c.item_id.in_(list(item_ids)), t.school_items.c.school_id != school_id
                )
            ).scalars()
        )


def class_of(*, db: Engine, class_id: str) -> ClassPlace:
    """Where a class belongs: its school, grade, policy and time zone."""
    with db.connect() as conn:
        found = class_place(conn, class_id)
    if found is None:
        raise NotFound("class", class_id)
    return found
