"""What the planner reads from the database for one class, subject and night: the candidate items
(inside the syllabus and the class's teaching, of kinds the grade may have, never needing a
parent), each student's answer history (replayed into the same StudentState as training), their
open error-book entries, what was set for them recently, and tonight's exemptions."""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from models.features import ItemInfo, Priors, StudentState
from service.policy.policy import Policy
from service.store import tables as t
from service.store.queries import (
    SETS_ITEMS,
    StudentPlace,
    class_members,
    class_place,
    evening_at,
    open_entries,
)
from service.store.versions import ERASURES, ITEMS, data_versions


@dataclass(frozen=True)
class Candidate:
    item_id: str
    kind: str
    kps: tuple[str, ...]
    dup_group: str | None
    info: ItemInfo


@dataclass
class OpenError:
    item_id: str
    error_at: float  # epoch seconds
    last_at: float
    right: int
    wrong: int
    box: int


@dataclass
class StudentToPlan:
    student_id: str
    display_name: str | None
    personal_cap: int | None
    exempt: bool
    state: StudentState
    recent: dict[str, date]  # item -> last night set or done
    open_errors: dict[str, OpenError] = field(default_factory=dict)


@dataclass
class ClassToPlan:
    class_id: str
    grade: int
    school_id: str
    policy_name: str
    timezone: str
    subject: str
    night: date
    evening_at: float  # epoch seconds of 19:00 local on the night
    candidates: list[Candidate]
    kp_meta: dict[str, tuple[str, str, int]]  # kp -> (unit, name, grade)
    students: list[StudentToPlan]

    def places(self) -> list[StudentPlace]:
        """Where each student belongs (the evening specs need no other read of it)."""
        return [
            StudentPlace(s.student_id, self.class_id, self.school_id, self.grade, self.policy_name,
                         self.timezone, s.display_name, s.personal_cap)
            for s in self.students
        ]  # fmt: skip


def evening_epoch(night: date, timezone: str) -> float:
    """The evening's start (19:00 school time) in epoch seconds, as the models count time."""
    return evening_at(night, timezone).timestamp()


def load_class(
    conn: Connection,
    policy: Policy,
    class_id: str,
    subject: str,
    night: date,
    priors: Priors,
    cache: StateCache | None = None,
    *,
    ignoring: Collection[str] = (),
) -> ClassToPlan:
    """The class's facts for planning a subject on a night; `ignoring`: plans left out of what was
    set recently (drafts about to be replaced)."""
    klass = class_place(conn, class_id)
    if klass is None:
        raise LookupError(f"no class {class_id}")
    grade = klass.grade
    taught = dict(
        conn.execute(
            select(t.teaching_progress.c.kp_id, t.teaching_progress.c.taught_on).where(
                t.teaching_progress.c.class_id == class_id, t.teaching_progress.c.subject == subject
            )
        ).all()
    )
    kp_meta = {
        r.kp_id: (r.unit, r.name, r.grade)
        for r in conn.execute(
            select(
                t.knowledge_points.c.kp_id,
                t.knowledge_points.c.unit,
                t.knowledge_points.c.name,
                t.knowledge_points.c.grade,
            ).where(t.knowledge_points.c.subject == subject)
        )
    }
    allowed_kinds = set(policy.allowed_kinds(grade))
    if policy.written_only_in and subject not in policy.written_only_in:
        allowed_kinds.discard("written")
    item_kps: dict[str, list[str]] = defaultdict(list)
    for item_id, kp in conn.execute(
        select(t.item_kps.c.item_id, t.item_kps.c.kp_id)
        .join(t.items, t.items.c.item_id == t.item_kps.c.item_id)
        .where(t.items.c.subject == subject)
        .order_by(t.item_kps.c.item_id, t.item_kps.c.position)
    ):
        item_kps[item_id].append(kp)
    # a school's own items (teachers' items, workbook exercises) are set to that school's students only
    others = select(t.school_items.c.item_id).where(t.school_items.c.school_id != klass.school_id)
    candidates = []
    for row in conn.execute(
        select(t.items)
        .where(t.items.c.subject == subject, t.items.c.item_id.not_in(others))
        .order_by(t.items.c.item_id)
    ):
        kps = tuple(item_kps.get(row.item_id, ()))
        if row.needs_parent or row.kind not in allowed_kinds or not kps:  # C5, T1, T9
            continue
        if any(kp not in kp_meta or kp_meta[kp][2] > grade for kp in kps):  # C1
            continue
        if any(kp not in taught or taught[kp] > night for kp in kps):  # C2
            continue
        info = ItemInfo(kps, row.kind, row.grade, row.est_minutes, row.subject)
        candidates.append(Candidate(row.item_id, row.kind, kps, row.dup_group, info))
    students = _students(
        conn, class_id, subject, night, priors, policy.repeat_days, klass.timezone, cache, ignoring
    )
    return ClassToPlan(
        class_id, grade, klass.school_id, klass.policy_name, klass.timezone, subject, night,
        evening_epoch(night, klass.timezone), candidates, kp_meta, students,
    )  # fmt: skip


