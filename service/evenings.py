"""Evenings: a student's work tonight across subjects (basic first; what fits before bedtime), each
student's evening in a class, how a class's evenings are split between subjects (班主任协调) and a
subject's unused minutes given to others tonight, a parent's exemption (T12), the real time of an
evening as reported (R4), the weekly public notice of class averages (作业公示, R3: no individual
data) and burden monitoring (R4: estimated against reported time, evenings over the cap flagged).

Plain functions with keyword-only arguments, called by the API's routes and the pages alike after
their permission checks (service.access); a refusal is a service.errors exception.
"""

from __future__ import annotations

import logging
import statistics
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Select, delete, func, insert, select
from sqlalchemy.exc import OperationalError

from models.schema import SUBJECTS, SUBJECTS_EN, WEEKDAYS
from service.access import StudentRef
from service.errors import Conflict, Invalid, RuleBroken
from service.grading import gradable
from service.policy.budget import default_weights, evening_cap, split
from service.policy.evenings import (
    class_policy,
    evening_spec,
    evening_specs,
    is_exempt,
    record_exemption,
    release_unused,
)
from service.policy.evenings import set_allocation as _set_allocation
from service.policy.ledger import LedgerError, evening_views
from service.policy.minutes import SetMinutes, set_minutes
from service.policy.policy import PolicyBook
from service.schemas import (
    Allocations,
    Burden,
    BurdenDay,
    ClassEvening,
    DaySplit,
    ExemptionOut,
    Notice,
    NoticeDay,
    NoTime,
    Released,
    StopOut,
    StudentEvening,
    SubjectTonight,
    Tonight,
    TonightItem,
)
from service.store import tables as t
from service.store.archive import BURDEN_REPORT, WEEKLY_NOTICE, Part, append_once, archive_evening_report
from service.store.db import writing
from service.store.queries import HANDED_OUT, SETS_ITEMS, class_members
from service.store.reads import Read, Reader, reader

log = logging.getLogger("jianfu.evenings")
TIER_ORDER = {"basic": 0, "extension": 1}

# Read on every student's app every evening: plain SQL on the driver (service.store.reads).
TONIGHT = Read("""
    SELECT p.plan_id, p.subject, pi.item_id, pi.tier, pi.position, pi.typical_minutes,
           pi.reason_zh, pi.reason_en, i.kind, i.stem,
           (SELECT a.correct FROM attempts a
            WHERE a.student_id = p.student_id AND a.night = p.night AND a.item_id = pi.item_id
            ORDER BY a.submitted_at DESC, a.event_id DESC LIMIT 1),
           CASE WHEN i.answer IS NULL OR i.answer = '' THEN 0 ELSE 1 END,
           EXISTS (SELECT 1 FROM time_outs o
                   WHERE o.student_id = p.student_id AND o.night = p.night AND o.item_id = pi.item_id),
           p.typical_minutes, p.conservative_minutes
    FROM plans p
    JOIN plan_items pi ON pi.plan_id = p.plan_id
    JOIN items i ON i.item_id = pi.item_id
    WHERE p.student_id = :student_id AND p.night = :night AND p.status IN ('published', 'done')
""")
CAP = Read("SELECT cap_minutes FROM evening_ledger WHERE student_id = :student_id AND night = :night")
EXCUSED = Read("SELECT 1 FROM exemptions WHERE student_id = :student_id AND night = :night")
STOPPED = Read("SELECT reason FROM evening_stops WHERE student_id = :student_id AND night = :night")
SPENT = Read("SELECT SUM(seconds) FROM attempts WHERE student_id = :student_id AND night = :night")


def school_today(timezone: str, now: datetime) -> date:
    """The school's date at `now` (an evening is named by the school's local date, not UTC's)."""
    return now.astimezone(ZoneInfo(timezone)).date()


def _refused(exc: LedgerError) -> RuleBroken | Invalid:
    return RuleBroken(exc.rule, exc.en, exc.zh) if exc.rule else Invalid(exc.en, exc.zh)


