"""A guardian's request to delete a student's data, carried out in one transaction: every row about
the student goes (answers, error book, plans and their items, the evening ledger, exemptions, reports,
the student's own accounts and the parents' links to them, the student), and only the sha256 of the
pseudonymous id stays in `erasures`, so that a later import leaves the student out and no export can
contain them. The answer says what was removed, table by table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from service.store import tables as t
from service.store.accounts import delete_student_accounts
from service.store.db import writing
from service.store.importer import erased_hash


class NoSuchStudent(LookupError):
    pass


def erase_student(engine: Engine, student_id: str, *, requested_by: str, now: datetime) -> dict[str, Any]:
    removed: dict[str, int] = {}
    with writing(engine) as conn:
        if (
            conn.execute(select(t.students.c.student_id).where(t.students.c.student_id == student_id)).first()
            is None
        ):
            raise NoSuchStudent(student_id)
        plans = select(t.plans.c.plan_id).where(t.plans.c.student_id == student_id)
        removed["plan_items"] = conn.execute(
            delete(t.plan_items).where(t.plan_items.c.plan_id.in_(plans))
        ).rowcount
        for name, table in (
            ("ledger_lines", t.ledger_lines),
            ("evening_subjects", t.evening_subjects),
            ("evening_ledger", t.evening_ledger),
            ("plans", t.plans),
            ("error_book", t.error_book),
            ("attempts", t.attempts),
            ("exemptions", t.exemptions),
            ("evening_reports", t.evening_reports),
        ):
            removed[name] = conn.execute(delete(table).where(table.c.student_id == student_id)).rowcount
        accounts = delete_student_accounts(conn, student_id)
        removed["accounts"] = accounts["accounts"]
        removed["guardian_links"] = accounts["links"]
        removed["students"] = conn.execute(
            delete(t.students).where(t.students.c.student_id == student_id)
        ).rowcount
        already = conn.execute(
            select(t.erasures.c.student_hash).where(t.erasures.c.student_hash == erased_hash(student_id))
        ).first()
        if already is None:
            conn.execute(
                insert(t.erasures).values(
                    student_hash=erased_hash(student_id), erased_at=now, requested_by=requested_by
                )
            )
    return {"student_id": student_id, "removed": removed, "erased_at": now.isoformat()}
