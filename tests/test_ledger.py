"""The evening budget and its ledger, on SQLite and on a real PostgreSQL.

Rule IDs (POLICY.md): T5 (the whole evening across subjects, concurrent teachers), T6 (weekends),
T1/T8 (default splits), T11 (no performance dependence), T12 (exemptions move nothing), C4 (an
item once per night).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, case, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from benchmarks.ledger import hammer
from service.policy.budget import default_weights, evening_cap
from service.policy.evenings import (
    class_students,
    evening_spec,
    is_exempt,
    record_exemption,
    release_unused,
    set_allocation,
)
from service.policy.ledger import (
    EveningSpec,
    LedgerError,
    OverBudget,
    discard,
    evening_view,
    expire_drafts,
    open_evenings,
    publish,
    reserve,
    reserve_many,
)
from service.policy.policy import PolicyBook, load_policy
from service.policy.proposal import PlannedItem, Proposal
from service.store import tables as t
from tests.conftest import SAMPLES

BOOK = PolicyBook(SAMPLES / "policies")
TUESDAY = date(2026, 11, 10)
NOW = datetime(2026, 11, 10, 16, 0, tzinfo=UTC)
G5 = "east-5-1"


def _students(engine: Engine, class_id: str) -> list[str]:
    with engine.connect() as conn:
        return class_students(conn, class_id)


def _items(engine: Engine, subject: str, n: int) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(t.items.c.item_id)
                .where(t.items.c.subject == subject)
                .order_by(t.items.c.item_id)
                .limit(n)
            ).scalars()
        )


def _spec(engine: Engine, student: str, night: date = TUESDAY) -> EveningSpec:
    with engine.connect() as conn:
        return evening_spec(conn, BOOK, student, night)


def _draft(engine: Engine, plan_id: str, student: str, subject: str, minutes: float, *, night: date = TUESDAY,
           item_offset: int = 0) -> Proposal:  # fmt: skip
    items = _items(engine, subject, item_offset + 2)[item_offset:]
    lines = [PlannedItem(i, "basic", minutes / 3) for i in items]
    return Proposal(plan_id, "t-1", student, night, subject, lines, minutes, minutes)


def _reserved(engine: Engine, student: str, night: date = TUESDAY) -> float:
    with engine.connect() as conn:
        return conn.execute(
            select(t.evening_ledger.c.reserved_minutes).where(
                t.evening_ledger.c.student_id == student, t.evening_ledger.c.night == night
            )
        ).scalar_one()


# --- T5 under concurrency ---------------------------------------------------------------------


@pytest.mark.parametrize("split", [True, False], ids=["with-shares", "evening-guard-only"])
def test_T5_sixteen_teachers_booking_one_class_at_once_never_overbook(
    reference_engine: Engine, split: bool
) -> None:
    url = reference_engine.url.render_as_string(hide_password=False)
    result = hammer(url, workers=16, per_worker=40, seed=11, split=split)
    assert result["students"] == 45 and result["evenings"] == 45
    assert result["over_cap_evenings"] == 0
    assert result["over_share_subjects"] == 0
    assert result["evenings_not_matching_accepted"] == 0  # total reserved == sum of accepted reservations
    assert result["subjects_not_matching_accepted"] == 0
    assert result["accepted"] > 50 and result.get("refused_T5", 0) > 20  # contention was real
    if not split:  # only the evening guard: many evenings were booked to (nearly) the last minute
        assert result["nearly_full_evenings"] >= 10


@pytest.mark.parametrize("split", [True, False], ids=["with-shares", "evening-guard-only"])
def test_T5_teachers_booking_whole_classes_at_once_never_overbook(
    reference_engine: Engine, split: bool
) -> None:
    """reserve_many books a class's sets in one transaction, and set by set when one is refused:
    eight teachers booking ten students' sets at a time, against each other, still never overbook."""
    url = reference_engine.url.render_as_string(hide_password=False)
    result = hammer(url, workers=8, per_worker=12, seed=5, split=split, batch=10)
    assert result["students"] == 45 and result["evenings"] == 45
    assert result["over_cap_evenings"] == 0
    assert result["over_share_subjects"] == 0
    assert result["evenings_not_matching_accepted"] == 0
    assert result["subjects_not_matching_accepted"] == 0
    assert result["accepted"] > 50 and result.get("refused_T5", 0) > 20  # batches fell back, and refused