def tonight(
    *,
    db: Engine,
    book: PolicyBook,
    student: StudentRef,
    night: date,
    now: datetime | None = None,
    read: Reader | None = None,
    subjects: Collection[str] | None = None,
) -> Tonight:
    """Tonight's published work across subjects, basic work of every subject first (it is
    mandatory), then the optional extensions; with `now`, only what fits before the policy's
    bedtime (the rest is counted, for the teacher to see). (`read`: a reader the caller holds.)
    With `subjects` (a subject teacher's), only those subjects' items are listed — as the student
    sees them, in the same order and the same bedtime cut; the minutes stay the whole evening's."""
    if read is None:
        with reader(db) as fresh:
            return tonight(db=db, book=book, student=student, night=night, now=now, read=fresh,
                           subjects=subjects)  # fmt: skip
    rows = read.all(TONIGHT, student_id=student.student_id, night=night)
    found = read.first(CAP, student_id=student.student_id, night=night)
    excused = read.first(EXCUSED, student_id=student.student_id, night=night)
    stopped = read.first(STOPPED, student_id=student.student_id, night=night)
    spent = read.first(SPENT, student_id=student.student_id, night=night)
    rows.sort(key=lambda r: (TIER_ORDER[r[3]], r[1], r[4]))
    items = [
        TonightItem(plan_id=plan_id, subject=subject, item_id=item_id, tier=tier, kind=kind, stem=stem,
                    typical_minutes=round(minutes, 1), reason_zh=reason_zh, reason_en=reason_en,
                    done=last is not None, result=None if last is None else "right" if last else "wrong",
                    graded=gradable(kind, "x" if keyed else None), timed_out=bool(timed_out))
        for plan_id, subject, item_id, tier, _, minutes, reason_zh, reason_en, kind, stem, last, keyed, timed_out, *_
        in rows
    ]  # fmt: skip
    # the sets' figures as every page shows them (service.policy.minutes), summed over tonight's sets
    sets = {r[0]: set_minutes(typical=r[13], conservative=r[14]) for r in rows}
    whole = sum(sets.values(), SetMinutes(0.0, 0.0))
    planned = whole.typical
    bedtime, left_out = None, 0
    if now is not None:
        bedtime = book(student.policy_name).bedtime(student.grade)
        if bedtime is not None:
            hours, minutes = map(int, bedtime.split(":"))
            end = datetime.combine(night, time(hours, minutes), tzinfo=ZoneInfo(student.timezone))
            room = max(0.0, (end - now).total_seconds() / 60.0)
            kept, used, full = [], 0.0, False
            for item in items:  # in order, up to the first that does not fit before bedtime (done ones stay)
                full = full or (not item.done and used + item.typical_minutes > room + 1e-9)
                if item.done or not full:
                    kept.append(item)
                    used += 0.0 if item.done else item.typical_minutes
                else:
                    left_out += 1
            items = kept
    if subjects is not None:
        items = [i for i in items if i.subject in subjects]
    return Tonight(student_id=student.student_id, night=night, cap_minutes=found[0] if found else None,
                   planned_minutes=planned, bound_minutes=whole.bound, items=items, left_out=left_out, bedtime=bedtime,
                   excused=excused is not None, stopped=stopped[0] if stopped else None,
                   spent_minutes=round(float(spent[0] or 0) / 60.0, 1) if spent else 0.0)  # fmt: skip


ALLOCATIONS_PAGE = "/school/allocations?class_id={class_id}"


def no_time(
    *,
    db: Engine,
    book: PolicyBook,
    class_id: str,
    subject: str,
    night: date,
    students: Collection[str] | None = None,
) -> list[NoTime]:
    """Why students of the class (those in `students`, else all) have no minutes tonight for
    `subject`, grouped by cause, each said in Chinese and English with what to do and the page where
    it is done. Nothing when every student has time for it; an excused student (T12) is left out."""
    with db.connect() as conn:
        grade, policy = class_policy(conn, book, class_id)
        members = class_members(conn, class_id)
        specs = evening_specs(conn, book, members, night)
        views = evening_views(conn, dict.fromkeys(specs, night))
        set_split = conn.execute(
            select(func.count()).where(
                t.class_allocations.c.class_id == class_id, t.class_allocations.c.weekday == night.weekday()
            )
        ).scalar_one()
        excused = set(
            conn.execute(
                select(t.exemptions.c.student_id).where(
                    t.exemptions.c.student_id.in_(list(specs)), t.exemptions.c.night == night
                )
            ).scalars()
        )
    whose: Literal["default", "set"] = "set" if set_split else "default"
    groups: dict[tuple[str, tuple[str, ...], float], list[str]] = defaultdict(list)
    for sid, spec in specs.items():
        if (students is not None and sid not in students) or sid in excused:
            continue  # an excused evening (T12) needs no explaining
        view = views.get(sid)
        allowances = dict(view.allowances) if view else dict(spec.allowances)
        reserved = view.reserved if view else {}
        cap = view.cap_minutes if view else spec.cap_minutes
        share = allowances.get(subject, 0.0)
        tonight = tuple(s for s, m in sorted(allowances.items(), key=lambda x: (-x[1], x[0])) if m >= 1.0)
        if cap < 1.0:
            groups[("no_homework", (), 0.0)].append(sid)
        elif share < 1.0:
            groups[("no_share", tonight, 0.0)].append(sid)
        elif share - reserved.get(subject, 0.0) < 1.0:
            groups[("share_used", tonight, round(share))].append(sid)
        elif cap - sum(reserved.values()) < 1.0:
            holding = tuple(sorted(s for s, m in reserved.items() if m > 0 and s != subject))
            groups[("evening_full", holding, round(cap))].append(sid)
    limit = policy.subjects_per_evening(grade)
    fix = ALLOCATIONS_PAGE.format(class_id=class_id)
    out = []
    for (reason, tonight, minutes), sids in sorted(groups.items(), key=lambda g: -len(g[1])):
        zh, en = _no_time_words(reason, subject, night, tonight, minutes, whose, grade, limit)
        out.append(NoTime(reason=reason, subject=subject, night=night, students=sorted(sids),  # type: ignore[arg-type]
                          subjects_tonight=list(tonight), split=whose, zh=zh, en=en, fix=fix))  # fmt: skip
    return out


