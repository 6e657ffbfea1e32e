"""The evening budget ledger: the single source of truth for how many minutes a student's evening
has left, across all subjects (T5), on SQLite and PostgreSQL.

One `evening_ledger` row per (student, night) holds the cap and what is reserved; one
`evening_subjects` row per subject holds that subject's share (the head teacher's split) and what
it has reserved. A reservation is one transaction: two guarded updates

    UPDATE evening_ledger   SET reserved = reserved + :m WHERE ... AND reserved + :m <= cap
    UPDATE evening_subjects SET reserved = reserved + :m WHERE ... AND reserved + :m <= allowance

each checked by its row count (0 rows: it does not fit, roll back), with CHECK constraints as the
backstop, the plan, its items and one ledger line per item (unique per student, night and item).
The first statement of every writing transaction is a write, so SQLite takes its write lock at
once (and waits its busy timeout) and PostgreSQL re-checks the guard on the locked row.

Drafts hold their minutes until they expire; discarding or expiring releases them, publishing
keeps them. Nothing here moves minutes from one night to another (T11, T12).

What an evening is opened with (its cap and shares), the head teacher's split and releases, and
exemptions are service.policy.evenings.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, Float, and_, bindparam, case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from service.policy.proposal import Proposal
from service.store import tables as t
from service.store.archive import archive_published_set
from service.store.db import hold_lock, writing
from service.store.queries import SETS_ITEMS, PlanStatus

DRAFT_HOLD = timedelta(minutes=30)
DRAFT, PUBLISHED, DISCARDED = PlanStatus.DRAFT.value, PlanStatus.PUBLISHED.value, PlanStatus.DISCARDED.value
EPS = 1e-9


class LedgerError(ValueError):
    """A request the ledger refuses; `zh` and `en` say why, `rule` names the rule if there is one."""

    def __init__(self, zh: str, en: str, rule: str | None = None) -> None:
        super().__init__(en)
        self.zh, self.en, self.rule = zh, en, rule


class OverBudget(LedgerError):
    """The reservation does not fit the evening or the subject's share: nothing was written."""


class Taken(LedgerError):
    """Students who were given a set of the subject for the night by someone else while this one
    was being planned (a colleague, a second click, another replica): nothing was written."""

    def __init__(self, students: Sequence[str]) -> None:
        self.students = list(students)
        super().__init__(
            f"{len(self.students)} 名学生在生成期间已由别人布置了这门课今晚的作业",
            f"{len(self.students)} students were given a set of this subject tonight by someone else meanwhile",
        )


@dataclass(frozen=True)
class EveningSpec:
    """What an evening row is opened with: the cap and each subject's share."""

    student_id: str
    night: date
    day_type: str
    cap_minutes: float
    allowances: Mapping[str, float]


@dataclass(frozen=True)
class EveningView:
    """An evening as the verifier needs it (other plans' reservations by subject)."""

    cap_minutes: float
    reserved: dict[str, float] = field(default_factory=dict)
    allowances: dict[str, float] = field(default_factory=dict)


def insert_missing(conn: Connection, table: t.Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(postgresql.insert(table).on_conflict_do_nothing(), rows)
    else:
        conn.execute(sqlite.insert(table).on_conflict_do_nothing(), rows)


def open_evenings(conn: Connection, specs: Iterable[EveningSpec]) -> None:
    """Create the evening rows that do not exist yet. An existing evening keeps its shares and
    reservations; its cap follows the rules as they are now (a student's own cap set or lifted
    since), unless more than the new cap is already reserved — then it stays, and the verifier
    names the difference (T11) until a plan is withdrawn."""
    specs = list(specs)
    rows = [
        {"student_id": s.student_id, "night": s.night, "cap_minutes": s.cap_minutes, "reserved_minutes": 0.0}
        for s in specs
    ]
    if rows:
        statement = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(t.evening_ledger)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["student_id", "night"],
                set_={"cap_minutes": statement.excluded.cap_minutes},
                where=(t.evening_ledger.c.reserved_minutes <= statement.excluded.cap_minutes)
                & (t.evening_ledger.c.cap_minutes != statement.excluded.cap_minutes),
            ),
            rows,
        )
    insert_missing(
        conn,
        t.evening_subjects,
        [
            {
                "student_id": s.student_id,
                "night": s.night,
                "subject": subject,
                "allowance_minutes": minutes,
                "reserved_minutes": 0.0,
            }
            for s in specs
            for subject, minutes in s.allowances.items()
        ],
    )


