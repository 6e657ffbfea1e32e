"""Records of what students did: answers in idempotent batches (a wrong one opens an error-book
entry, R1; a right one closes it) and the error book (错题本).

Plain functions with keyword-only arguments, called by the API's routes and the pages alike after
their permission checks (service.access); a refusal is a service.errors exception.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import Engine, select

from service.errors import Invalid, NotAllowed, NotFound
from service.schemas import AttemptIn, AttemptsStored, ErrorBookEntry, ItemOut, ItemPoint
from service.store import tables as t
from service.store.attempts import Answer, AnswerError, record_answers


def record(
    *, db: Engine, student_id: str, answers: Sequence[AttemptIn], subjects: Collection[str] | None = None
) -> AttemptsStored:
    """A batch of a student's answers, stored whole or not at all, each once by its event id.
    `subjects`: the only subjects the caller may record answers in (a subject teacher's), else any."""
    if subjects is not None:
        _refuse_other_subjects(db, [a.item_id for a in answers], subjects)
    batch = [
        Answer(a.event_id, a.item_id, a.night, a.submitted_at, a.correct, a.seconds, a.score, a.source)
        for a in answers
    ]
    try:
        result = record_answers(db, student_id, batch)
    except AnswerError as exc:
        first = exc.problems[0]
        raise Invalid(f"{first['pointer']}: {first['detail']}",
                      errors=[{"in": "body", **p} for p in exc.problems]) from None  # fmt: skip
    return AttemptsStored(**result)


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