def _no_time_words(
    reason: str, subject: str, night: date, tonight: Sequence[str], minutes: float, whose: str, grade: int,
    limit: int | None,
) -> tuple[str, str]:  # fmt: skip
    """The explanation of one cause, in Chinese and English: why, and what to do."""
    zh_subject, en_subject = SUBJECTS.get(subject, subject), SUBJECTS_EN.get(subject, subject)
    day_zh, day_en = WEEKDAYS[night.weekday()]
    others_zh = "、".join(SUBJECTS.get(s, s) for s in tonight) or "（没有学科）"
    others_en = " and ".join(SUBJECTS_EN.get(s, s) for s in tonight) or "no subject"
    whose_zh, whose_en = ("班主任设定的分配", "the head teacher's split") if whose == "set" else (
        "学校默认分配", "the school's default split")  # fmt: skip
    if reason == "no_homework":
        return (f"{grade}年级每晚没有书面作业时间（T1），今晚{zh_subject}不能布置书面作业。",
                f"Grade {grade} has no written homework time in the evening (T1): no {en_subject} set tonight.")  # fmt: skip
    if reason == "no_share":
        rule_zh = (
            f"本校{grade}年级每晚最多{limit}门学科有作业（T8），" if limit and len(tonight) >= limit else ""
        )
        rule_en = (f" At this school grade {grade} gets homework from at most {limit} subjects per evening (T8)."
                   if limit and len(tonight) >= limit else "")  # fmt: skip
        return (
            f"今晚{zh_subject}没有分到时间：本{day_zh}的作业时间分给了{others_zh}（{whose_zh}）。"
            f"{rule_zh}请班主任在“作业时间分配”里调整{day_zh}的分配，或把其他学科今晚没用完的时间让给{zh_subject}。",
            f"{en_subject} has no time tonight: {day_en}'s homework time goes to {others_en} ({whose_en}).{rule_en} "
            f"Ask the head teacher to change {day_en} under 'Homework time allocation', or to give another "
            f"subject's unused minutes tonight to {en_subject}.",
        )
    if reason == "share_used":
        return (
            f"今晚{zh_subject}的 {minutes:.0f} 分钟已经被已生成或已发布的{zh_subject}作业占用。"
            f"如需重新布置，请先撤销草稿；或请班主任在“作业时间分配”里给{zh_subject}更多时间。",
            f"Tonight's {minutes:.0f} minutes of {en_subject} are already taken by {en_subject} sets made or "
            f"published. To plan again, discard the drafts first, or ask the head teacher for more "
            f"{en_subject} time under 'Homework time allocation'.",
        )
    return (
        f"今晚的 {minutes:.0f} 分钟已经全部被其他学科（{others_zh}）占用，{zh_subject}没有剩余时间。"
        f"请与这些学科的老师或班主任协调。",
        f"Tonight's {minutes:.0f} minutes are all taken by other subjects ({others_en}); none is left for "
        f"{en_subject}. Talk to their teachers or the head teacher.",
    )