def _guarded_add(conn: Connection, table: t.Table, limit: Any, rows: list[dict[str, Any]]) -> int:
    """reserved += b_minutes on each row named by b_student, b_night (and b_subject), only where it
    stays within `limit`; how many rows took it."""
    where = [table.c.student_id == bindparam("b_student"), table.c.night == bindparam("b_night")]
    if "b_subject" in rows[0]:
        where.append(table.c.subject == bindparam("b_subject"))
    added = table.c.reserved_minutes + bindparam("b_minutes", type_=Float)
    result = conn.execute(update(table).where(*where, added <= limit).values(reserved_minutes=added), rows)
    return int(result.rowcount)


def _subtract(conn: Connection, table: t.Table, where: Any, minutes: float) -> None:
    left = table.c.reserved_minutes - minutes
    conn.execute(update(table).where(where).values(reserved_minutes=case((left < EPS, 0.0), else_=left)))


def _evening_where(table: t.Table, student_id: str, night: date) -> Any:
    return and_(table.c.student_id == student_id, table.c.night == night)


def share_where(student_id: str, night: date, subject: str) -> Any:
    return and_(
        _evening_where(t.evening_subjects, student_id, night), t.evening_subjects.c.subject == subject
    )


def reserve(
    engine: Engine, proposal: Proposal, spec: EveningSpec, *, now: datetime, hold: timedelta = DRAFT_HOLD
) -> None:
    """Book a proposal as a draft: its conservative minutes on the student's evening, or raise OverBudget.

    All or nothing: the plan, its items, its ledger lines and both reservations, or none of them.
    """
    minutes, typical = _checked_minutes(proposal)
    try:
        try:
            with writing(engine) as conn:
                _book(conn, [_Booking(proposal, spec, minutes, typical)], now + hold, now)
        except _NoRoom:
            # Drafts whose hold has run out give their minutes back first (no scheduler needed).
            if not expire_drafts(engine, now, student_id=proposal.student_id, night=proposal.night):
                raise
            with writing(engine) as conn:
                _book(conn, [_Booking(proposal, spec, minutes, typical)], now + hold, now)
    except _NoRoom as full:  # rolled back: say what is left
        raise _over(engine, proposal, spec, minutes, full.args[0]) from None
    except IntegrityError as exc:  # rolled back
        raise _refused(exc, proposal.plan_id) from None


def reserve_many(
    engine: Engine,
    bookings: Sequence[tuple[Proposal, EveningSpec]],
    *,
    now: datetime,
    hold: timedelta = DRAFT_HOLD,
) -> list[LedgerError | None]:
    """reserve() of sets of different students (a class's sets), each all or nothing as there.

    They are booked together, in one transaction of one statement per kind of row, when every one
    of them fits. If any is refused (a guard takes fewer rows than there are sets, or a ledger line
    is not unique), that transaction is rolled back whole and each set is booked on its own, as
    reserve() books it: a refusal never costs another set its place, and says its own cause. The
    guards and CHECK constraints are the same either way, so nothing here can hold more than an
    evening's cap or a subject's share. Returns, per set, None (booked) or its refusal (a
    LedgerError naming a rule); a refusal that names no rule (a plan id taken) is raised."""
    if len({p.student_id for p, _ in bookings}) != len(bookings):
        raise ValueError("one set per student: a student's sets are booked one by one")
    if len(bookings) > 1 and engine.dialect.supports_sane_multi_rowcount:
        try:
            together = [_Booking(p, spec, *_checked_minutes(p)) for p, spec in bookings]
            with writing(engine) as conn:
                _book(conn, together, now + hold, now)
            return [None] * len(bookings)
        except (LedgerError, _NoRoom, IntegrityError):
            pass  # rolled back: nothing of the batch was written; each set goes on its own
    out: list[LedgerError | None] = []
    for proposal, spec in bookings:
        try:
            reserve(engine, proposal, spec, now=now, hold=hold)
            out.append(None)
        except LedgerError as exc:
            if exc.rule is None:
                raise
            out.append(exc)
    return out