def _students(
    conn: Connection,
    class_id: str,
    subject: str,
    night: date,
    priors: Priors,
    repeat_days: int,
    timezone: str,
    cache: StateCache | None = None,
    ignoring: Collection[str] = (),
) -> list[StudentToPlan]:
    rows = class_members(conn, class_id)
    ids = [r.student_id for r in rows]
    exempt = set(
        conn.execute(
            select(t.exemptions.c.student_id).where(
                t.exemptions.c.night == night, t.exemptions.c.student_id.in_(ids)
            )
        ).scalars()
    )
    cache = cache if cache is not None else StateCache(priors)
    cache.catch_up(conn, ids, night)
    states = {sid: cache.entries[sid].state for sid in ids}
    history = {sid: cache.entries[sid].history for sid in ids}
    since = night - timedelta(days=repeat_days)
    recent: dict[str, dict[str, date]] = {sid: {} for sid in ids}
    for sid in ids:
        for item_id, answers in history[sid].items():
            last_night = max(a[2] for a in answers)
            if last_night >= since:
                recent[sid][item_id] = last_night
    for sid, item_id, planned in conn.execute(
        select(t.plans.c.student_id, t.plan_items.c.item_id, t.plans.c.night)
        .join(t.plan_items, t.plan_items.c.plan_id == t.plans.c.plan_id)
        .where(
            t.plans.c.student_id.in_(ids),
            t.plans.c.status.in_(SETS_ITEMS),
            t.plans.c.night >= since,
            t.plans.c.night <= night + timedelta(days=repeat_days),  # set for a later night counts too (C4)
            t.plans.c.plan_id.not_in(list(ignoring)),
        )
    ):
        _latest(recent[sid], item_id, planned)
    for sid, item_id, done in conn.execute(  # answers recorded for a later night (C4 looks both ways)
        select(t.attempts.c.student_id, t.attempts.c.item_id, t.attempts.c.night).where(
            t.attempts.c.student_id.in_(ids),
            t.attempts.c.night > night,
            t.attempts.c.night <= night + timedelta(days=repeat_days),
        )
    ):
        _latest(recent[sid], item_id, done)
    open_errors: dict[str, dict[str, OpenError]] = {sid: {} for sid in ids}
    at = evening_at(night, timezone)
    for e in open_entries(conn, dict.fromkeys(ids, at), subject=subject):
        created = e.created_at.timestamp()
        meetings = [(a, y) for a, y, _ in history[e.student_id].get(e.item_id, []) if a >= created]
        right = sum(y for _, y in meetings[1:])
        wrong = 1 + sum(1 - y for _, y in meetings[1:])
        box = 1
        for _, y in meetings[1:]:
            box = box + 1 if y else 1
        last = meetings[-1][0] if meetings else created
        open_errors[e.student_id][e.item_id] = OpenError(e.item_id, created, last, right, wrong, box)
    return [
        StudentToPlan(
            r.student_id,
            r.display_name,
            r.personal_cap_minutes,
            r.student_id in exempt,
            states[r.student_id],
            recent[r.student_id],
            open_errors[r.student_id],
        )
        for r in rows
    ]


@dataclass
class _Entry:
    state: StudentState
    history: dict[str, list[tuple[float, int, date]]]  # item -> (at, correct, night) of every answer
    before: date = date.min  # every answer of a night before this one is in
    count: int = 0  # how many answers that is
    items: int = 0  # the generation of the item snapshot the state was built with