def class_evening(*, db: Engine, book: PolicyBook, class_id: str, night: date) -> ClassEvening:
    """Each student's evening across subjects: cap, each subject's minutes (the same typical and
    bound figures as every page and the API: service.policy.minutes.set_minutes of the stored sets),
    the subjects whose work is handed out tonight, an exemption, the reported time; and per subject,
    how many students have it handed out or drafted. An excused evening (T12) counts no minutes and
    no subject: its work is not to be done."""
    with db.connect() as conn:
        students = conn.execute(
            select(t.students.c.student_id, t.students.c.display_name)
            .where(t.students.c.class_id == class_id)
            .order_by(t.students.c.student_id)  # by pseudonymous id: an order that says nothing (R5)
        ).all()
        ids = [s.student_id for s in students]
        caps = dict(
            conn.execute(
                select(t.evening_ledger.c.student_id, t.evening_ledger.c.cap_minutes).where(
                    t.evening_ledger.c.student_id.in_(ids), t.evening_ledger.c.night == night
                )
            ).all()
        )
        sets = conn.execute(
            select(t.plans.c.student_id, t.plans.c.subject, t.plans.c.status, t.plans.c.typical_minutes,
                   t.plans.c.conservative_minutes)
            .where(t.plans.c.student_id.in_(ids), t.plans.c.night == night, t.plans.c.status.in_(SETS_ITEMS))
        ).all()  # fmt: skip
        exempt = set(
            conn.execute(
                select(t.exemptions.c.student_id).where(
                    t.exemptions.c.student_id.in_(ids), t.exemptions.c.night == night
                )
            ).scalars()
        )
        reported = reported_minutes(conn, ids, night, night)
        specs = {sid: evening_spec(conn, book, sid, night) for sid in ids if sid not in caps}
    minutes: dict[str, dict[str, SetMinutes]] = defaultdict(dict)
    handed: dict[str, set[str]] = defaultdict(set)
    drafted: dict[str, set[str]] = defaultdict(set)
    for p in sets:
        if p.student_id in exempt:  # an excused evening counts no minutes (T12)
            continue
        one = set_minutes(typical=p.typical_minutes, conservative=p.conservative_minutes)
        held = minutes[p.student_id]
        held[p.subject] = held[p.subject] + one if p.subject in held else one
        (handed if p.status in HANDED_OUT else drafted)[p.subject].add(p.student_id)
    rows = []
    for s in students:
        mine = minutes.get(s.student_id, {})
        whole = sum(mine.values(), SetMinutes(0.0, 0.0))
        rows.append(
            StudentEvening(
                student_id=s.student_id,
                display_name=s.display_name,
                cap_minutes=caps.get(s.student_id) or specs[s.student_id].cap_minutes,
                reserved_minutes={sub: m.bound for sub, m in sorted(mine.items())},
                planned_minutes={sub: m.typical for sub, m in sorted(mine.items())},
                exempt=s.student_id in exempt,
                reported_minutes=reported.get((s.student_id, night)),
                typical_minutes=whole.typical,
                bound_minutes=whole.bound,
                subjects=sorted(sub for sub, who in handed.items() if s.student_id in who),
            )
        )
    homework = [
        SubjectTonight(subject=sub, handed_out=len(handed.get(sub, ())), drafts=len(drafted.get(sub, set()) - handed.get(sub, set())))
        for sub in sorted(set(handed) | set(drafted))
    ]  # fmt: skip
    return ClassEvening(class_id=class_id, night=night, students=rows, homework=homework, excused=len(exempt))


def reported_minutes(
    conn: Connection, ids: Collection[str] | Select[Any], start: date, end: date
) -> dict[tuple[str, date], float]:
    """Real minutes of each evening: the student's or parent's report, else the time the answers
    recorded for that night. `ids`: the students, or a query selecting their ids (a district's)."""
    ids = ids if isinstance(ids, Select) else list(ids)
    found: dict[tuple[str, date], float] = {}
    for sid, night, seconds in conn.execute(
        select(t.attempts.c.student_id, t.attempts.c.night, func.sum(t.attempts.c.seconds))
        .where(t.attempts.c.student_id.in_(ids), t.attempts.c.night >= start, t.attempts.c.night <= end,
               t.attempts.c.seconds.is_not(None))
        .group_by(t.attempts.c.student_id, t.attempts.c.night)
    ):  # fmt: skip
        found[(sid, night)] = round(float(seconds) / 60.0, 1)
    for sid, night, minutes in conn.execute(
        select(t.evening_reports.c.student_id, t.evening_reports.c.night, t.evening_reports.c.minutes).where(
            t.evening_reports.c.student_id.in_(ids),
            t.evening_reports.c.night >= start,
            t.evening_reports.c.night <= end,
        )
    ):
        found[(sid, night)] = round(float(minutes), 1)  # a report says more than answers' times
    return found