def with_sets(
    conn: Connection, students: Sequence[str], subject: str, night: date, *, ignore: Collection[str] = ()
) -> list[str]:
    """The given students who hold a live set (draft or handed out) of the subject on the night,
    other than the plans in `ignore`."""
    return sorted(
        set(
            conn.execute(
                select(t.plans.c.student_id).where(
                    t.plans.c.student_id.in_(list(students)),
                    t.plans.c.subject == subject,
                    t.plans.c.night == night,
                    t.plans.c.status.in_(SETS_ITEMS),
                    t.plans.c.plan_id.not_in(list(ignore)),
                )
            ).scalars()
        )
    )


def book_class(
    engine: Engine,
    bookings: Sequence[tuple[Proposal, EveningSpec]],
    *,
    now: datetime,
    lock: int,
    replacing: Collection[str] = (),
    keep_taken: bool = False,
    hold: timedelta = DRAFT_HOLD,
) -> list[str]:
    """A class's sets of one subject and night booked in one transaction, all or nothing: the sets,
    and the drafts they replace (`replacing`: discarded, their minutes released, in the same
    transaction). The transaction first holds the class's planning lock (`lock`, see
    service.store.db.hold_lock), then looks again at who has a live set of the subject that night:
    a student given one by someone else since the caller looked is never given a second. Those
    students are left out with `keep_taken` (the others booked); else Taken is raised and nothing
    is written. A draft to replace that is no longer a draft (published or discarded meanwhile), a
    set that no longer fits (OverBudget) or an item twice on one night (C4) also write nothing.
    Returns the students left out."""
    if len({p.student_id for p, _ in bookings}) != len(bookings):
        raise ValueError("one set per student: a student's sets are booked one by one")
    if len({(p.subject, p.night) for p, _ in bookings}) > 1:
        raise ValueError("a class's sets are of one subject and one night")
    together = [_Booking(p, spec, *_checked_minutes(p)) for p, spec in bookings]
    if not together:
        return []
    first = together[0].proposal
    try:
        with writing(engine) as conn:
            hold_lock(conn, lock)
            students = [b.proposal.student_id for b in together]
            taken = with_sets(conn, students, first.subject, first.night, ignore=replacing)
            if taken and not keep_taken:
                raise Taken(taken)
            for plan_id in sorted(replacing):
                claimed = conn.execute(
                    update(t.plans)
                    .where(t.plans.c.plan_id == plan_id, t.plans.c.status == DRAFT)
                    .values(status=DISCARDED, expires_at=None)
                )
                if claimed.rowcount == 1:
                    _release(conn, plan_id)
                    continue
                now_is = conn.execute(
                    select(t.plans.c.student_id, t.plans.c.status).where(t.plans.c.plan_id == plan_id)
                ).first()
                if now_is is not None and now_is.status != DISCARDED:  # published meanwhile: someone else's
                    raise Taken([now_is.student_id])
                # discarded meanwhile (its hold ran out and expire_drafts released it) or gone: its
                # minutes are free already, and no one else has a set (with_sets above)
            rest = [b for b in together if b.proposal.student_id not in taken]
            if rest:
                _book(conn, rest, now + hold, now)
    except _NoRoom as full:
        which = (
            ("各科合计", "all subjects") if full.args[0] == "evening" else ("本科份额", "the subject's share")
        )
        raise OverBudget(
            f"生成期间，有学生今晚的时间（{which[0]}）被别的作业占用了：什么都没有写入，请重新生成",
            f"some student's evening ({which[1]}) was taken by other sets meanwhile: nothing was written; plan again",
            "T5",
        ) from None
    except IntegrityError as exc:
        raise _refused(exc, first.plan_id) from None
    return taken


