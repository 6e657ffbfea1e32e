"""A guardian's request to delete a student's data, carried out in one transaction: every row about
the student goes (answers, error book, plans and their items, the evening ledger, exemptions, reports,
the student's own accounts and the parents' links to them, the student, and the student's personal
parts of the archive, emptied without breaking its chain: service.store.archive), and only a keyed hash of the
pseudonymous id stays in `erasures` (HMAC-SHA256 with the deployment's erasure key,
JIANFU_ERASURE_SECRET), so that a later import, training and every loader leave the student out,
while the table alone, even beside the roster, does not say who was deleted. The answer says what was
removed, table by table.

Records made before keys are the unkeyed SHA-256 of the id (scheme "sha256", migration 0007): anyone
with the roster could find those students again, and nothing can re-key them without the id, which
left with the student. They are still matched, and each is replaced by its keyed hash the first time
an import brings its id again (`Erasures.rekey`, in the import's transaction).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from service.store import tables as t
from service.store.accounts import delete_student_accounts
from service.store.archive import erase_student_parts
from service.store.db import writing
from service.store.versions import ERASURES, bump

KEYED, UNKEYED = "hmac-sha256", "sha256"
log = logging.getLogger("jianfu.store")


class NoSuchStudent(LookupError):
    pass


def erased_hash(key: str, student_id: str) -> str:
    """How an erased student is remembered: HMAC-SHA256 of the pseudonymous id with the erasure key."""
    return hmac.new(key.encode(), student_id.encode(), hashlib.sha256).hexdigest()


def unkeyed_hash(student_id: str) -> str:
    """How erased students were remembered before keys (scheme "sha256")."""
    return hashlib.sha256(student_id.encode()).hexdigest()


@dataclass
class Erasures:
    """The students deleted on a guardian's request, as `erasures` remembers them: `student_id in
    erasures`. Falsy when nobody was erased (then no key is needed either)."""

    key: str = ""
    keyed: frozenset[str] = frozenset()
    unkeyed: frozenset[str] = frozenset()
    _seen: dict[str, bool] = field(default_factory=dict)  # student id -> erased (one hash per student)
    _to_rekey: dict[str, str] = field(default_factory=dict)  # unkeyed record -> its keyed hash

    def __bool__(self) -> bool:
        return bool(self.keyed or self.unkeyed)

    def __contains__(self, student_id: object) -> bool:
        if not self or not isinstance(student_id, str):
            return False
        erased = self._seen.get(student_id)
        if erased is None:
            keyed = erased_hash(self.key, student_id)
            erased = keyed in self.keyed
            if not erased and self.unkeyed:
                old = unkeyed_hash(student_id)
                erased = old in self.unkeyed
                if erased:
                    self._to_rekey[old] = keyed
            self._seen[student_id] = erased
        return erased

    def rekey(self, conn: Connection) -> int:
        """Replace the unkeyed records matched since loading by their keyed hashes (in the caller's
        transaction); how many."""
        for old, keyed in self._to_rekey.items():
            conn.execute(
                update(t.erasures)
                .where(t.erasures.c.student_hash == old, t.erasures.c.scheme == UNKEYED)
                .values(student_hash=keyed, scheme=KEYED)
            )
        done = len(self._to_rekey)
        self._to_rekey.clear()
        return done


def load_erasures(conn: Connection, key: str | Callable[[], str]) -> Erasures:
    """Who was erased. `key`: the erasure key, or a function giving it, asked only when someone was."""
    rows = conn.execute(select(t.erasures.c.student_hash, t.erasures.c.scheme)).all()
    if not rows:
        return Erasures()
    return Erasures(
        key if isinstance(key, str) else key(),
        frozenset(h for h, scheme in rows if scheme == KEYED),
        frozenset(h for h, scheme in rows if scheme == UNKEYED),
    )


def erase_student(
    engine: Engine, student_id: str, *, key: str, requested_by: str, now: datetime
) -> dict[str, Any]:
    removed: dict[str, int] = {}
    student_hash = erased_hash(key, student_id)
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
            ("answer_marks", t.answer_marks),
            ("attempts", t.attempts),
            ("exemptions", t.exemptions),
            ("evening_reports", t.evening_reports),
            ("evening_levels", t.evening_levels),
            ("scan_marks", t.scan_marks),
            ("scan_times", t.scan_times),
            ("scan_reviews", t.scan_reviews),  # with the crops of the student's boxes
            ("time_outs", t.time_outs),
            ("evening_stops", t.evening_stops),
        ):
            removed[name] = conn.execute(delete(table).where(table.c.student_id == student_id)).rowcount
        accounts = delete_student_accounts(conn, student_id)
        removed["accounts"] = accounts["accounts"]
        removed["guardian_links"] = accounts["links"]
        removed["students"] = conn.execute(
            delete(t.students).where(t.students.c.student_id == student_id)
        ).rowcount
        # the archive (R2): the student's parts emptied, the chain kept (service.store.archive). After
        # the student's row is deleted: that waits for every transaction still writing about the
        # student (a set being published, an archive entry holding the student's row), so their
        # parts are committed, found and emptied here, not left behind.
        removed["archive_parts"] = erase_student_parts(conn, student_id=student_id, now=now)
        conn.execute(  # an unkeyed record of the same id, if there is one, is this one now
            delete(t.erasures).where(t.erasures.c.student_hash.in_([student_hash, unkeyed_hash(student_id)]))
        )
        conn.execute(
            insert(t.erasures).values(
                student_hash=student_hash, scheme=KEYED, erased_at=now, requested_by=requested_by
            )
        )
        bump(conn, ERASURES)  # every process drops what it keeps of the student (the state cache)
    log.info(
        "student erased",
        extra={"student_hash": student_hash, "requested_by": requested_by, "rows": sum(removed.values())},
    )
    return {"student_id": student_id, "removed": removed, "erased_at": now.isoformat()}
