"""The trusted archive (R2, 档案留存): every published set, every weekly notice (R3), every evening's
reported time (R4) and every report is appended to a chain of entries, each holding the SHA-256 of
the one before, so that a change, a removal or a reordering after the fact is found by `verify`
(`jianfu archive verify`).

**An entry** (`archive_entries`) is: its place `seq` (1, 2, 3, …), its `kind`, a non-personal `topic`
(for example `set/east-5-1/2026-11-20/math`), the time it was recorded, a `public` part (canonical
JSON: class-level figures, no student's id, name or answers), a list of `commitments` and
`prev_hash`, the hash of the entry before (64 zeros for the first). Its `entry_hash` is the SHA-256
of all of these as written (`entry_hash`). Nothing personal is ever hashed in the clear.

**Personal data** (one student's set, the minutes a parent reported, who was over the cap) goes
into *parts* (`archive_parts`), one per student, each kept beside the chain with the student's id
and a random 32-byte salt; the entry commits to each part by SHA-256(salt ‖ canonical JSON text).
The commitment is all the chain holds: with the salt gone it says nothing about the text, not even
to someone who guesses the student's id.

**A guardian's deletion** (`erase_student_parts`, in the erasure's own transaction,
service.store.erasure) empties every part of the student — salt, text and id — leaving a tombstone
with the time of the erasure, and appends an `erasure` entry whose public part lists the
tombstones' places (no id). The chain's hashes are untouched, so `verify` still passes; it reports
those parts as erased, not as tampered with, because the chain itself records that they were erased.
A part emptied without such an entry, or removed outright, is reported as tampering.
Nothing of the student escapes an erasure running at the same time: the erasure empties parts only
after deleting the student's row, which waits for every transaction still writing about the student
(a set being published; an entry with the student's part, which holds the student's row, FOR KEY
SHARE); and an entry appended afterwards leaves out the part of a student who is gone (a report
read before the deletion and archived after it).

**Appending** reads the head (the highest `seq`) and inserts `seq + 1` with the head's hash, in the
caller's transaction (so the entry commits or rolls back with the thing archived). Appends take
turns: on PostgreSQL each takes the archive's advisory lock (service.store.db.hold_lock, held to the
end of its transaction) before it reads the head, so the next appender reads the head only after the
previous one committed or rolled back; on SQLite every writer holds the database's one write lock
(`BEGIN IMMEDIATE`, service.store.db.writing). `seq` is the key and `prev_hash` is unique, so even a
writer that skipped the lock could not fork the chain: its insert would fail. (Retrying a failed
insert on the new head instead of taking turns was tried: under two busy appenders one of them kept
losing to the other's next append, twenty times in a row.)

**What verify cannot see on its own**: someone who can write to the database could remove the last
entries, or rewrite the chain from some entry on and recompute every hash after it. Both are found
by comparing with a head recorded elsewhere: `jianfu archive verify` prints the head (`seq` and
hash); keep it outside the database (in the half-monthly report, a ticket, a notebook) and later run
`jianfu archive verify --expect SEQ:HASH`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from service.store import tables as t
from service.store.db import hold_lock

GENESIS = "0" * 64  # the hash "before" the first entry
SALT_BYTES = 32
ARCHIVE_LOCK_KEY = int.from_bytes(b"archive", "big")  # appends take turns (PostgreSQL advisory lock)
PUBLISHED_SET, WEEKLY_NOTICE, EVENING_REPORT, BURDEN_REPORT, REPORT, ERASURE = (
    "published_set",
    "weekly_notice",
    "evening_report",
    "burden_report",
    "report",
    "erasure",
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot archive a {type(value).__name__}")


def canonical(value: Any) -> str:
    """The one text a JSON value is hashed as: keys sorted, no spaces, UTF-8 as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain)


def commitment(salt_hex: str, body: str) -> str:
    """How an entry commits to a personal part: SHA-256 of the salt's bytes, then the text's."""
    return hashlib.sha256(bytes.fromhex(salt_hex) + body.encode("utf-8")).hexdigest()