def test_T5_a_class_booked_together_is_booked_set_by_set_when_one_does_not_fit(
    reference_engine: Engine,
) -> None:
    students = _students(reference_engine, G5)[:3]
    specs = [_spec(reference_engine, s) for s in students]
    subject = sorted(specs[0].allowances)[0]
    reserve(
        reference_engine, _draft(reference_engine, "taken", students[1], subject, 25.0), specs[1], now=NOW
    )
    sets = [
        _draft(reference_engine, f"p{k}", s, subject, 10.0, item_offset=4) for k, s in enumerate(students)
    ]
    refusals = reserve_many(reference_engine, list(zip(sets, specs, strict=True)), now=NOW)
    assert refusals[0] is None and refusals[2] is None
    assert isinstance(refusals[1], OverBudget) and refusals[1].rule == "T5"
    assert [_reserved(reference_engine, s) for s in students] == pytest.approx([10.0, 25.0, 10.0])
    again = [
        _draft(reference_engine, f"q{k}", s, subject, 5.0, item_offset=6) for k, s in enumerate(students)
    ]
    assert reserve_many(reference_engine, list(zip(again, specs, strict=True)), now=NOW) == [None] * 3
    assert [_reserved(reference_engine, s) for s in students] == pytest.approx([15.0, 30.0, 15.0])
    twice = [
        _draft(reference_engine, f"r{k}", s, subject, 2.0, item_offset=6) for k, s in enumerate(students)
    ]
    refusals = reserve_many(reference_engine, list(zip(twice, specs, strict=True)), now=NOW)
    assert [r.rule if r else None for r in refusals] == ["C4", "T5", "C4"]  # each its own cause
    assert [_reserved(reference_engine, s) for s in students] == pytest.approx([15.0, 30.0, 15.0])


def test_T5_the_first_teacher_cannot_take_the_whole_evening(reference_engine: Engine) -> None:
    student = _students(reference_engine, G5)[0]
    spec = _spec(reference_engine, student)
    assert spec.cap_minutes == 60.0 and len(spec.allowances) == 2  # T8 school: two subjects tonight
    first, second = sorted(spec.allowances)
    with pytest.raises(OverBudget) as refused:
        reserve(reference_engine, _draft(reference_engine, "p1", student, first, 45.0), spec, now=NOW)
    assert refused.value.rule == "T5" and "share" in refused.value.en
    reserve(reference_engine, _draft(reference_engine, "p1", student, first, 30.0), spec, now=NOW)
    reserve(reference_engine, _draft(reference_engine, "p2", student, second, 30.0), spec, now=NOW)
    with pytest.raises(OverBudget):
        reserve(
            reference_engine,
            _draft(reference_engine, "p3", student, second, 0.5, item_offset=5),
            spec,
            now=NOW,
        )
    assert _reserved(reference_engine, student) == pytest.approx(60.0)


def test_T5_released_minutes_go_to_other_subjects_tonight_only(reference_engine: Engine) -> None:
    students = _students(reference_engine, G5)
    specs = [_spec(reference_engine, s) for s in students]
    first, second = sorted(specs[0].allowances)
    reserve(reference_engine, _draft(reference_engine, "p1", students[0], first, 10.0), specs[0], now=NOW)
    moved = release_unused(
        reference_engine, BOOK, G5, TUESDAY, first, [second], released_by="head-1", now=NOW
    )
    assert moved == pytest.approx(sum(spec.allowances[first] for spec in specs) - 10.0)
    with reference_engine.connect() as conn:
        view = evening_view(conn, students[0], TUESDAY)
    assert view is not None
    assert view.allowances == {first: pytest.approx(10.0), second: pytest.approx(specs[0].cap_minutes - 10.0)}
    reserve(
        reference_engine,
        _draft(reference_engine, "p2", students[0], second, specs[0].cap_minutes - 10.0),
        specs[0],
        now=NOW,
    )
    with pytest.raises(OverBudget):  # the released subject has nothing left
        reserve(
            reference_engine,
            _draft(reference_engine, "p3", students[0], first, 1.0, item_offset=5),
            specs[0],
            now=NOW,
        )
    wednesday = _spec(reference_engine, students[0], TUESDAY + timedelta(days=1))
    assert sum(wednesday.allowances.values()) == pytest.approx(specs[0].cap_minutes)  # never carried over
    assert max(wednesday.allowances.values()) == pytest.approx(specs[0].cap_minutes / 2)