def allocations(*, db: Engine, class_id: str, book: PolicyBook | None = None) -> Allocations:
    """The head teacher's split of the class's evenings, per weekday where one is set; with the
    policy `book`, also every weekday's split in force (set, else the school's default) in minutes."""
    weekdays: dict[int, dict[str, float]] = defaultdict(dict)
    with db.connect() as conn:
        for weekday, subject, weight in conn.execute(
            select(
                t.class_allocations.c.weekday, t.class_allocations.c.subject, t.class_allocations.c.weight
            ).where(t.class_allocations.c.class_id == class_id)
        ):
            weekdays[weekday][subject] = weight
        if book is None:
            return Allocations(class_id=class_id, weekdays=dict(sorted(weekdays.items())))
        grade, policy = class_policy(conn, book, class_id)
        taught = sorted(
            conn.execute(
                select(t.class_subjects.c.subject).where(t.class_subjects.c.class_id == class_id)
            ).scalars()
        )
    cap = evening_cap(policy, grade, None)
    in_force = {}
    for day in range(7):
        weights = weekdays.get(day) or default_weights(policy, grade, taught, day)
        in_force[day] = DaySplit(split="set" if day in weekdays else "default", weights=weights,
                                 minutes={s: round(m, 1) for s, m in split(cap, weights).items()})  # fmt: skip
    return Allocations(class_id=class_id, weekdays=dict(sorted(weekdays.items())), cap_minutes=cap,
                       in_force=in_force)  # fmt: skip


def class_students(*, db: Engine, class_id: str) -> list[str]:
    """The class's students by pseudonymous id (an order that says nothing, R5)."""
    with db.connect() as conn:
        return list(
            conn.execute(
                select(t.students.c.student_id)
                .where(t.students.c.class_id == class_id)
                .order_by(t.students.c.student_id)
            ).scalars()
        )


def class_subjects(*, db: Engine, class_id: str) -> list[str]:
    with db.connect() as conn:
        return sorted(
            conn.execute(
                select(t.class_subjects.c.subject).where(t.class_subjects.c.class_id == class_id)
            ).scalars()
        )


def set_allocation(
    *, db: Engine, book: PolicyBook, class_id: str, weekday: int, weights: Mapping[str, float]
) -> Allocations:
    """How the class's evenings on a weekday are split between subjects (T5; T1/T8 refused by name)."""
    try:
        _set_allocation(db, book, class_id, weekday, weights)
    except LedgerError as exc:
        raise _refused(exc) from None
    return allocations(db=db, class_id=class_id, book=book)


def release(
    *,
    db: Engine,
    book: PolicyBook,
    class_id: str,
    night: date,
    subject: str,
    to_subjects: Sequence[str],
    released_by: str,
    now: datetime,
) -> Released:
    """A subject's unused minutes tonight given to other subjects (this night only; the cap stays)."""
    try:
        moved = release_unused(
            db, book, class_id, night, subject, to_subjects, released_by=released_by, now=now
        )
    except LedgerError as exc:
        raise _refused(exc) from None
    return Released(class_id=class_id, night=night, subject=subject, minutes_moved=round(moved, 1))


def excuse(
    *, db: Engine, student_id: str, night: date, recorded_by: str, now: datetime, note: str | None = None
) -> ExemptionOut:
    """A parent excuses tonight's written work (家长签字免写); nothing moves to another night (T12)."""
    already = is_excused(db=db, student_id=student_id, night=night)
    if not already:
        record_exemption(db, student_id, night, recorded_by=recorded_by, now=now, note=note)
    with db.connect() as conn:
        kept = conn.execute(
            select(t.exemptions.c.note).where(
                t.exemptions.c.student_id == student_id, t.exemptions.c.night == night
            )
        ).scalar()
    return ExemptionOut(student_id=student_id, night=night, recorded=not already, note=kept)


def undo_excuse(*, db: Engine, student: StudentRef, night: date, now: datetime) -> ExemptionOut:
    """A parent's excuse taken back, on its own evening only (the school's today): the evening's work
    is to be done again. Later, the excused evening stays as recorded (T12: nothing moves)."""
    today = school_today(student.timezone, now)
    if night != today:
        raise Conflict(
            f"an excuse can be undone only on its own evening: {night} is not today ({today}) at the school",
            f"免写只能在当晚撤销：{night} 不是学校的今天（{today}）",
        )
    with writing(db) as conn:
        gone = conn.execute(
            delete(t.exemptions).where(
                t.exemptions.c.student_id == student.student_id, t.exemptions.c.night == night
            )
        ).rowcount
    return ExemptionOut(student_id=student.student_id, night=night, recorded=bool(gone), excused=False)