def replace_draft(
    engine: Engine, proposal: Proposal, spec: EveningSpec, *, now: datetime, hold: timedelta = DRAFT_HOLD
) -> None:
    """A teacher's edit of a live draft (same plan id): in one transaction its old minutes are
    released and the new set is booked under the same guards. Refused whole, the old draft stays."""
    minutes, typical = _checked_minutes(proposal)
    try:
        with writing(engine) as conn:
            claimed = conn.execute(  # a write first: takes SQLite's lock, PostgreSQL's row lock
                update(t.plans)
                .where(
                    t.plans.c.plan_id == proposal.plan_id,
                    t.plans.c.status == DRAFT,
                    t.plans.c.expires_at > now,
                )
                .values(status=DRAFT)
            )
            if claimed.rowcount != 1:
                raise LedgerError(
                    "只能修改未过期的草稿：请重新生成", "only a live draft can be edited: plan it again"
                )
            _release(conn, proposal.plan_id)
            conn.execute(delete(t.plans).where(t.plans.c.plan_id == proposal.plan_id))  # its items go with it
            _book(conn, [_Booking(proposal, spec, minutes, typical)], now + hold, now)
    except _NoRoom as full:
        raise _over(engine, proposal, spec, minutes, full.args[0]) from None
    except IntegrityError as exc:
        raise _refused(exc, proposal.plan_id) from None


def _checked_minutes(proposal: Proposal) -> tuple[float, float]:
    minutes = float(proposal.conservative_minutes)
    typical = sum(item.typical_minutes for item in proposal.items)
    if not proposal.items or minutes <= 0 or minutes + EPS < typical:
        raise LedgerError(
            "计划必须有题目，且保守用时不低于典型用时之和",
            "a plan needs items and a conservative time no lower than their typical total",
            "T10",
        )
    return minutes, typical


def _refused(exc: IntegrityError, plan_id: str) -> LedgerError:
    text = str(exc.orig)
    if (
        "uq_ledger_lines" in text
        or "ledger_lines.student_id, ledger_lines.night, ledger_lines.item_id" in text
    ):
        return LedgerError(
            "这道题今晚已经布置给这名学生了（同一晚不重复布置）",
            "this item is already set for this student tonight (no item twice on one night)",
            "C4",
        )
    return LedgerError(
        f"计划 {plan_id} 已存在或引用了不存在的学生/题目：{exc.orig}",
        f"plan {plan_id} exists already or names an unknown student or item: {exc.orig}",
    )


class _NoRoom(Exception):
    pass


class _Booking(NamedTuple):
    proposal: Proposal
    spec: EveningSpec
    minutes: float  # conservative: what the evening holds for the set
    typical: float


def _book(conn: Connection, bookings: Sequence[_Booking], expires: datetime, now: datetime) -> None:
    """Book sets of different students in the caller's transaction: raise _NoRoom (roll back) unless
    every guarded update takes its row. Each guard is one UPDATE with its parameters per set (an
    executemany: one statement for a class), in student order, so two bookings that share students
    lock their rows in the same order."""
    bookings = sorted(bookings, key=lambda b: b.proposal.student_id)
    open_evenings(conn, [b.spec for b in bookings])  # a write first: SQLite's write lock is taken here
    rows = [
        {"b_student": b.proposal.student_id, "b_night": b.proposal.night, "b_minutes": b.minutes}
        for b in bookings
    ]
    if _guarded_add(conn, t.evening_ledger, t.evening_ledger.c.cap_minutes, rows) != len(rows):
        raise _NoRoom("evening")
    shares = [{**row, "b_subject": b.proposal.subject} for row, b in zip(rows, bookings, strict=True)]
    if _guarded_add(conn, t.evening_subjects, t.evening_subjects.c.allowance_minutes, shares) != len(rows):
        raise _NoRoom("subject")
    conn.execute(
        insert(t.plans),
        [
            {
                "plan_id": b.proposal.plan_id,
                "student_id": b.proposal.student_id,
                "night": b.proposal.night,
                "subject": b.proposal.subject,
                "teacher_id": b.proposal.teacher_id,
                "status": DRAFT,
                "model_version": b.proposal.model_version,
                "typical_minutes": b.typical,
                "conservative_minutes": b.minutes,
                "created_at": now,
                "expires_at": expires,
            }
            for b in bookings
        ],
    )
    conn.execute(
        insert(t.plan_items),
        [
            {
                "plan_id": b.proposal.plan_id,
                "item_id": item.item_id,
                "tier": item.tier,
                "position": k,
                "typical_minutes": item.typical_minutes,
                "reason_zh": item.reason_zh,
                "reason_en": item.reason_en,
            }
            for b in bookings
            for k, item in enumerate(b.proposal.items)
        ],
    )
    conn.execute(
        insert(t.ledger_lines),
        [
            {
                "student_id": b.proposal.student_id,
                "night": b.proposal.night,
                "subject": b.proposal.subject,
                "plan_id": b.proposal.plan_id,
                "item_id": item.item_id,
                "minutes": share,
            }
            for b in bookings
            for item, share in zip(b.proposal.items, _line_shares(b), strict=True)
        ],
    )


