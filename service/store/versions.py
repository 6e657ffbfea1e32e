"""Versions the database keeps of data that processes cache (the `data_versions` table).

A process that keeps a copy of such data in memory reads the version first, then the data, and
reads the data again when the version has moved: a change made through another worker or replica
is then seen at the next request, not only in the process that made it. Whoever changes the data
raises the version in the same transaction.

- ITEMS: the item bank as the models see it (kind, grade, minutes, subject, knowledge points),
  raised by the importer when items are added or changed. Answers need no version of their own:
  the state cache checks each student's answer count against the database at every catch-up
  (service.planner.context.StateCache), so answers recorded by any process are seen, and a global
  counter raised by every answer batch would be one row every batch of the evening waits for.
- ERASURES: raised by a guardian's deletion (service.store.erasure), so every process drops what it
  keeps in memory of the deleted student (the state cache's answers), not only the one that erased.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from service.store import tables as t

ITEMS = "items"
ERASURES = "erasures"


def data_versions(conn: Connection, names: tuple[str, ...]) -> dict[str, int]:
    """Several data's versions now, in one read (0 for one never raised)."""
    found = dict(
        conn.execute(
            select(t.data_versions.c.name, t.data_versions.c.version).where(t.data_versions.c.name.in_(names))
        ).all()
    )
    return {name: int(found.get(name) or 0) for name in names}


def bump(conn: Connection, name: str) -> None:
    """Raise the data's version, in the caller's transaction (the one that changes the data)."""
    raised = conn.execute(
        update(t.data_versions)
        .where(t.data_versions.c.name == name)
        .values(version=t.data_versions.c.version + 1)
    )
    if raised.rowcount == 0:
        conn.execute(insert(t.data_versions).values(name=name, version=1))
