"""The next day's 讲评 report (issue 16): for one night, subject and class, what came back — how many
handed in and who has not, per item and per knowledge point right / wrong / not done, the most-missed
items (with the wrong answers typed most often, where answers are typed), and the time reported
against the time estimated (R4).

Counts only, never a student's result beside another's (R5): the single list of names is who has not
handed in, for the class's teachers to follow up (the route lets only the subject's teacher and the
head teacher read the report). The knowledge points where most students are at level D come first
(R6), by the same mastery levels the teacher's page shows (service.plans.class_mastery).

What counts: the sets handed out that night (published or done; an excused set, T12, is counted
apart and in nothing else); a student's first answer to an item that night is the result (a later
one is a retry after the feedback); an item set but not answered is "not done". A fixed number of
queries per report (five), none per student or item.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Engine, and_, func, select

from service.plans import ModelInUse, class_mastery
from service.policy.policy import PolicyBook
from service.store import tables as t
from service.store.queries import HANDED_OUT, PlanStatus

LEVELS = ("A", "B", "C", "D")
MOST_MISSED = 5  # items listed as most missed
WRONG_ANSWERS = 3  # the wrong answers typed most often, per item


class StudentName(BaseModel):
    student_id: str
    display_name: str = Field(description="the pseudonymous name the pages show (else the id)")


class AnswerCount(BaseModel):
    answer: str
    students: int


class ItemTally(BaseModel):
    item_id: str
    stem: str
    kind: str
    points: list[str] = Field(description="the item's knowledge points, by name")
    set_to: int = Field(description="students this item was set to (excused sets left out)")
    right: int
    wrong: int
    not_done: int
    estimated_minutes: float = Field(description="the mean minutes the sets estimated for it")
    reported_minutes: float | None = Field(description="the median of the times answered with, if any")
    timed: int = Field(description="how many answers carried a time")
    wrong_answers: list[AnswerCount] = Field(
        description="the wrong answers typed most often (typed answers only)"
    )


class PointTally(BaseModel):
    kp_id: str
    name: str
    right: int
    wrong: int
    not_done: int
    levels: dict[str, int] = Field(description="students at each mastery level A-D (counts, never names)")
    at_d_share: float = Field(description="the share of the class's students with a level here at D")


class EveningTime(BaseModel):
    """R4: the whole evening (every subject) as reported, against what the sets estimated, for the
    students who reported; and this subject's estimate for the class."""

    reports: int
    reported_minutes: float | None = Field(description="mean reported minutes of the whole evening")
    estimated_minutes: float | None = Field(
        description="mean estimated minutes of the same students' evenings"
    )
    subject_estimated_minutes: float | None = Field(
        description="mean estimated minutes of this subject's sets"
    )
    subject_answered_minutes: float | None = Field(
        description="mean minutes this subject's answers carried, of students who timed every item"
    )


class ReviewReport(BaseModel):
    class_id: str
    subject: str
    night: date
    students: int = Field(description="students in the class")
    set_to: int = Field(description="students with a set handed out that night (excused ones not counted)")
    handed_in: int = Field(description="of those, students who answered at least one item")
    excused: int = Field(description="sets excused by a parent (T12)")
    not_handed_in: list[StudentName] = Field(
        description="who has not handed in (for the class's subject teacher and head teacher only)"
    )
    items: list[ItemTally] = Field(description="in the order the sets gave them")
    most_missed: list[str] = Field(description="item ids, most wrong first (items with a wrong answer only)")
    points: list[PointTally] = Field(description="most students at level D first (R6), then most wrong")
    typed_answers: bool = Field(description="whether answers are typed (the wrong answers can be shown)")
    time: EveningTime


def class_review(
    *, db: Engine, model: ModelInUse, book: PolicyBook, class_id: str, subject: str, night: date
) -> ReviewReport:
    """The report with the mastery levels the teacher's page shows (model work: run it in the planning
    pool, which hands in `db`, `model` and `book`)."""
    mastery = class_mastery(db=db, model=model, book=book, class_id=class_id, subject=subject, night=night)
    return review_report(db=db, class_id=class_id, subject=subject, night=night,
                         levels={s.student_id: s.levels for s in mastery.levels})  # fmt: skip