def test_T5_head_teacher_split_per_weekday(reference_engine: Engine) -> None:
    set_allocation(reference_engine, BOOK, G5, TUESDAY.weekday(), {"math": 2, "chinese": 1})
    spec = _spec(reference_engine, _students(reference_engine, G5)[0])
    assert spec.allowances == {"math": pytest.approx(40.0), "chinese": pytest.approx(20.0)}
    other_day = _spec(reference_engine, _students(reference_engine, G5)[0], TUESDAY + timedelta(days=1))
    assert set(other_day.allowances) != {"math", "chinese"} or other_day.allowances["math"] == pytest.approx(
        30.0
    )
    with pytest.raises(LedgerError):
        set_allocation(reference_engine, BOOK, G5, 7, {"math": 1})
    with pytest.raises(LedgerError):
        set_allocation(reference_engine, BOOK, G5, 1, {"math": 0})
    with pytest.raises(LedgerError, match="has no such subjects: physics"):
        set_allocation(reference_engine, BOOK, G5, 1, {"math": 1, "physics": 1})


def test_T8_T1_shares_never_name_more_subjects_than_the_policy_allows(reference_engine: Engine) -> None:
    with pytest.raises(LedgerError) as refused:
        set_allocation(reference_engine, BOOK, G5, 1, {"math": 1, "chinese": 1, "english": 1})
    assert refused.value.rule == "T8"
    with pytest.raises(LedgerError) as refused:
        set_allocation(reference_engine, BOOK, "east-2-1", 1, {"math": 1, "chinese": 1})
    assert refused.value.rule == "T1"
    set_allocation(
        reference_engine, BOOK, "west-5-1", 1, {"math": 1, "chinese": 1, "english": 1}
    )  # no T8 there
    # Releasing to a third subject: refused while both subjects hold minutes, allowed once one holds none.
    students = _students(reference_engine, G5)
    spec = _spec(reference_engine, students[0])
    first, second = sorted(spec.allowances)
    third = next(s for s in ("chinese", "english", "math", "pe") if s not in spec.allowances)
    reserve(reference_engine, _draft(reference_engine, "p1", students[0], first, 10.0), spec, now=NOW)
    reserve(
        reference_engine,
        _draft(reference_engine, "p2", students[1], second, 10.0),
        _spec(reference_engine, students[1]),
        now=NOW,
    )
    with pytest.raises(LedgerError) as refused:
        release_unused(reference_engine, BOOK, G5, TUESDAY, first, [third], released_by="head-1", now=NOW)
    assert refused.value.rule == "T8"
    assert discard(reference_engine, "p1")
    moved = release_unused(reference_engine, BOOK, G5, TUESDAY, first, [third], released_by="head-1", now=NOW)
    assert moved > 0


# --- the cap itself -----------------------------------------------------------------------------


def test_T6_weekend_and_holiday_evenings_get_the_school_day_cap(reference_engine: Engine) -> None:
    student = _students(reference_engine, G5)[0]
    saturday = _spec(reference_engine, student, date(2026, 11, 14))
    holiday = _spec(reference_engine, student, date(2026, 10, 2))
    school_day = _spec(reference_engine, student)
    assert (saturday.day_type, holiday.day_type, school_day.day_type) == ("weekend", "holiday", "school_day")
    assert saturday.cap_minutes == holiday.cap_minutes == school_day.cap_minutes == 60.0
    makeup = _spec(
        reference_engine, student, date(2026, 10, 10)
    )  # a Saturday the calendar makes a school day
    assert makeup.day_type == "school_day"


