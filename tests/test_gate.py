"""The gate: a set proposed by anyone is verified against the database's context, and reserved only
if it passes (SQLite and PostgreSQL). Rule IDs: C2, C4, C5, T5, T12."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from service.policy.gate import Proposal, submit
from service.policy.ledger import LedgerError, PlanLine, publish, record_exemption, set_allocation
from service.policy.policy import PolicyBook
from service.store import tables as t
from tests.conftest import SAMPLES

BOOK = PolicyBook(SAMPLES / "policies")
NIGHT = date(2026, 11, 10)  # a Tuesday
NOW = datetime(2026, 11, 10, 16, 0, tzinfo=UTC)
G5 = "east-5-1"


@pytest.fixture
def school(reference_engine: Engine) -> Engine:
    set_allocation(reference_engine, BOOK, G5, NIGHT.weekday(), {"math": 1, "chinese": 1})  # 30 + 30 minutes
    return reference_engine


def _student(engine: Engine, k: int = 0) -> str:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(t.students.c.student_id)
                .where(t.students.c.class_id == G5, t.students.c.personal_cap_minutes.is_(None))
                .order_by(t.students.c.student_id)
            ).scalars()
        )[k]


def _bank(engine: Engine, *, taught_by: date | None = NIGHT, kind: str = "written", n: int = 4,
          needs_parent: bool = False, subject: str = "math") -> list[str]:  # fmt: skip
    """Items of the subject on distinct knowledge points the class was (or was not yet) taught."""
    query = (
        select(t.items.c.item_id, t.item_kps.c.kp_id, t.items.c.dup_group)
        .join(t.item_kps, t.item_kps.c.item_id == t.items.c.item_id)
        .join(t.teaching_progress, t.teaching_progress.c.kp_id == t.item_kps.c.kp_id)
        .where(
            t.teaching_progress.c.class_id == G5,
            t.items.c.subject == subject,
            t.items.c.kind == kind,
            t.items.c.needs_parent == needs_parent,
        )
        .order_by(t.item_kps.c.kp_id, t.items.c.item_id)
    )
    if taught_by is not None:
        query = query.where(t.teaching_progress.c.taught_on <= taught_by)
    out, kps = [], set()
    with engine.connect() as conn:
        for item_id, kp, _ in conn.execute(query):
            if kp not in kps:
                out.append(item_id)
                kps.add(kp)
    return out[-n:]


def _proposal(plan_id: str, student: str, items: list[str], *, night: date = NIGHT, subject: str = "math",
              minutes: float = 4.0, review: bool = False) -> Proposal:  # fmt: skip
    proposed = [
        PlanLine(i, "basic" if k < 3 else "extension", minutes, review=review) for k, i in enumerate(items)
    ]
    total = minutes * len(items)
    basic = minutes * min(3, len(items))
    return Proposal(plan_id, "teacher-math", student, night, subject, proposed, total * 1.4, basic * 1.4)


def _plans(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.plans)).scalar_one()


def test_a_hand_written_set_that_keeps_every_rule_is_reserved(school: Engine) -> None:
    student = _student(school)
    outcome = submit(school, BOOK, _proposal("p1", student, _bank(school)), now=NOW)
    assert outcome.ok, [str(v) for v in outcome.violations]
    with school.connect() as conn:
        plan = conn.execute(select(t.plans).where(t.plans.c.plan_id == "p1")).one()
    assert plan.status == "draft" and plan.conservative_minutes == pytest.approx(16 * 1.4)


def test_C5_an_item_that_needs_a_parent_is_refused_and_nothing_is_written(school: Engine) -> None:
    student = _student(school)
    parent_item = _bank(school, kind="physical", needs_parent=True, subject="pe", n=1, taught_by=None)
    set_allocation(school, BOOK, G5, NIGHT.weekday(), {"pe": 1, "chinese": 1})
    outcome = submit(school, BOOK, _proposal("p1", student, parent_item, subject="pe"), now=NOW)
    assert {v.rule for v in outcome.violations} == {"C5"}
    assert not outcome.reserved and _plans(school) == 0


def test_C2_the_class_s_own_teaching_progress_decides(school: Engine) -> None:
    student = _student(school)
    later = _bank(school, taught_by=None, n=40)
    with school.connect() as conn:
        taught = dict(
            conn.execute(
                select(t.item_kps.c.item_id, t.teaching_progress.c.taught_on)
                .join(t.teaching_progress, t.teaching_progress.c.kp_id == t.item_kps.c.kp_id)
                .where(t.teaching_progress.c.class_id == G5, t.item_kps.c.item_id.in_(later))
            ).all()
        )
    ahead = [i for i in later if taught[i] > NIGHT - timedelta(days=20)][:1]
    outcome = submit(school, BOOK, _proposal("p1", student, ahead, night=NIGHT - timedelta(days=21)), now=NOW)
    assert {v.rule for v in outcome.violations} == {"C2"}


def test_C4_an_item_set_two_nights_ago_comes_back_only_as_a_review(school: Engine) -> None:
    student = _student(school)
    items = _bank(school)
    sunday = NIGHT - timedelta(days=2)
    set_allocation(school, BOOK, G5, sunday.weekday(), {"math": 1, "chinese": 1})
    assert submit(school, BOOK, _proposal("p0", student, items, night=sunday), now=NOW - timedelta(days=2)).ok
    publish(school, "p0", now=NOW - timedelta(days=2))
    again = submit(school, BOOK, _proposal("p1", student, items[:1]), now=NOW)
    assert {v.rule for v in again.violations} == {"C4"}
    review = submit(school, BOOK, _proposal("p2", student, items[:1], review=True), now=NOW)
    assert review.ok


def test_T12_after_a_parent_s_exemption_written_items_are_refused(school: Engine) -> None:
    student = _student(school)
    record_exemption(school, student, NIGHT, recorded_by="parent-1", now=NOW)
    outcome = submit(school, BOOK, _proposal("p1", student, _bank(school)), now=NOW)
    assert {v.rule for v in outcome.violations} == {"T12"} and not outcome.reserved
    oral = _bank(school, kind="practical", n=1)
    assert submit(school, BOOK, _proposal("p2", student, oral), now=NOW).ok


def test_T5_a_second_set_in_the_same_subject_gets_only_what_is_left_of_its_share(school: Engine) -> None:
    student = _student(school)
    items = _bank(school, n=8)
    assert submit(school, BOOK, _proposal("p1", student, items[:4]), now=NOW).ok  # 22.4 of maths' 30
    outcome = submit(school, BOOK, _proposal("p2", student, items[4:]), now=NOW)
    assert {v.rule for v in outcome.violations} == {"T5"} and not outcome.reserved
    assert submit(school, BOOK, _proposal("p3", student, items[4:5], minutes=5.0), now=NOW).ok  # 7 more fit


def test_unknown_items_and_empty_sets_are_refused_by_name(school: Engine) -> None:
    student = _student(school)
    with pytest.raises(LedgerError, match="no-such-item"):
        submit(school, BOOK, _proposal("p1", student, ["no-such-item"]), now=NOW)
    with pytest.raises(LedgerError, match="no items"):
        submit(school, BOOK, _proposal("p1", student, []), now=NOW)
    assert _plans(school) == 0