def stop_evening(
    *, db: Engine, book: PolicyBook, student: StudentRef, night: date, now: datetime, stopped_by: str
) -> StopOut:
    """作业熔断: the evening stops because its time is up — the cap reached by the real minutes of
    tonight's answers (or the evening's report), or the policy's bedtime passed. What is left is
    recorded as not done because time ran out: no answer, no error-book entry, not carried to another
    night (T12), and kept for the time model as a censored observation. Refused while time is left
    (a parent may excuse the evening instead) and on an excused evening; stopping twice records once."""
    sid = student.student_id
    with writing(db) as conn:
        done = conn.execute(
            select(t.evening_stops).where(
                t.evening_stops.c.student_id == sid, t.evening_stops.c.night == night
            )
        ).first()
        if done is not None:
            kept = conn.execute(
                select(t.time_outs.c.item_id)
                .where(t.time_outs.c.student_id == sid, t.time_outs.c.night == night)
                .order_by(t.time_outs.c.item_id)
            ).scalars()
            return StopOut(student_id=sid, night=night, reason=done.reason, minutes_spent=done.minutes_spent,
                           items_left=list(kept), recorded=False)  # fmt: skip
        if is_exempt(conn, sid, night):
            raise Conflict(
                f"the evening of {night} is excused (T12): there is nothing to stop",
                f"{night} 晚上已免写（T12），没有需要停止的作业",
            )
        spent, cap, bedtime, reason = _time_up(conn, book, student, night, now)
        if reason is None:
            until = f"，就寝时间 {bedtime}" if bedtime else ""
            until_en = f", bedtime {bedtime}" if bedtime else ""
            raise Conflict(
                f"tonight's time is not up yet: {spent:g} of {cap:g} minutes spent{until_en}. To skip the rest "
                "tonight a parent can excuse the evening (T12)",
                f"今晚的时间还没有用完：已用 {spent:g} 分钟，上限 {cap:g} 分钟{until}。"
                "如果今晚不再做，可以由家长签字免写（T12）",
            )
        rows = conn.execute(
            select(t.plans.c.plan_id, t.plan_items.c.item_id)
            .join(t.plan_items, t.plan_items.c.plan_id == t.plans.c.plan_id)
            .where(
                t.plans.c.student_id == sid,
                t.plans.c.night == night,
                t.plans.c.status.in_(("published", "done")),
            )
        ).all()
        answered = set(
            conn.execute(
                select(t.attempts.c.item_id).where(
                    t.attempts.c.student_id == sid, t.attempts.c.night == night
                )
            ).scalars()
        )
        left = sorted({(r.item_id, r.plan_id) for r in rows if r.item_id not in answered})
        conn.execute(insert(t.evening_stops).values(student_id=sid, night=night, reason=reason, minutes_spent=spent,
                                                    stopped_by=stopped_by, stopped_at=now))  # fmt: skip
        if left:
            conn.execute(
                insert(t.time_outs),
                [{"student_id": sid, "night": night, "item_id": item_id, "plan_id": plan_id, "censored": True,
                  "seconds_at_least": None} for item_id, plan_id in left],
            )  # fmt: skip
    return StopOut(student_id=sid, night=night, reason=reason, minutes_spent=spent,
                   items_left=[i for i, _ in left], recorded=True)  # fmt: skip


Stop = Literal["cap", "bedtime"]


def time_up(*, db: Engine, book: PolicyBook, student: StudentRef, night: date, now: datetime) -> Stop | None:
    """Why the evening's time is up at `now` ("cap": the real minutes reached the cap; "bedtime"), or None."""
    with db.connect() as conn:
        return _time_up(conn, book, student, night, now)[3]