class StateCache:
    """Students' model states, kept between plans and brought up to date with only the answers of
    the nights since (the same StudentState.update as training's replay, in the same order). If an
    answer of an earlier night arrives late (a paper upload), that student is replayed from the start.

    Nothing here trusts this process's memory alone, so several workers and replicas can each keep
    one: every catch_up compares each student's answer count with the database (answers recorded by
    any process are taken in), and the item snapshot the states are built with is read again when
    the database's items version (service.store.versions) has moved, or when an answer names an
    item it does not hold. If an item the snapshot held has changed, every state built with it is
    replayed at its next catch_up.

    One cache serves a whole model version in a process; a request that brings a class's states up
    to date and reads them holds `lock_for(class_id)`, so requests for one class take turns and
    requests for different classes do not wait for each other."""

    def __init__(self, priors: Priors) -> None:
        self.priors = priors
        self.entries: dict[str, _Entry] = {}
        self._info: dict[str, ItemInfo] | None = None
        self._items_version: int | None = None
        self._items = 0  # generation of the item snapshot: raised when an item in it changes
        self._erasures: int | None = None  # the erasures version whose deleted students are gone from here
        self._guard = threading.Lock()  # the snapshot and the table of class locks
        self._classes: dict[str, threading.RLock] = {}

    @contextmanager
    def lock_for(self, class_id: str) -> Iterator[None]:
        """Hold while bringing up to date and reading the states of this class's students
        (re-entrant: plan_class takes it too)."""
        with self._guard:
            lock = self._classes.setdefault(class_id, threading.RLock())
        with lock:
            yield

    def item_info(self) -> dict[str, ItemInfo]:
        """The bank's items as the models see them (read with the first catch_up, and again when
        the database says they changed)."""
        if self._info is None:
            raise RuntimeError("catch_up first: the item facts are read with the answers")
        return self._info

    def _query(self, ids: list[str], night: date) -> Any:
        return (
            select(
                t.attempts.c.student_id,
                t.attempts.c.item_id,
                t.attempts.c.correct,
                t.attempts.c.submitted_at,
                t.attempts.c.seconds,
                t.attempts.c.night,
            )
            .where(t.attempts.c.student_id.in_(ids), t.attempts.c.night < night)
            .order_by(t.attempts.c.student_id, t.attempts.c.submitted_at, t.attempts.c.event_id)
        )

    def _refresh_items(self, conn: Connection, *, force: bool = False) -> None:
        """Read the item snapshot again if the database's items version moved (or `force`); drop
        the states of students deleted since (by any process) if the erasures version moved."""
        # The versions before the data: a change in between is read at the next catch-up.
        versions = data_versions(conn, (ITEMS, ERASURES))
        if versions[ERASURES] != self._erasures:
            self._forget_erased(conn, versions[ERASURES])
        version = versions[ITEMS]
        if not force and self._info is not None and version == self._items_version:
            return
        info = item_info(conn)
        with self._guard:
            old = self._info or {}
            if any(info.get(item_id) != facts for item_id, facts in old.items()):
                self._items += 1  # states built with the old facts are replayed
            self._info, self._items_version = info, version

    def _forget_erased(self, conn: Connection, version: int) -> None:
        """Nothing of a deleted student stays in memory: their states and answers are dropped."""
        ids = list(self.entries)
        present: set[str] = set()
        for start in range(0, len(ids), 500):
            present.update(
                conn.execute(
                    select(t.students.c.student_id).where(
                        t.students.c.student_id.in_(ids[start : start + 500])
                    )
                ).scalars()
            )
        for sid in ids:
            if sid not in present:
                self.entries.pop(sid, None)
        self._erasures = version

    def catch_up(self, conn: Connection, ids: list[str], night: date) -> None:
        self._refresh_items(conn)
        current_items = self._items
        known = [
            sid
            for sid in ids
            if sid in self.entries
            and self.entries[sid].before <= night
            and self.entries[sid].items == current_items
        ]
        befores = {self.entries[sid].before for sid in known}
        if len(befores) != 1 or len(known) != len(ids):
            self._replay(conn, ids, night)
            return
        before = befores.pop()
        counts: dict[str, int] = dict(
            conn.execute(
                select(t.attempts.c.student_id, func.count())
                .where(t.attempts.c.student_id.in_(ids), t.attempts.c.night < before)
                .group_by(t.attempts.c.student_id)
            ).all()
        )
        late = [sid for sid in ids if counts.get(sid, 0) != self.entries[sid].count]
        if late:
            self._replay(conn, late, night)
        current = [sid for sid in ids if sid not in late]
        if current and before < night:
            rows = self._rows(conn, self._query(current, night).where(t.attempts.c.night >= before))
            for r in rows:
                self._take(self.entries[r.student_id], r)
        for sid in current:
            self.entries[sid].before = night

    def _replay(self, conn: Connection, ids: list[str], night: date) -> None:
        rows = self._rows(conn, self._query(ids, night))
        for sid in ids:
            self.entries[sid] = _Entry(StudentState(), defaultdict(list), night, items=self._items)
        for r in rows:
            self._take(self.entries[r.student_id], r)

    def _rows(self, conn: Connection, query: Any) -> Sequence[Any]:
        """Answers to take in; the item snapshot read again first if one of them is not in it (an
        item added without the version moving, e.g. written to the database by hand)."""
        rows = conn.execute(query).all()
        assert self._info is not None
        if any(r.item_id not in self._info for r in rows):
            self._refresh_items(conn, force=True)
        return rows

    def _take(self, entry: _Entry, r: Any) -> None:
        assert self._info is not None
        at = r.submitted_at.timestamp()
        seconds = float(r.seconds) if r.seconds is not None else math.nan
        entry.state.update(r.item_id, self._info[r.item_id], int(r.correct), self.priors, at, seconds)
        entry.history[r.item_id].append((at, int(r.correct), r.night))
        entry.count += 1


def _latest(recent: dict[str, date], item_id: str, night: date) -> None:
    if item_id not in recent or night > recent[item_id]:
        recent[item_id] = night


def item_info(conn: Connection) -> dict[str, ItemInfo]:
    kps: dict[str, list[str]] = defaultdict(list)
    for item_id, kp in conn.execute(
        select(t.item_kps.c.item_id, t.item_kps.c.kp_id).order_by(t.item_kps.c.item_id, t.item_kps.c.position)
    ):
        kps[item_id].append(kp)
    return {
        r.item_id: ItemInfo(tuple(kps.get(r.item_id, ())), r.kind, r.grade, r.est_minutes, r.subject)
        for r in conn.execute(
            select(
                t.items.c.item_id, t.items.c.kind, t.items.c.grade, t.items.c.est_minutes, t.items.c.subject
            )
        )
    }