def test_T11_the_cap_does_not_depend_on_performance(reference_engine: Engine) -> None:
    students = _students(reference_engine, G5)
    before = [_spec(reference_engine, s) for s in students[:2]]
    items = _items(reference_engine, "math", 30)
    with (
        reference_engine.begin() as conn
    ):  # the first student gets 30 wrong answers and 30 error-book entries
        conn.execute(insert(t.attempts), [
            {"event_id": f"w{k}", "student_id": students[0], "item_id": i, "night": TUESDAY - timedelta(days=1),
             "submitted_at": NOW - timedelta(days=1), "submitted_offset_min": 480, "correct": False,
             "seconds": 600, "score": None, "source": "app"} for k, i in enumerate(items)])  # fmt: skip
        conn.execute(insert(t.error_book), [
            {"entry_id": f"e{k}", "student_id": students[0], "item_id": i, "created_at": NOW - timedelta(days=1),
             "created_offset_min": 480, "error_type": "concept"} for k, i in enumerate(items)])  # fmt: skip
    after = [_spec(reference_engine, s) for s in students[:2]]
    assert after == before
    assert after[0].cap_minutes == after[1].cap_minutes


def test_T11_personal_cap_only_lowers() -> None:
    policy = load_policy(SAMPLES / "policies" / "sch-west.toml")
    assert evening_cap(policy, 8, None) == 80.0
    assert evening_cap(policy, 8, 50) == 50.0
    assert evening_cap(policy, 8, 200) == 80.0


def test_T12_an_exemption_is_recorded_and_moves_no_minutes(reference_engine: Engine) -> None:
    student = _students(reference_engine, G5)[0]
    spec = _spec(reference_engine, student)
    first = sorted(spec.allowances)[0]
    reserve(reference_engine, _draft(reference_engine, "p1", student, first, 20.0), spec, now=NOW)
    tomorrow_before = _spec(reference_engine, student, TUESDAY + timedelta(days=1))
    record_exemption(reference_engine, student, TUESDAY, recorded_by="parent-1", now=NOW, note="发烧")
    with reference_engine.connect() as conn:
        assert is_exempt(conn, student, TUESDAY)
        assert not is_exempt(conn, student, TUESDAY + timedelta(days=1))
    assert _spec(reference_engine, student, TUESDAY + timedelta(days=1)) == tomorrow_before
    assert _spec(reference_engine, student) == spec
    assert _reserved(reference_engine, student) == pytest.approx(20.0)


def test_T1_T8_default_split_invites_no_more_subjects_than_allowed() -> None:
    east = load_policy(SAMPLES / "policies" / "sch-east.toml")
    west = load_policy(SAMPLES / "policies" / "sch-west.toml")
    subjects = ["chinese", "english", "math", "pe"]
    seen = set()
    for weekday in range(5):
        grade2 = default_weights(east, 2, subjects, weekday)
        assert len(grade2) == 1  # T1: one subject per evening in grades 1-2
        seen |= set(grade2)
        assert len(default_weights(east, 5, subjects, weekday)) == 2  # T8 at sch-east
        assert len(default_weights(west, 5, subjects, weekday)) == 4  # no T8 at sch-west
    assert seen == set(subjects)  # the subjects take turns


# --- drafts ---------------------------------------------------------------------------------------


def test_drafts_expire_discard_and_publish(reference_engine: Engine) -> None:
    students = _students(reference_engine, G5)[:3]
    specs = [_spec(reference_engine, s) for s in students]
    subject = sorted(specs[0].allowances)[0]
    for k, (s, spec) in enumerate(zip(students, specs, strict=True)):
        reserve(reference_engine, _draft(reference_engine, f"p{k}", s, subject, 12.0), spec, now=NOW)
    assert discard(reference_engine, "p0") is True
    assert discard(reference_engine, "p0") is False  # twice is harmless
    assert _reserved(reference_engine, students[0]) == 0.0
    publish(reference_engine, "p1", now=NOW + timedelta(minutes=5))
    assert expire_drafts(reference_engine, NOW + timedelta(hours=1)) == 1  # p2 only
    assert _reserved(reference_engine, students[1]) == pytest.approx(12.0)  # published: kept
    assert _reserved(reference_engine, students[2]) == 0.0  # expired: released
    assert discard(reference_engine, "p1") is False  # a published plan is not a draft
    with pytest.raises(LedgerError, match="published"):
        publish(reference_engine, "p1", now=NOW)
    reserve(reference_engine, _draft(reference_engine, "p9", students[2], subject, 5.0), specs[2], now=NOW)
    with pytest.raises(LedgerError, match="expired"):
        publish(reference_engine, "p9", now=NOW + timedelta(hours=2))
    with reference_engine.connect() as conn:
        statuses = dict(conn.execute(select(t.plans.c.plan_id, t.plans.c.status)).all())
    assert statuses == {"p0": "discarded", "p1": "published", "p2": "discarded", "p9": "draft"}