def _time_up(
    conn: Connection, book: PolicyBook, student: StudentRef, night: date, now: datetime
) -> tuple[float, float, str | None, Stop | None]:
    """(real minutes spent, the cap, the bedtime, why the time is up or None) of the evening at `now`."""
    sid = student.student_id
    seconds = conn.execute(
        select(func.sum(t.attempts.c.seconds)).where(
            t.attempts.c.student_id == sid, t.attempts.c.night == night
        )
    ).scalar()
    report = conn.execute(
        select(t.evening_reports.c.minutes).where(
            t.evening_reports.c.student_id == sid, t.evening_reports.c.night == night
        )
    ).scalar()
    spent = round(max(float(seconds or 0) / 60.0, float(report or 0.0)), 1)
    cap = conn.execute(
        select(t.evening_ledger.c.cap_minutes).where(
            t.evening_ledger.c.student_id == sid, t.evening_ledger.c.night == night
        )
    ).scalar()
    if cap is None:
        cap = evening_spec(conn, book, sid, night).cap_minutes
    bedtime = book(student.policy_name).bedtime(student.grade)
    past_bedtime = False
    if bedtime is not None:
        hours, minutes = map(int, bedtime.split(":"))
        past_bedtime = now >= datetime.combine(night, time(hours, minutes), tzinfo=ZoneInfo(student.timezone))
    reason: Stop | None = "cap" if spent + 1e-9 >= cap else "bedtime" if past_bedtime else None
    return spent, cap, bedtime, reason


def is_excused(*, db: Engine, student_id: str, night: date) -> bool:
    with db.connect() as conn:
        return is_exempt(conn, student_id, night)


def report_evening(
    *, db: Engine, student_id: str, night: date, minutes: float, reported_by: str, now: datetime
) -> dict[str, object]:
    """The real time of an evening, as the student or a parent reports it (R4); a new report replaces
    one. Archived (R2) in the same transaction: a replaced report stays in the archive."""
    with writing(db) as conn:
        conn.execute(
            delete(t.evening_reports).where(
                t.evening_reports.c.student_id == student_id, t.evening_reports.c.night == night
            )
        )
        conn.execute(
            insert(t.evening_reports).values(
                student_id=student_id, night=night, minutes=minutes, reported_by=reported_by, reported_at=now
            )
        )
        archive_evening_report(conn, student_id=student_id, night=night, minutes=minutes,
                               reported_by=reported_by, now=now)  # fmt: skip
    return {"student_id": student_id, "night": str(night), "minutes": minutes}


def weekly_notice(
    *, db: Engine, book: PolicyBook, class_id: str, week_of: date, now: datetime | None = None
) -> Notice:
    """The week's public notice: per day and subject the class's average minutes and items, and the
    cap. Averages only: no individual data (R3). The minutes are the sets' typical figures as every
    page shows them (service.policy.minutes.set_minutes); an excused evening's set counts nowhere
    (T12). Each notice produced is archived (R2), once for as long as it says the same (`now`: when;
    default the clock)."""
    monday = week_of - timedelta(days=week_of.weekday())
    with db.connect() as conn:
        grade, policy = class_policy(conn, book, class_id)
        rows = conn.execute(
            select(t.plans.c.night, t.plans.c.subject, t.plans.c.student_id, t.plans.c.typical_minutes,
                   t.plans.c.conservative_minutes, func.count(t.plan_items.c.item_id).label("items"))
            .join(t.students, t.students.c.student_id == t.plans.c.student_id)
            .join(t.plan_items, t.plan_items.c.plan_id == t.plans.c.plan_id)
            .where(t.students.c.class_id == class_id, t.plans.c.status.in_(HANDED_OUT),
                   t.plans.c.night >= monday, t.plans.c.night <= monday + timedelta(days=6),
                   ~_excused_plan())
            .group_by(t.plans.c.plan_id, t.plans.c.night, t.plans.c.subject, t.plans.c.student_id,
                      t.plans.c.typical_minutes, t.plans.c.conservative_minutes)
        ).all()  # fmt: skip
        size = conn.execute(select(func.count()).where(t.students.c.class_id == class_id)).scalar_one()
    days = []
    per = max(size, 1)
    for k in range(7):
        night = monday + timedelta(days=k)
        today = [r for r in rows if r.night == night]
        by_subject: dict[str, float] = defaultdict(float)
        for r in today:
            by_subject[r.subject] += set_minutes(
                typical=r.typical_minutes, conservative=r.conservative_minutes
            ).typical
        days.append(
            NoticeDay(
                night=night,
                subjects={s: round(m / per, 1) for s, m in sorted(by_subject.items())},
                total_minutes=round(sum(by_subject.values()) / per, 1),
                items=round(sum(r.items for r in today) / per, 1),
            )
        )
    notice = Notice(
        class_id=class_id,
        week_of=monday,
        days=days,
        cap_minutes=evening_cap(policy, grade, None),
        sets_handed_out=len(rows),
    )
    if rows:  # a week with homework (not any date asked for; a small average can round to 0)
        _archive_quietly(db, kind=WEEKLY_NOTICE, topic=f"notice/{class_id}/{monday.isoformat()}",
                         public=notice.model_dump(mode="json"), now=now or datetime.now(UTC))  # fmt: skip
    return notice