def entry_hash(
    *, seq: int, kind: str, topic: str, recorded_at: str, public: str, commitments: str, prev_hash: str
) -> str:
    """The hash of an entry, over its fields as they are stored."""
    fields = [seq, kind, topic, recorded_at, public, commitments, prev_hash]
    return hashlib.sha256(canonical(fields).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Part:
    """One student's personal data in an entry: erased with the student."""

    student_id: str
    body: Mapping[str, Any]


@dataclass(frozen=True)
class Appended:
    seq: int
    entry_hash: str


def _head(conn: Connection) -> tuple[int, str]:
    row = conn.execute(
        select(t.archive_entries.c.seq, t.archive_entries.c.entry_hash)
        .order_by(t.archive_entries.c.seq.desc())
        .limit(1)
    ).first()
    return (0, GENESIS) if row is None else (int(row.seq), str(row.entry_hash))


def append(
    conn: Connection,
    *,
    kind: str,
    topic: str,
    public: Mapping[str, Any],
    parts: Sequence[Part] = (),
    now: datetime,
) -> Appended:
    """Append an entry in conn's open write transaction (see the module docstring for how racing
    appends keep one chain). A part of a student who is no longer there (deleted on a guardian's
    request since the caller read their data) is left out; the students kept are held (PostgreSQL:
    FOR KEY SHARE) until the transaction ends, so an erasure running now waits and then finds the
    parts this entry gives them."""
    parts = _of_students_still_there(conn, parts)
    public_text = canonical(public)
    bodies = [canonical(p.body) for p in parts]
    salts = [os.urandom(SALT_BYTES).hex() for _ in parts]
    commitments = canonical([commitment(s, b) for s, b in zip(salts, bodies, strict=True)])
    recorded_at = now.astimezone(UTC).isoformat(timespec="microseconds")
    hold_lock(conn, ARCHIVE_LOCK_KEY)  # PostgreSQL; on SQLite the transaction holds the one write lock
    seq, prev = _head(conn)
    seq += 1
    digest = entry_hash(seq=seq, kind=kind, topic=topic, recorded_at=recorded_at, public=public_text,
                        commitments=commitments, prev_hash=prev)  # fmt: skip
    entry = {"seq": seq, "kind": kind, "topic": topic, "recorded_at": recorded_at, "public": public_text,
             "commitments": commitments, "prev_hash": prev, "entry_hash": digest}  # fmt: skip
    rows = [
        {"seq": seq, "part": i, "student_id": p.student_id, "salt": s, "body": b}
        for i, (p, s, b) in enumerate(zip(parts, salts, bodies, strict=True))
    ]
    _insert(conn, entry, rows)
    return Appended(seq, digest)


def _of_students_still_there(conn: Connection, parts: Sequence[Part]) -> list[Part]:
    if not parts:
        return []
    ids = sorted({p.student_id for p in parts})
    there = set(
        conn.execute(
            select(t.students.c.student_id)
            .where(t.students.c.student_id.in_(ids))
            .order_by(t.students.c.student_id)
            .with_for_update(read=True, key_share=True)
        ).scalars()
    )
    return [p for p in parts if p.student_id in there]


def _insert(conn: Connection, entry: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    conn.execute(insert(t.archive_entries).values(**entry))
    if rows:
        conn.execute(insert(t.archive_parts), rows)


def append_once(
    db: Engine,
    *,
    kind: str,
    topic: str,
    public: Mapping[str, Any],
    parts: Sequence[Part] = (),
    now: datetime,
) -> Appended | None:
    """Append unless the latest entry of the same kind and topic says exactly the same (a notice or
    report read again unchanged is archived once); None when nothing was appended. Looks first
    without the write lock, and again under it."""
    from service.store.db import writing

    public_text, bodies = canonical(public), [canonical(p.body) for p in parts]
    with db.connect() as conn:
        if _same_as_latest(conn, kind, topic, public_text, bodies):
            return None
    with writing(db) as conn:
        if _same_as_latest(conn, kind, topic, public_text, bodies):
            return None
        return append(conn, kind=kind, topic=topic, public=public, parts=parts, now=now)


def _same_as_latest(conn: Connection, kind: str, topic: str, public_text: str, bodies: list[str]) -> bool:
    e = t.archive_entries
    latest = conn.execute(
        select(e.c.seq, e.c.public)
        .where(e.c.kind == kind, e.c.topic == topic)
        .order_by(e.c.seq.desc())
        .limit(1)
    ).first()
    if latest is None or latest.public != public_text:
        return False
    kept = conn.execute(
        select(t.archive_parts.c.body)
        .where(t.archive_parts.c.seq == latest.seq)
        .order_by(t.archive_parts.c.part)
    ).scalars()
    return list(kept) == bodies  # an erased part (None) never matches: the report is archived anew


# What is archived --------------------------------------------------------------------------------


def archive_published_set(conn: Connection, *, plan_id: str, now: datetime) -> Appended:
    """A set just published (in the publishing transaction): class, subject, night and teacher in
    the public part; the student's id, the items with their tiers and minutes in the student's part."""
    p, s = t.plans, t.students
    plan = conn.execute(
        select(p.c.plan_id, p.c.student_id, p.c.night, p.c.subject, p.c.teacher_id, p.c.model_version,
               p.c.typical_minutes, p.c.conservative_minutes, s.c.class_id)
        .join(s, s.c.student_id == p.c.student_id)
        .where(p.c.plan_id == plan_id)
    ).one()  # fmt: skip
    items = conn.execute(
        select(t.plan_items.c.item_id, t.plan_items.c.tier, t.plan_items.c.position, t.plan_items.c.typical_minutes)
        .where(t.plan_items.c.plan_id == plan_id)
        .order_by(t.plan_items.c.position, t.plan_items.c.item_id)
    ).all()  # fmt: skip
    public = {"class_id": plan.class_id, "night": plan.night, "subject": plan.subject,
              "teacher_id": plan.teacher_id, "model_version": plan.model_version}  # fmt: skip
    body = {
        "plan_id": plan.plan_id,
        "student_id": plan.student_id,
        "typical_minutes": plan.typical_minutes,
        "conservative_minutes": plan.conservative_minutes,
        "items": [
            {
                "item_id": i.item_id,
                "tier": i.tier,
                "position": i.position,
                "typical_minutes": i.typical_minutes,
            }
            for i in items
        ],
    }
    topic = f"set/{plan.class_id}/{plan.night.isoformat()}/{plan.subject}"
    return append(conn, kind=PUBLISHED_SET, topic=topic, public=public,
                  parts=[Part(plan.student_id, body)], now=now)  # fmt: skip


def archive_evening_report(
    conn: Connection, *, student_id: str, night: date, minutes: float, reported_by: str, now: datetime
) -> Appended:
    """An evening's real time as reported (R4), in the reporting transaction: the class and night in
    the public part, the student, minutes and reporter in the student's part."""
    class_id = conn.execute(
        select(t.students.c.class_id).where(t.students.c.student_id == student_id)
    ).scalar_one()
    body = {"student_id": student_id, "minutes": minutes, "reported_by": reported_by}
    return append(conn, kind=EVENING_REPORT, topic=f"evening/{class_id}/{night.isoformat()}",
                  public={"class_id": class_id, "night": night}, parts=[Part(student_id, body)], now=now)  # fmt: skip


# A guardian's deletion ---------------------------------------------------------------------------


def erase_student_parts(conn: Connection, *, student_id: str, now: datetime) -> int:
    """Empty every archived part of the student (in the erasure's transaction) and record in the
    chain which parts were erased (no id); how many parts."""
    ap = t.archive_parts
    places = [
        [int(seq), int(part)]
        for seq, part in conn.execute(
            select(ap.c.seq, ap.c.part).where(ap.c.student_id == student_id).order_by(ap.c.seq, ap.c.part)
        )
    ]
    if not places:
        return 0
    conn.execute(
        update(ap)
        .where(ap.c.student_id == student_id)
        .values(student_id=None, salt=None, body=None, erased_at=now)
    )
    append(conn, kind=ERASURE, topic="erasure", public={"parts": places}, now=now)
    return len(places)


# Verification ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """The first thing wrong at an entry: what, in English and Chinese."""

    seq: int
    en: str
    zh: str

    def line(self) -> str:
        return f"第 {self.seq} 条：{self.zh} / entry {self.seq}: {self.en}"


@dataclass
class Verdict:
    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    parts: int = 0
    erased_parts: list[tuple[int, int]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return min(self.problems, key=lambda p: p.seq) if self.problems else None


def verify(conn: Connection, *, expect: Iterable[tuple[int, str]] = ()) -> Verdict:
    """Walk the whole chain: each entry's hash over its stored fields, its link to the entry before,
    its places in order, and each personal part against its commitment (or erased, as a later
    erasure entry records). `expect`: heads recorded earlier, (seq, hash), that must still be there."""
    verdict = Verdict()
    e, ap = t.archive_entries, t.archive_parts
    parts: dict[int, dict[int, Any]] = {}
    for row in conn.execute(select(ap).order_by(ap.c.seq, ap.c.part)):
        parts.setdefault(int(row.seq), {})[int(row.part)] = row
    hashes: dict[int, str] = {}
    listed: set[tuple[int, int]] = set()  # parts an erasure entry says were erased
    tombstones: list[tuple[int, int]] = []
    expected_seq, prev = 1, GENESIS
    for row in conn.execute(select(e).order_by(e.c.seq)):
        seq = int(row.seq)
        verdict.entries += 1
        problem = _check_entry(row, expected_seq, prev)
        if problem is not None:
            verdict.problems.append(problem)
        hashes[seq] = row.entry_hash
        expected_seq, prev = seq + 1, row.entry_hash
        verdict.head_seq, verdict.head_hash = seq, row.entry_hash
        try:
            commitments = json.loads(row.commitments)
            public = json.loads(row.public)
        except ValueError:
            continue  # already reported: its hash does not match
        if row.kind == ERASURE and isinstance(public, dict):
            listed.update((int(s), int(p)) for s, p in public.get("parts", []))
        found = parts.pop(seq, {})
        for i, committed in enumerate(commitments):
            verdict.parts += 1
            part = found.pop(i, None)
            if part is None:
                verdict.problems.append(
                    Problem(seq, f"its personal part {i} was removed", f"个人数据第 {i} 部分被删除")
                )
            elif part.erased_at is not None:
                tombstones.append((seq, i))
            elif commitment(part.salt, part.body) != committed:
                verdict.problems.append(
                    Problem(seq, f"its personal part {i} was changed", f"个人数据第 {i} 部分被改动")
                )
        for i in found:
            verdict.problems.append(
                Problem(
                    seq,
                    f"it has a personal part {i} it never committed to",
                    f"有未经承诺的个人数据第 {i} 部分",
                )
            )
    for seq in parts:
        verdict.problems.append(
            Problem(
                seq,
                "personal parts are kept for an entry that is not in the chain",
                "链中没有这一条，却保存着它的个人数据",
            )
        )
    for place in tombstones:
        if place in listed:
            verdict.erased_parts.append(place)
        else:
            verdict.problems.append(
                Problem(
                    place[0],
                    f"its personal part {place[1]} was emptied, but no erasure records it",
                    f"个人数据第 {place[1]} 部分被清空，但没有删除记录",
                )
            )
    for seq, digest in expect:
        if hashes.get(seq) != digest:
            verdict.problems.append(
                Problem(
                    seq,
                    f"it is not the entry recorded earlier as {seq}:{digest} (removed or rewritten)",
                    f"不是先前记录的 {seq}:{digest}（已被删除或重写）",
                )
            )
    return verdict


def _check_entry(row: Any, expected_seq: int, prev: str) -> Problem | None:
    seq = int(row.seq)
    if seq != expected_seq:
        missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}-{seq - 1}"
        return Problem(
            seq, f"entry {missing} before it is missing (removed)", f"它之前的第 {missing} 条缺失（被删除）"
        )
    if row.prev_hash != prev:
        return Problem(
            seq,
            f"it does not follow entry {seq - 1}: its previous hash is not that entry's (entries removed or reordered)",
            f"它与第 {seq - 1} 条接不上：记录的前一条哈希与之不符（有条目被删除或调换顺序）",
        )
    digest = entry_hash(seq=seq, kind=row.kind, topic=row.topic, recorded_at=row.recorded_at, public=row.public,
                        commitments=row.commitments, prev_hash=row.prev_hash)  # fmt: skip
    if digest != row.entry_hash:
        return Problem(seq, "it was changed after it was archived (its hash does not match its content)",
                       "存档后被改动（内容与哈希不符）")  # fmt: skip
    return None
