"""Records of what students did: answers in idempotent batches (a wrong one opens an error-book
entry, R1; a right one closes it) and the error book (错题本).

Plain functions with keyword-only arguments, called by the API's routes and the pages alike after
their permission checks (service.access); a refusal is a service.errors exception.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import Engine, select

from service import grading
from service.access import StudentRef
from service.errors import Invalid, NotAllowed, NotFound
from service.schemas import (
    AttemptIn,
    AttemptsStored,
    BookItem,
    BookPoint,
    BookSubject,
    ErrorBookByPoint,
    ErrorBookEntry,
    GradedOut,
    ItemOut,
    ItemPoint,
)
from service.store import tables as t
from service.store.attempts import Answer, AnswerError, record_answers


def record(
    *, db: Engine, student_id: str, answers: Sequence[AttemptIn], subjects: Collection[str] | None = None
) -> AttemptsStored:
    """A batch of a student's answers, stored whole or not at all, each once by its event id.
    `subjects`: the only subjects the caller may record answers in (a subject teacher's), else any."""
    if subjects is not None:
        _refuse_other_subjects(db, [a.item_id for a in answers], subjects)
    batch = _judged(db, answers)
    try:
        result = record_answers(db, student_id, batch)
    except AnswerError as exc:
        first = exc.problems[0]
        raise Invalid(f"{first['pointer']}: {first['detail']}",
                      errors=[{"in": "body", **p} for p in exc.problems]) from None  # fmt: skip
    typed = [a.event_id for a in answers if a.answer is not None]
    return AttemptsStored(**result, graded=_graded(db, student_id, typed))


def _judged(db: Engine, answers: Sequence[AttemptIn]) -> list[Answer]:
    """Each answer as stored: a typed one graded on the server (service.grading; refused, naming the
    answer and the field, when its item is not graded or the text is empty or too long), one with
    `correct` a self-report (the app's) or a teacher's mark (on paper or by a teacher)."""
    keys: dict[str, tuple[str, str | None, str]] = {}
    typed_items = sorted({a.item_id for a in answers if a.answer is not None})
    if typed_items:
        with db.connect() as conn:
            keys = {r.item_id: (r.kind, r.answer, r.stem) for r in conn.execute(
                select(t.items.c.item_id, t.items.c.kind, t.items.c.answer, t.items.c.stem)
                .where(t.items.c.item_id.in_(typed_items)))}  # fmt: skip
    out = []
    for k, a in enumerate(answers):
        common = (a.event_id, a.item_id, a.night, a.submitted_at)
        if a.answer is None:
            source = "self_report" if a.source == "app" else "teacher"
            out.append(Answer(*common, bool(a.correct), a.seconds, a.score, a.source, answer_source=source))
            continue
        pointer = f"/attempts/{k}/answer"
        if a.item_id not in keys:  # no such item: record_answers refuses it, naming it, and stores nothing
            out.append(Answer(*common, False, a.seconds, a.score, a.source))
            continue
        kind, key, stem = keys[a.item_id]
        if key is None or not grading.gradable(kind, key):
            raise Invalid(
                f"{pointer}: {a.item_id} is not graded on the server ({kind} work): send `correct` as the "
                "student or parent reports it",
                f"{pointer}：{a.item_id} 不能由系统批改（{kind}），请由学生或家长报告做对或做错（correct）",
                errors=[{"in": "body", "pointer": pointer, "detail": "not graded on the server"}],
            )
        try:
            graded = grading.grade(key=key, typed=a.answer, stem=stem)
        except grading.BadAnswer as exc:
            raise Invalid(f"{pointer}: {exc.en}", f"{pointer}：{exc.zh}",
                          errors=[{"in": "body", "pointer": pointer, "detail": exc.en}]) from None  # fmt: skip
        out.append(Answer(*common, graded.correct, a.seconds, a.score, a.source, answer_source="graded",
                          typed=graded.typed[:100]))  # fmt: skip
    return out


def _graded(db: Engine, student_id: str, event_ids: list[str]) -> list[GradedOut]:
    """The stored result of each typed answer (a re-sent one: as it was graded the first time)."""
    if not event_ids:
        return []
    with db.connect() as conn:
        found = {r.event_id: r for r in conn.execute(
            select(t.attempts.c.event_id, t.attempts.c.item_id, t.attempts.c.correct)
            .where(t.attempts.c.event_id.in_(event_ids), t.attempts.c.student_id == student_id))}  # fmt: skip
    return [GradedOut(event_id=e, item_id=found[e].item_id, correct=bool(found[e].correct))
            for e in event_ids if e in found]  # fmt: skip


def _refuse_other_subjects(db: Engine, item_ids: list[str], subjects: Collection[str]) -> None:
    with db.connect() as conn:
        subject_of = dict(
            conn.execute(
                select(t.items.c.item_id, t.items.c.subject).where(t.items.c.item_id.in_(item_ids))
            ).all()
        )
    wrong = [(n, i) for n, i in enumerate(item_ids) if i in subject_of and subject_of[i] not in subjects]
    if wrong:
        _, item = wrong[0]
        mine = ", ".join(sorted(subjects))
        raise NotAllowed(
            f"{item} is a {subject_of[item]} item; this account records answers in {mine} only",
            f"{item} 是{subject_of[item]}题目；这个账号只能记录{mine}的作答",
            errors=[
                {"in": "body", "pointer": f"/attempts/{k}/item_id", "detail": "another subject"}
                for k, _ in wrong
            ],
        )


def error_book(
    *, db: Engine, student_id: str, include_resolved: bool = False, subjects: Collection[str] | None = None
) -> list[ErrorBookEntry]:
    """Open entries first (oldest first), then, if asked, the resolved ones; with `subjects`, only
    entries of those subjects (what a subject teacher sees)."""
    query = (
        select(t.error_book, t.items.c.subject)
        .join(t.items, t.items.c.item_id == t.error_book.c.item_id)
        .where(t.error_book.c.student_id == student_id)
    )
    if subjects is not None:
        query = query.where(t.items.c.subject.in_(sorted(subjects)))
    if not include_resolved:
        query = query.where(t.error_book.c.resolved_at.is_(None))
    with db.connect() as conn:
        rows = conn.execute(query).all()
        kps: dict[str, list[str]] = {}
        for item_id, kp in conn.execute(
            select(t.item_kps.c.item_id, t.item_kps.c.kp_id)
            .where(t.item_kps.c.item_id.in_(sorted({r.item_id for r in rows})))
            .order_by(t.item_kps.c.item_id, t.item_kps.c.position)
        ):
            kps.setdefault(item_id, []).append(kp)
    rows = sorted(rows, key=lambda r: (r.resolved_at is not None, r.created_at, r.entry_id))
    return [
        ErrorBookEntry(entry_id=r.entry_id, item_id=r.item_id, subject=r.subject, kps=kps.get(r.item_id, []),
                       created_at=r.created_at, resolved_at=r.resolved_at, error_type=r.error_type)
        for r in rows
    ]  # fmt: skip


def error_book_by_point(
    *,
    db: Engine,
    student: StudentRef,
    include_resolved: bool = True,
    subjects: Collection[str] | None = None,
) -> ErrorBookByPoint:
    """The error book grouped by subject and main knowledge point (by name), each entry with its
    question, when it went wrong and whether it has been right since; only items of the student's
    grade and their class's subjects (and of `subjects`, a subject teacher's, if given). Open entries
    first within a point, oldest first. With `include_resolved`, entries since answered right too."""
    with db.connect() as conn:
        taught = set(
            conn.execute(
                select(t.class_subjects.c.subject).where(t.class_subjects.c.class_id == student.class_id)
            ).scalars()
        )
        if subjects is not None:
            taught &= set(subjects)
        query = (
            select(t.error_book.c.entry_id, t.error_book.c.item_id, t.error_book.c.created_at,
                   t.error_book.c.resolved_at, t.items.c.subject, t.items.c.stem,
                   t.knowledge_points.c.kp_id, t.knowledge_points.c.name)
            .join(t.items, t.items.c.item_id == t.error_book.c.item_id)
            .join(t.item_kps, (t.item_kps.c.item_id == t.items.c.item_id) & (t.item_kps.c.position == 0))
            .join(t.knowledge_points, t.knowledge_points.c.kp_id == t.item_kps.c.kp_id)
            .where(t.error_book.c.student_id == student.student_id, t.items.c.grade == student.grade,
                   t.items.c.subject.in_(sorted(taught)))
        )  # fmt: skip
        if not include_resolved:
            query = query.where(t.error_book.c.resolved_at.is_(None))
        rows = conn.execute(query).all()
    grouped: dict[str, dict[tuple[str, str], list[BookItem]]] = {}
    for r in sorted(rows, key=lambda r: (r.resolved_at is not None, r.created_at, r.entry_id)):
        grouped.setdefault(r.subject, {}).setdefault((r.kp_id, r.name), []).append(
            BookItem(
                entry_id=r.entry_id,
                item_id=r.item_id,
                stem=r.stem,
                went_wrong=r.created_at,
                right_since=r.resolved_at,
            )
        )
    return ErrorBookByPoint(
        student_id=student.student_id,
        display_name=student.display_name,
        open_entries=sum(1 for r in rows if r.resolved_at is None),
        subjects=[
            BookSubject(
                subject=subject,
                points=[
                    BookPoint(kp_id=kp, name=name, entries=entries)
                    for (kp, name), entries in sorted(points.items())
                ],
            )
            for subject, points in sorted(grouped.items())
        ],
    )


def item_texts(*, db: Engine, item_ids: Sequence[str]) -> dict[str, str]:
    """The question text of each item (what a student's page and a worksheet show)."""
    with db.connect() as conn:
        rows = conn.execute(
            select(t.items.c.item_id, t.items.c.stem).where(t.items.c.item_id.in_(list(item_ids)))
        )
        return {item_id: stem for item_id, stem in rows}


def item(*, db: Engine, item_id: str, with_answer: bool) -> ItemOut:
    """One item of the bank: its text, kind, knowledge points (by name) and the author's minutes;
    its answer only `with_answer` (a teacher of its subject: service.access.see_item says who)."""
    with db.connect() as conn:
        row = conn.execute(select(t.items).where(t.items.c.item_id == item_id)).first()
        if row is None:
            raise NotFound("item", item_id)
        points = conn.execute(
            select(t.knowledge_points.c.kp_id, t.knowledge_points.c.name)
            .join(t.item_kps, t.item_kps.c.kp_id == t.knowledge_points.c.kp_id)
            .where(t.item_kps.c.item_id == item_id)
            .order_by(t.item_kps.c.position)
        ).all()
    return ItemOut(item_id=row.item_id, subject=row.subject, grade=row.grade, kind=row.kind, stem=row.stem,
                   points=[ItemPoint(kp_id=p.kp_id, name=p.name) for p in points], needs_parent=row.needs_parent,
                   estimated_minutes=row.est_minutes, answer=row.answer if with_answer else None)  # fmt: skip