def _excused_plan() -> Any:
    """Whether a plan's evening was excused by a parent (T12): its work counts nowhere."""
    return (
        select(t.exemptions.c.student_id)
        .where(t.exemptions.c.student_id == t.plans.c.student_id, t.exemptions.c.night == t.plans.c.night)
        .exists()
    )


def _archive_quietly(db: Engine, **entry: Any) -> None:
    """Archive what a read produced (R2) without making the read depend on it: a read is answered
    even if the archive cannot be written now (SQLite's write lock held past the writers' wait by a
    long import, say); it is archived the next time it is read."""
    try:
        append_once(db, **entry)
    except OperationalError:
        log.warning("could not archive %s now; it will be archived when read again", entry.get("kind"))


MAX_BURDEN_DAYS = 92


def burden(
    *, db: Engine, book: PolicyBook, class_id: str, start: date, end: date, now: datetime | None = None
) -> Burden:
    """Per day: the class's average estimated minutes, the average reported, how many reported, and
    who was over their cap by the report (for the head teacher to act on; never ranked). Each report
    produced is archived (R2), once for as long as it says the same: the class's figures in the
    public part, each flagged student's nights in that student's own part (erased with them)."""
    if end < start or (end - start).days > MAX_BURDEN_DAYS:
        raise Invalid(
            f"'to' must be on or after 'from', at most {MAX_BURDEN_DAYS} days later",
            f"结束日期必须不早于开始日期，且最多相隔 {MAX_BURDEN_DAYS} 天",
        )
    with db.connect() as conn:
        grade, policy = class_policy(conn, book, class_id)
        students = conn.execute(
            select(t.students.c.student_id, t.students.c.personal_cap_minutes).where(
                t.students.c.class_id == class_id
            )
        ).all()
        ids = [s.student_id for s in students]
        caps = {s.student_id: evening_cap(policy, grade, s.personal_cap_minutes) for s in students}
        planned: dict[tuple[str, date], float] = defaultdict(float)
        for sid, night, minutes in conn.execute(
            select(t.plans.c.student_id, t.plans.c.night, t.plans.c.typical_minutes).where(
                t.plans.c.student_id.in_(ids),
                t.plans.c.night >= start,
                t.plans.c.night <= end,
                t.plans.c.status.in_(HANDED_OUT),
            )
        ):
            planned[(sid, night)] += minutes
        reported = reported_minutes(conn, ids, start, end)
    days = []
    night = start
    while night <= end:
        est = [m for (_, n), m in planned.items() if n == night]
        real = {sid: m for (sid, n), m in reported.items() if n == night}
        over = sorted(sid for sid, m in real.items() if over_cap(m, caps[sid]))
        days.append(
            BurdenDay(
                night=night,
                cap_minutes=evening_cap(policy, grade, None),
                estimated_minutes=round(statistics.fmean(est), 1) if est else 0.0,
                reported_minutes=round(statistics.fmean(real.values()), 1) if real else None,
                reports=len(real),
                over_cap=len(over),
                over_cap_students=over,
            )
        )
        night += timedelta(days=1)
    report = Burden(class_id=class_id, days=days, flagged=any(d.over_cap for d in days))
    _archive_burden(db, report, start, end, now or datetime.now(UTC))
    return report


def over_cap(minutes: float, cap: float) -> bool:
    """An evening over its cap (R4): the one test the head teacher's burden and the district's share."""
    return minutes > cap + 1e-9


ARCHIVE_MIN_REPORTS = 3  # fewer reports of a night: its average reported minutes are not archived


def _archive_burden(db: Engine, report: Burden, start: date, end: date, now: datetime) -> None:
    public = report.model_dump(mode="json")
    nights: dict[str, list[str]] = defaultdict(list)
    for day in public["days"]:
        for sid in day.pop("over_cap_students"):
            nights[sid].append(day["night"])
        if day["reports"] < ARCHIVE_MIN_REPORTS:  # an average of one or two reports is a student's own
            day["reported_minutes"] = None  # minutes: that stays out of the part no erasure can reach
    parts = [Part(sid, {"student_id": sid, "over_cap_nights": ns}) for sid, ns in sorted(nights.items())]
    if not any(day["reports"] or day["estimated_minutes"] for day in public["days"]):
        return  # nothing in it: not every range anyone asks for becomes an entry
    _archive_quietly(db, kind=BURDEN_REPORT, topic=f"burden/{report.class_id}/{start.isoformat()}/{end.isoformat()}",
                     public=public, parts=parts, now=now)  # fmt: skip