def review_report(
    *, db: Engine, class_id: str, subject: str, night: date, levels: Mapping[str, Mapping[str, str]]
) -> ReviewReport:
    """The report from the database and the class's mastery levels (student -> knowledge point ->
    level A-D)."""
    # typed answers are kept in answer_marks (the grader's normal form, service.grading)
    handed = (*HANDED_OUT, PlanStatus.EXEMPTED.value)
    with db.connect() as conn:
        students = conn.execute(
            select(t.students.c.student_id, t.students.c.display_name)
            .where(t.students.c.class_id == class_id)
            .order_by(t.students.c.student_id)
        ).all()
        # Every (set, item) of the night with each answer given to it that night (none: one row of NULLs).
        lines = conn.execute(
            select(t.plans.c.plan_id, t.plans.c.student_id, t.plans.c.status, t.plans.c.typical_minutes.label("plan_minutes"),
                   t.plan_items.c.item_id, t.plan_items.c.position, t.plan_items.c.tier,
                   t.plan_items.c.typical_minutes, t.items.c.stem, t.items.c.kind,
                   t.attempts.c.submitted_at, t.attempts.c.event_id, t.attempts.c.correct, t.attempts.c.seconds,
                   t.answer_marks.c.typed)
            .join(t.students, t.students.c.student_id == t.plans.c.student_id)
            .join(t.plan_items, t.plan_items.c.plan_id == t.plans.c.plan_id)
            .join(t.items, t.items.c.item_id == t.plan_items.c.item_id)
            .outerjoin(t.attempts, and_(t.attempts.c.student_id == t.plans.c.student_id,
                                        t.attempts.c.item_id == t.plan_items.c.item_id,
                                        t.attempts.c.night == night))
            .outerjoin(t.answer_marks, t.answer_marks.c.event_id == t.attempts.c.event_id)
            .where(t.students.c.class_id == class_id, t.plans.c.subject == subject, t.plans.c.night == night,
                   t.plans.c.status.in_(handed))
        ).all()  # fmt: skip
        item_ids = sorted({r.item_id for r in lines})
        points = conn.execute(
            select(t.item_kps.c.item_id, t.item_kps.c.kp_id, t.knowledge_points.c.name, t.knowledge_points.c.unit,
                   t.knowledge_points.c.order)
            .join(t.knowledge_points, t.knowledge_points.c.kp_id == t.item_kps.c.kp_id)
            .where(t.item_kps.c.item_id.in_(item_ids))
            .order_by(t.item_kps.c.item_id, t.item_kps.c.position)
        ).all()  # fmt: skip
        # R4: each student's reported evening and the minutes of every set handed out to them that night.
        ids = [s.student_id for s in students]
        reported = dict(
            conn.execute(
                select(t.evening_reports.c.student_id, t.evening_reports.c.minutes).where(
                    t.evening_reports.c.student_id.in_(ids), t.evening_reports.c.night == night
                )
            ).all()
        )
        evening = dict(
            conn.execute(
                select(t.plans.c.student_id, func.sum(t.plans.c.typical_minutes))
                .where(
                    t.plans.c.student_id.in_(ids), t.plans.c.night == night, t.plans.c.status.in_(HANDED_OUT)
                )
                .group_by(t.plans.c.student_id)
            ).all()
        )
    typed = any(r.typed for r in lines)  # whether anyone typed an answer this night
    return _build(class_id, subject, night, students, lines, points, reported, evening, levels, typed)