def test_C4_the_same_item_twice_on_one_night_is_refused_whole(reference_engine: Engine) -> None:
    student = _students(reference_engine, G5)[0]
    spec = _spec(reference_engine, student)
    subject = sorted(spec.allowances)[0]
    reserve(reference_engine, _draft(reference_engine, "p1", student, subject, 10.0), spec, now=NOW)
    with pytest.raises(LedgerError) as refused:
        reserve(reference_engine, _draft(reference_engine, "p2", student, subject, 10.0), spec, now=NOW)
    assert refused.value.rule == "C4"
    assert _reserved(reference_engine, student) == pytest.approx(10.0)  # nothing of p2 was written
    with reference_engine.connect() as conn:
        assert conn.execute(select(t.plans.c.plan_id).where(t.plans.c.plan_id == "p2")).first() is None


def test_T5_check_constraint_is_the_backstop(reference_engine: Engine) -> None:
    student = _students(reference_engine, G5)[0]
    spec = _spec(reference_engine, student)
    reserve(
        reference_engine,
        _draft(reference_engine, "p1", student, sorted(spec.allowances)[0], 10.0),
        spec,
        now=NOW,
    )
    with pytest.raises(IntegrityError), reference_engine.begin() as conn:
        conn.execute(update(t.evening_ledger).values(reserved_minutes=t.evening_ledger.c.cap_minutes + 1))
    with pytest.raises(IntegrityError), reference_engine.begin() as conn:
        conn.execute(
            update(t.evening_subjects).values(reserved_minutes=t.evening_subjects.c.allowance_minutes + 1)
        )
    assert _reserved(reference_engine, student) == pytest.approx(10.0)
    with reference_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM evening_subjects")).scalar_one() == 2


def test_T11_a_changed_personal_cap_moves_the_evening_s_cap_unless_plans_are_above_it(
    reference_engine: Engine,
) -> None:
    students = _students(reference_engine, G5)
    s0, s1 = students[0], students[1]
    for student in (s0, s1):
        spec = _spec(reference_engine, student)
        reserve(
            reference_engine,
            _draft(reference_engine, f"p-{student}", student, sorted(spec.allowances)[0], 20.0),
            spec,
            now=NOW,
        )
    with reference_engine.begin() as conn:
        conn.execute(update(t.students).where(t.students.c.student_id.in_([s0, s1])).values(
            personal_cap_minutes=case((t.students.c.student_id == s0, 45), else_=15)))  # fmt: skip
    for student in (s0, s1):
        with reference_engine.begin() as conn:
            open_evenings(conn, [_spec(reference_engine, student)])
    with reference_engine.connect() as conn:
        caps = dict(conn.execute(select(t.evening_ledger.c.student_id, t.evening_ledger.c.cap_minutes)
                                 .where(t.evening_ledger.c.night == TUESDAY)).all())  # fmt: skip
    assert caps[s0] == 45.0  # follows the new rule
    assert caps[s1] == 60.0  # 20 minutes already reserved: stays until a plan is withdrawn


def test_T5_an_expired_draft_gives_its_minutes_back_when_someone_needs_them(reference_engine: Engine) -> None:
    student = _students(reference_engine, G5)[0]
    spec = _spec(reference_engine, student)
    subject = sorted(spec.allowances)[0]
    share = spec.allowances[subject]
    reserve(reference_engine, _draft(reference_engine, "old", student, subject, share), spec, now=NOW)
    with pytest.raises(OverBudget):  # the draft still holds the share
        reserve(
            reference_engine,
            _draft(reference_engine, "new", student, subject, 5.0, item_offset=5),
            spec,
            now=NOW + timedelta(minutes=10),
        )
    later = NOW + timedelta(hours=1)  # its hold has run out: no scheduler needed
    reserve(
        reference_engine,
        _draft(reference_engine, "new", student, subject, 5.0, item_offset=5),
        spec,
        now=later,
    )
    with reference_engine.connect() as conn:
        statuses = dict(conn.execute(select(t.plans.c.plan_id, t.plans.c.status)).all())
    assert statuses == {"old": "discarded", "new": "draft"}
    assert _reserved(reference_engine, student) == pytest.approx(5.0)
