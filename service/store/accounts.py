"""Account rows the store itself has to remove: on a guardian's erasure request (service.store.erasure)
a student's own accounts and the parents' links to the student go in the same transaction as the rest
of the student's data. Passwords, tokens and who may see what stay in service.auth, which this module
does not import (the store is below accounts and the HTTP layers)."""

from __future__ import annotations

from sqlalchemy import Connection, delete, select

from service.store import tables as t


def delete_student_accounts(conn: Connection, student_id: str) -> dict[str, int]:
    """The student's own accounts go; parents' links to them go (their accounts stay). Returns how
    many accounts and links were removed."""
    own = [
        r.user_id
        for r in conn.execute(
            select(t.users.c.user_id)
            .join(t.user_scopes, t.user_scopes.c.user_id == t.users.c.user_id)
            .where(
                t.users.c.role == "student",
                t.user_scopes.c.kind == "student",
                t.user_scopes.c.ref_id == student_id,
            )
        )
    ]
    links = conn.execute(
        delete(t.user_scopes).where(t.user_scopes.c.kind == "student", t.user_scopes.c.ref_id == student_id)
    ).rowcount
    accounts = conn.execute(delete(t.users).where(t.users.c.user_id.in_(own))).rowcount if own else 0
    return {"accounts": accounts, "links": links}