def _line_shares(b: _Booking) -> list[float]:
    """Each item's line carries its share of the conservative bound, so the lines sum to what is reserved."""
    scale = b.minutes / b.typical if b.typical > 0 else 0.0
    shares = [item.typical_minutes * scale for item in b.proposal.items]
    shares[-1] = b.minutes - sum(shares[:-1])
    return shares


def _over(engine: Engine, proposal: Proposal, spec: EveningSpec, minutes: float, which: str) -> OverBudget:
    with engine.connect() as conn:
        view = evening_view(conn, proposal.student_id, proposal.night) or EveningView(
            spec.cap_minutes, {}, dict(spec.allowances)
        )
    subject_left = view.allowances.get(proposal.subject, 0.0) - view.reserved.get(proposal.subject, 0.0)
    evening_left = view.cap_minutes - sum(view.reserved.values())
    if which == "evening":
        return OverBudget(
            f"今晚只剩 {max(evening_left, 0):.1f} 分钟（上限 {view.cap_minutes:.0f} 分钟，各科合计），这套作业要 {minutes:.1f} 分钟：请删减 {minutes - max(evening_left, 0):.1f} 分钟",
            f"tonight has {max(evening_left, 0):.1f} minutes left (cap {view.cap_minutes:.0f}, all subjects together); this set needs {minutes:.1f}: cut {minutes - max(evening_left, 0):.1f} minutes",
            "T5",
        )
    return OverBudget(
        f"{proposal.subject} 今晚的份额只剩 {max(subject_left, 0):.1f} 分钟，这套作业要 {minutes:.1f} 分钟；请班主任调剂",
        f"{proposal.subject}'s share of tonight has {max(subject_left, 0):.1f} minutes left; this set needs {minutes:.1f}: ask the head teacher to reallocate",
        "T5",
    )


def evening_view(
    conn: Connection, student_id: str, night: date, *, exclude_plan: str | None = None
) -> EveningView | None:
    """The evening's cap, each subject's share and what each subject holds (without `exclude_plan`);
    None if nothing has been booked on that evening yet."""
    exclude = {student_id: exclude_plan} if exclude_plan is not None else None
    return evening_views(conn, {student_id: night}, exclude=exclude).get(student_id)


def evening_views(
    conn: Connection,
    evenings: Mapping[str, date],
    *,
    exclude: Mapping[str, str] | None = None,
    ignore: Collection[str] = (),
) -> dict[str, EveningView]:
    """evening_view() of several students' evenings (student -> night), with one query per table;
    `exclude`: student -> a plan of theirs left out; `ignore`: plans left out whoever's they are
    (drafts about to be replaced). A student whose evening is not open is absent."""
    if not evenings:
        return {}
    students, nights = sorted(evenings), sorted(set(evenings.values()))
    exclude = exclude or {}
    caps = {
        sid: float(cap)
        for sid, night, cap in conn.execute(
            select(
                t.evening_ledger.c.student_id, t.evening_ledger.c.night, t.evening_ledger.c.cap_minutes
            ).where(t.evening_ledger.c.student_id.in_(students), t.evening_ledger.c.night.in_(nights))
        )
        if evenings[sid] == night
    }
    allowances: dict[str, dict[str, float]] = {}
    for sid, night, subject, minutes in conn.execute(
        select(
            t.evening_subjects.c.student_id,
            t.evening_subjects.c.night,
            t.evening_subjects.c.subject,
            t.evening_subjects.c.allowance_minutes,
        ).where(t.evening_subjects.c.student_id.in_(students), t.evening_subjects.c.night.in_(nights))
    ):
        if evenings[sid] == night:
            allowances.setdefault(sid, {})[subject] = float(minutes)
    reserved: dict[str, dict[str, float]] = {}
    lines = t.ledger_lines.c
    for sid, night, subject, plan_id, minutes in conn.execute(
        select(lines.student_id, lines.night, lines.subject, lines.plan_id, func.sum(lines.minutes))
        .where(lines.student_id.in_(students), lines.night.in_(nights))
        .group_by(lines.student_id, lines.night, lines.subject, lines.plan_id)
    ):
        if evenings[sid] == night and plan_id != exclude.get(sid) and plan_id not in ignore:
            held = reserved.setdefault(sid, {})
            held[subject] = held.get(subject, 0.0) + float(minutes)
    return {
        sid: EveningView(cap, reserved.get(sid, {}), allowances.get(sid, {})) for sid, cap in caps.items()
    }