def _build(
    class_id: str,
    subject: str,
    night: date,
    students: Sequence[Any],
    lines: Sequence[Any],
    points: Sequence[Any],
    reported: dict[str, float],
    evening: dict[str, float],
    levels: Mapping[str, Mapping[str, str]],
    typed: bool,
) -> ReviewReport:
    name = {s.student_id: s.display_name or s.student_id for s in students}
    excused = {r.student_id for r in lines if r.status == PlanStatus.EXEMPTED.value}
    counted = [r for r in lines if r.status != PlanStatus.EXEMPTED.value]
    # The first answer of each student to each item that night (by when it was given, then its id).
    first: dict[tuple[str, str], Any] = {}
    estimate: dict[str, list[float]] = defaultdict(list)
    place: dict[str, tuple[int, int]] = {}
    set_minutes: dict[str, float] = {}
    for r in counted:
        key = (r.student_id, r.item_id)
        if key not in first:
            estimate[r.item_id].append(r.typical_minutes)
            place[r.item_id] = min(
                place.get(r.item_id, (9, 999)), (0 if r.tier == "basic" else 1, r.position)
            )
            set_minutes[r.student_id] = r.plan_minutes
            first[key] = r
        elif r.event_id is not None and (
            first[key].event_id is None
            or (r.submitted_at, r.event_id) < (first[key].submitted_at, first[key].event_id)
        ):
            first[key] = r
    set_to = {sid for sid, _ in first}
    answered = {sid for (sid, _), r in first.items() if r.event_id is not None}
    missing = sorted(set_to - answered)
    stem = {r.item_id: r.stem for r in counted}
    kind = {r.item_id: r.kind for r in counted}

    kps_of: dict[str, list[str]] = defaultdict(list)
    kp_name: dict[str, str] = {}
    kp_order: dict[str, tuple[str, int]] = {}
    for p in points:
        kps_of[p.item_id].append(p.kp_id)
        kp_name[p.kp_id], kp_order[p.kp_id] = p.name, (p.unit, p.order)

    tally: dict[str, Counter[str]] = defaultdict(Counter)
    seconds: dict[str, list[int]] = defaultdict(list)
    wrong_typed: dict[str, Counter[str]] = defaultdict(Counter)
    timed_all: dict[str, float] = defaultdict(float)
    untimed: set[str] = set()
    for (sid, item_id), r in first.items():
        result = "not_done" if r.event_id is None else "right" if r.correct else "wrong"
        tally[item_id][result] += 1
        if r.event_id is not None and r.seconds is not None:
            seconds[item_id].append(r.seconds)
            timed_all[sid] += r.seconds / 60
        else:
            untimed.add(sid)
        if result == "wrong" and typed and (r.typed or "").strip():
            wrong_typed[item_id][r.typed.strip()] += 1

    items = [
        ItemTally(
            item_id=i, stem=stem[i], kind=kind[i], points=[kp_name[k] for k in kps_of[i]],
            set_to=sum(tally[i].values()), right=tally[i]["right"], wrong=tally[i]["wrong"],
            not_done=tally[i]["not_done"], estimated_minutes=round(statistics.fmean(estimate[i]), 1),
            reported_minutes=round(statistics.median(seconds[i]) / 60, 1) if seconds[i] else None,
            timed=len(seconds[i]),
            wrong_answers=[AnswerCount(answer=a, students=n)
                           for a, n in sorted(wrong_typed[i].items(), key=lambda x: (-x[1], x[0]))[:WRONG_ANSWERS]],
        )
        for i in sorted(place, key=lambda i: (place[i], i))
    ]  # fmt: skip
    most_missed = [
        x.item_id for x in sorted((x for x in items if x.wrong), key=lambda x: (-x.wrong, -x.not_done))
    ]

    class_ids = set(name)
    point_tally: dict[str, Counter[str]] = defaultdict(Counter)
    for x in items:
        for kp in kps_of[x.item_id]:
            point_tally[kp].update({"right": x.right, "wrong": x.wrong, "not_done": x.not_done})
    out_points = []
    for kp in point_tally:
        at = Counter(
            lv for sid, by_kp in levels.items() if sid in class_ids and (lv := by_kp.get(kp)) in LEVELS
        )
        leveled = sum(at.values())
        out_points.append(
            PointTally(kp_id=kp, name=kp_name[kp], right=point_tally[kp]["right"], wrong=point_tally[kp]["wrong"],
                       not_done=point_tally[kp]["not_done"], levels={lv: at[lv] for lv in LEVELS},
                       at_d_share=round(at["D"] / leveled, 3) if leveled else 0.0)
        )  # fmt: skip
    # R6: the points where most students are at D first; then the most answered wrong; then the syllabus.
    out_points.sort(key=lambda p: (-p.at_d_share, -p.levels["D"], -p.wrong, kp_order[p.kp_id], p.kp_id))

    reporters = sorted(sid for sid in reported if sid in class_ids)
    fully_timed = sorted(answered - untimed)
    time = EveningTime(
        reports=len(reporters),
        reported_minutes=_mean([reported[s] for s in reporters]),
        estimated_minutes=_mean([evening.get(s, 0.0) for s in reporters]),
        subject_estimated_minutes=_mean(list(set_minutes.values())),
        subject_answered_minutes=_mean([timed_all[s] for s in fully_timed]),
    )
    return ReviewReport(
        class_id=class_id, subject=subject, night=night, students=len(students), set_to=len(set_to),
        handed_in=len(answered), excused=len(excused), typed_answers=typed,
        not_handed_in=[StudentName(student_id=s, display_name=name.get(s, s)) for s in missing],
        items=items, most_missed=most_missed[:MOST_MISSED], points=out_points, time=time,
    )  # fmt: skip


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 1) if values else None
