"""What an evening holds before anything is booked on it, and the head teacher's and parents' say
in it: a class's policy, each student's evening spec (the cap and every subject's share, from the
school policy, the student's own cap, the calendar and the head teacher's split), the split itself
per weekday (班主任协调), releasing a subject's unused share to others tonight, and a parent's
exemption (T12).

The reservation engine that books minutes against these evenings is service.policy.ledger.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from models.schema import SUBJECTS
from service.policy.budget import day_type, default_weights, evening_cap, split
from service.policy.ledger import (
    EPS,
    EveningSpec,
    LedgerError,
    insert_missing,
    open_evenings,
    share_where,
)
from service.policy.policy import Policy, PolicyOf
from service.store import tables as t
from service.store.db import writing
from service.store.queries import StudentPlace, class_members, class_place, student_places


def evening_spec(conn: Connection, policy_of: PolicyOf, student_id: str, night: date) -> EveningSpec:
    """The cap and subject shares of a student's evening, from the database and the school policy.
    Performance is not an input (T11)."""
    return evening_specs(conn, policy_of, [student_id], night)[student_id]


def evening_specs(
    conn: Connection,
    policy_of: PolicyOf,
    students: Sequence[str] | Sequence[StudentPlace],
    night: date,
) -> dict[str, EveningSpec]:
    """evening_spec() of several students (a class) for one night, with one query per kind of fact:
    where they belong (unless their places are given), their schools' calendar, their classes'
    splits (and the subjects of a class without one)."""
    places = _places(conn, students)
    calendars: dict[str, dict[date, str]] = {}
    for school_id, day, kind in conn.execute(
        select(t.calendar_days.c.school_id, t.calendar_days.c.day, t.calendar_days.c.day_type).where(
            t.calendar_days.c.school_id.in_(sorted({p.school_id for p in places})),
            t.calendar_days.c.day == night,
        )
    ):
        calendars.setdefault(school_id, {})[day] = kind
    classes = {p.class_id: (p.grade, policy_of(p.policy_name)) for p in places}
    weights = class_weights(conn, classes, night)
    out = {}
    for p in places:
        policy = policy_of(p.policy_name)
        cap = evening_cap(policy, p.grade, p.personal_cap_minutes)
        kind = day_type(calendars.get(p.school_id, {}), night)
        out[p.student_id] = EveningSpec(p.student_id, night, kind, cap, split(cap, weights[p.class_id]))
    return out


def _places(conn: Connection, students: Sequence[str] | Sequence[StudentPlace]) -> list[StudentPlace]:
    given = [s for s in students if isinstance(s, StudentPlace)]
    if len(given) == len(students):
        return given
    ids = [s if isinstance(s, str) else s.student_id for s in students]
    found = student_places(conn, ids)
    missing = [s for s in ids if s not in found]
    if missing:
        raise LedgerError(f"没有学生 {', '.join(missing)}", f"no student {', '.join(missing)}")
    return [found[s] for s in ids]


def class_weights(
    conn: Connection, classes: Mapping[str, tuple[int, Policy]], night: date
) -> dict[str, dict[str, float]]:
    """Per class (class -> its grade and policy): the head teacher's split on the night's weekday,
    else the school's default for the class's subjects."""
    weekday = night.weekday()
    out: dict[str, dict[str, float]] = {c: {} for c in classes}
    for class_id, subject, weight in conn.execute(
        select(
            t.class_allocations.c.class_id, t.class_allocations.c.subject, t.class_allocations.c.weight
        ).where(t.class_allocations.c.class_id.in_(sorted(classes)), t.class_allocations.c.weekday == weekday)
    ):
        out[class_id][subject] = weight
    unsplit = sorted(c for c, w in out.items() if not w)
    if unsplit:
        subjects: dict[str, list[str]] = {c: [] for c in unsplit}
        for class_id, subject in conn.execute(
            select(t.class_subjects.c.class_id, t.class_subjects.c.subject)
            .where(t.class_subjects.c.class_id.in_(unsplit))
            .order_by(t.class_subjects.c.class_id, t.class_subjects.c.subject)
        ):
            subjects[class_id].append(subject)
        for class_id in unsplit:
            grade, policy = classes[class_id]
            out[class_id] = default_weights(policy, grade, subjects[class_id], weekday)
    return out


def class_policy(conn: Connection, policy_of: PolicyOf, class_id: str) -> tuple[int, Policy]:
    row = class_place(conn, class_id)
    if row is None:
        raise LedgerError(f"没有班级 {class_id}", f"no class {class_id}")
    return row.grade, policy_of(row.policy_name)


def _too_many_subjects(grade: int, policy: Policy, subjects: Iterable[str]) -> LedgerError | None:
    limit = policy.subjects_per_evening(grade)
    subjects = sorted(set(subjects))
    if limit is None or len(subjects) <= limit:
        return None
    rule = "T1" if grade <= 2 else "T8"
    return LedgerError(
        f"{grade}年级每晚最多 {limit} 门学科有作业，这样会有 {len(subjects)} 门（{'、'.join(SUBJECTS.get(s, s) for s in subjects)}）：请减少到 {limit} 门",
        f"grade {grade} gets homework from at most {limit} subject(s) per evening; this gives {len(subjects)} ({', '.join(subjects)}): keep {limit}",
        rule,
    )


def set_allocation(
    engine: Engine, policy_of: PolicyOf, class_id: str, weekday: int, weights: Mapping[str, float]
) -> None:
    """The head teacher's split of this class's evenings on one weekday (from the next evening
    opened). It may name no more subjects than the policy allows per evening (T1, T8), so the
    guarded shares keep that rule even when teachers book at the same moment."""
    if not 0 <= weekday <= 6:
        raise LedgerError(f"星期 {weekday} 不在 0-6 之间", f"weekday {weekday} is not within 0-6")
    bad = [s for s, w in weights.items() if not w > 0]
    if bad or not weights:
        raise LedgerError(
            f"每门学科的份额必须大于 0：{', '.join(bad) or '（空）'}",
            f"every subject's weight must be above 0: {', '.join(bad) or '(none given)'}",
        )
    with writing(engine) as conn:
        grade, policy = class_policy(conn, policy_of, class_id)
        taught = set(
            conn.execute(
                select(t.class_subjects.c.subject).where(t.class_subjects.c.class_id == class_id)
            ).scalars()
        )
        strangers = sorted(set(weights) - taught)
        if strangers:
            raise LedgerError(
                f"{class_id} 不上这些学科：{', '.join(strangers)}（本班学科：{', '.join(sorted(taught))}）",
                f"{class_id} has no such subjects: {', '.join(strangers)} (its subjects: {', '.join(sorted(taught))})",
            )
        problem = _too_many_subjects(grade, policy, weights)
        if problem:
            raise problem
        conn.execute(
            delete(t.class_allocations).where(
                t.class_allocations.c.class_id == class_id, t.class_allocations.c.weekday == weekday
            )
        )
        conn.execute(
            insert(t.class_allocations),
            [
                {"class_id": class_id, "weekday": weekday, "subject": s, "weight": w}
                for s, w in weights.items()
            ],
        )


def class_students(conn: Connection, class_id: str) -> list[str]:
    return list(
        conn.execute(
            select(t.students.c.student_id)
            .where(t.students.c.class_id == class_id)
            .order_by(t.students.c.student_id)
        ).scalars()
    )


def release_unused(
    engine: Engine,
    policy_of: PolicyOf,
    class_id: str,
    night: date,
    subject: str,
    to_subjects: Sequence[str],
    *,
    released_by: str,
    now: datetime,
) -> float:
    """The head teacher gives what `subject` has not reserved tonight to other subjects, for every
    student of the class. Only that night's shares move; the cap does not, and nothing is carried
    to another night. The subjects with a share tonight stay within the policy's limit (T1, T8).
    Returns the minutes moved, summed over the students."""
    targets = [s for s in dict.fromkeys(to_subjects) if s != subject]
    if not targets:
        raise LedgerError("请指定接收时间的其他学科", "name the other subject(s) that receive the minutes")
    with engine.connect() as conn:
        grade, policy = class_policy(conn, policy_of, class_id)
        specs = list(evening_specs(conn, policy_of, class_members(conn, class_id), night).values())
    moved = 0.0
    with writing(engine) as conn:
        open_evenings(conn, specs)  # a write first
        # Lock the class's shares tonight before looking at them, in one order (student, subject):
        # a booking cannot slip in between the check and the move, and two releases cannot deadlock.
        conn.execute(
            select(t.evening_subjects.c.student_id)
            .where(
                t.evening_subjects.c.night == night,
                t.evening_subjects.c.student_id.in_([s.student_id for s in specs]),
            )
            .order_by(t.evening_subjects.c.student_id, t.evening_subjects.c.subject)
            .with_for_update()
        ).all()
        shares = conn.execute(
            select(
                t.evening_subjects.c.subject,
                func.max(t.evening_subjects.c.allowance_minutes).label("allowance"),
                func.max(t.evening_subjects.c.reserved_minutes).label("reserved"),
            )
            .where(
                t.evening_subjects.c.night == night,
                t.evening_subjects.c.student_id.in_([s.student_id for s in specs]),
            )
            .group_by(t.evening_subjects.c.subject)
        ).all()
        staying = {
            r.subject for r in shares if r.allowance > EPS and (r.subject != subject or r.reserved > EPS)
        }
        problem = _too_many_subjects(grade, policy, staying | set(targets))
        if problem:
            raise problem
        for spec in sorted(specs, key=lambda s: s.student_id):  # one lock order: no deadlocks
            where = share_where(spec.student_id, spec.night, subject)
            row = conn.execute(
                select(t.evening_subjects.c.allowance_minutes, t.evening_subjects.c.reserved_minutes)
                .where(where)
                .with_for_update()
            ).first()
            if row is None:
                continue
            free = row.allowance_minutes - row.reserved_minutes
            if free <= EPS:
                continue
            conn.execute(
                update(t.evening_subjects)
                .where(where)
                .values(allowance_minutes=t.evening_subjects.c.reserved_minutes)
            )
            insert_missing(
                conn,
                t.evening_subjects,
                [
                    {
                        "student_id": spec.student_id,
                        "night": spec.night,
                        "subject": s,
                        "allowance_minutes": 0.0,
                        "reserved_minutes": 0.0,
                    }
                    for s in targets
                ],
            )
            for s in targets:
                conn.execute(
                    update(t.evening_subjects)
                    .where(share_where(spec.student_id, spec.night, s))
                    .values(allowance_minutes=t.evening_subjects.c.allowance_minutes + free / len(targets))
                )
            moved += free
        conn.execute(
            insert(t.allocation_releases).values(
                class_id=class_id,
                night=night,
                from_subject=subject,
                to_subjects=",".join(targets),
                minutes=moved,
                released_by=released_by,
                released_at=now,
            )
        )
    return moved


def record_exemption(
    engine: Engine, student_id: str, night: date, *, recorded_by: str, now: datetime, note: str | None = None
) -> None:
    """A parent's signature excusing tonight's written work (T12). Nothing moves to another night."""
    with writing(engine) as conn:
        insert_missing(
            conn,
            t.exemptions,
            [
                {
                    "student_id": student_id,
                    "night": night,
                    "recorded_by": recorded_by,
                    "recorded_at": now,
                    "note": note,
                }
            ],
        )


def is_exempt(conn: Connection, student_id: str, night: date) -> bool:
    return (
        conn.execute(
            select(t.exemptions.c.student_id).where(
                t.exemptions.c.student_id == student_id, t.exemptions.c.night == night
            )
        ).first()
        is not None
    )