def _release(conn: Connection, plan_id: str) -> None:
    rows = conn.execute(
        select(
            t.ledger_lines.c.student_id,
            t.ledger_lines.c.night,
            t.ledger_lines.c.subject,
            func.sum(t.ledger_lines.c.minutes).label("minutes"),
        )
        .where(t.ledger_lines.c.plan_id == plan_id)
        .group_by(t.ledger_lines.c.student_id, t.ledger_lines.c.night, t.ledger_lines.c.subject)
    ).all()
    for r in rows:
        _subtract(conn, t.evening_ledger, _evening_where(t.evening_ledger, r.student_id, r.night), r.minutes)
        _subtract(conn, t.evening_subjects, share_where(r.student_id, r.night, r.subject), r.minutes)
    conn.execute(delete(t.ledger_lines).where(t.ledger_lines.c.plan_id == plan_id))


def discard(engine: Engine, plan_id: str) -> bool:
    """Discard a draft and release its minutes; False if it is not a draft (any more)."""
    with writing(engine) as conn:
        claimed = conn.execute(
            update(t.plans)
            .where(t.plans.c.plan_id == plan_id, t.plans.c.status == DRAFT)
            .values(status=DISCARDED, expires_at=None)
        )
        if claimed.rowcount != 1:
            return False
        _release(conn, plan_id)
        return True


def expire_drafts(
    engine: Engine, now: datetime, *, student_id: str | None = None, night: date | None = None
) -> int:
    """Release every draft whose hold has run out (of one student's night, if given); how many."""
    query = select(t.plans.c.plan_id).where(t.plans.c.status == DRAFT, t.plans.c.expires_at <= now)
    if student_id is not None:
        query = query.where(t.plans.c.student_id == student_id)
    if night is not None:
        query = query.where(t.plans.c.night == night)
    with engine.connect() as conn:
        due = list(conn.execute(query).scalars())
    released = 0
    for plan_id in due:
        with writing(engine) as conn:
            claimed = conn.execute(
                update(t.plans)
                .where(t.plans.c.plan_id == plan_id, t.plans.c.status == DRAFT, t.plans.c.expires_at <= now)
                .values(status=DISCARDED, expires_at=None)
            )
            if claimed.rowcount == 1:
                _release(conn, plan_id)
                released += 1
    return released


def publish(engine: Engine, plan_id: str, *, now: datetime) -> None:
    """Publish a live draft: its minutes stay reserved for good, and the set is appended to the
    archive in the same transaction (R2, service.store.archive). An expired draft cannot be published."""
    with writing(engine) as conn:
        done = conn.execute(
            update(t.plans)
            .where(t.plans.c.plan_id == plan_id, t.plans.c.status == DRAFT, t.plans.c.expires_at > now)
            .values(status=PUBLISHED, expires_at=None)
        )
        if done.rowcount != 1:
            status = conn.execute(select(t.plans.c.status).where(t.plans.c.plan_id == plan_id)).scalar()
            if status is None:
                raise LedgerError(f"没有计划 {plan_id}", f"no plan {plan_id}")
            if status == DRAFT:
                raise LedgerError(
                    "草稿已过期，预留的时间已释放：请重新生成",
                    "the draft has expired and its minutes were released: plan again",
                )
            raise LedgerError(f"计划的状态是 {status}，不是草稿", f"the plan is {status}, not a draft")
        archive_published_set(conn, plan_id=plan_id, now=now)  # R2: archived with the publishing
