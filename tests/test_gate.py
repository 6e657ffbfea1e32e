"""The gate: a set proposed by anyone is verified against the database's context, and reserved only
if it passes (SQLite and PostgreSQL). Rule IDs: C2, C4, C5, T5, T12."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, insert, select

from service.policy.evenings import record_exemption, set_allocation
from service.policy.gate import Proposal, bank_timing, context, contexts, submit, submit_many
from service.policy.ledger import LedgerError, publish
from service.policy.policy import PolicyBook
from service.policy.proposal import PlannedItem
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
            (t.items.c.est_minutes <= 3.0)
            | (t.items.c.est_minutes.is_(None) & (t.items.c.kind != "written")),
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
        PlannedItem(i, "basic" if k < 3 else "extension", minutes, review=review) for k, i in enumerate(items)
    ]
    total = minutes * len(items)
    basic = minutes * min(3, len(items))
    return Proposal(plan_id, "teacher-math", student, night, subject, proposed, total * 1.4, basic * 1.4)


def _submit(engine: Engine, proposal: Proposal, now: datetime = NOW):  # type: ignore[no-untyped-def]
    return submit(engine, BOOK, proposal, now=now, timing=bank_timing(engine))


def _plans(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.plans)).scalar_one()


def test_a_hand_written_set_that_keeps_every_rule_is_reserved(school: Engine) -> None:
    student = _student(school)
    outcome = _submit(school, _proposal("p1", student, _bank(school)), now=NOW)
    assert outcome.ok, [str(v) for v in outcome.violations]
    with school.connect() as conn:
        plan = conn.execute(select(t.plans).where(t.plans.c.plan_id == "p1")).one()
    assert plan.status == "draft" and plan.conservative_minutes == pytest.approx(16 * 1.4)


def test_C5_an_item_that_needs_a_parent_is_refused_and_nothing_is_written(school: Engine) -> None:
    student = _student(school)
    parent_item = _bank(school, kind="physical", needs_parent=True, subject="pe", n=1, taught_by=None)
    set_allocation(school, BOOK, G5, NIGHT.weekday(), {"pe": 1, "chinese": 1})
    outcome = _submit(school, _proposal("p1", student, parent_item, subject="pe"), now=NOW)
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
    outcome = _submit(school, _proposal("p1", student, ahead, night=NIGHT - timedelta(days=21)), now=NOW)
    assert {v.rule for v in outcome.violations} == {"C2"}


def test_C4_an_item_set_two_nights_ago_comes_back_only_as_a_review(school: Engine) -> None:
    student = _student(school)
    items = _bank(school)
    sunday = NIGHT - timedelta(days=2)
    set_allocation(school, BOOK, G5, sunday.weekday(), {"math": 1, "chinese": 1})
    assert _submit(school, _proposal("p0", student, items, night=sunday), now=NOW - timedelta(days=2)).ok
    publish(school, "p0", now=NOW - timedelta(days=2))
    again = _submit(school, _proposal("p1", student, items[:1]), now=NOW)
    assert {v.rule for v in again.violations} == {"C4"}
    claimed = _submit(school, _proposal("p2", student, items[:1], review=True), now=NOW)
    assert {v.rule for v in claimed.violations} == {"C4"}  # "review" without an error-book entry
    with school.begin() as conn:
        conn.execute(insert(t.error_book).values(
            entry_id="eb-x", student_id=student, item_id=items[0], created_at=NOW - timedelta(days=2),
            created_offset_min=480, error_type="concept"))  # fmt: skip
    review = _submit(school, _proposal("p3", student, items[:1], review=True), now=NOW)
    assert review.ok
    later = _submit(school, _proposal("p4", student, items[1:2], night=sunday - timedelta(days=3)), now=NOW)
    assert {v.rule for v in later.violations} == {"C4"}  # set for a later night: not earlier either


def test_T12_after_a_parent_s_exemption_written_items_are_refused(school: Engine) -> None:
    student = _student(school)
    record_exemption(school, student, NIGHT, recorded_by="parent-1", now=NOW)
    outcome = _submit(school, _proposal("p1", student, _bank(school)), now=NOW)
    assert {v.rule for v in outcome.violations} == {"T12"} and not outcome.reserved
    oral = _bank(school, kind="practical", n=1)
    assert _submit(school, _proposal("p2", student, oral), now=NOW).ok


def test_T5_a_second_set_in_the_same_subject_gets_only_what_is_left_of_its_share(school: Engine) -> None:
    student = _student(school)
    items = _bank(school, n=8)
    assert _submit(school, _proposal("p1", student, items[:4]), now=NOW).ok  # 22.4 of maths' 30
    outcome = _submit(school, _proposal("p2", student, items[4:]), now=NOW)
    assert {v.rule for v in outcome.violations} == {"T5"} and not outcome.reserved
    assert _submit(school, _proposal("p3", student, items[4:5], minutes=5.0), now=NOW).ok  # 7 more fit


def test_unknown_items_and_empty_sets_are_refused_by_name(school: Engine) -> None:
    student = _student(school)
    with pytest.raises(LedgerError, match="no-such-item"):
        _submit(school, _proposal("p1", student, ["no-such-item"]), now=NOW)
    with pytest.raises(LedgerError, match="no items"):
        _submit(school, _proposal("p1", student, []), now=NOW)
    assert _plans(school) == 0


def test_T2_the_gate_never_takes_a_proposer_s_minutes_below_the_bank_s(school: Engine) -> None:
    """Declaring 0.1 minutes per item does not make a long set fit: the gate's timing is the floor."""
    student = _student(school)
    items = _bank(school, n=12)
    tiny = _proposal("p1", student, items, minutes=0.1)
    outcome = _submit(school, tiny)
    assert not outcome.reserved and {v.rule for v in outcome.violations} <= {"T5", "C4"}
    assert "T5" in {v.rule for v in outcome.violations}
    assert _plans(school) == 0


def test_items_of_another_subject_are_refused_by_name(school: Engine) -> None:
    student = _student(school)
    english = _bank(school, subject="english", n=1, taught_by=None)
    with pytest.raises(LedgerError, match=english[0]):
        _submit(school, _proposal("p1", student, english, subject="math"))


def test_C4_near_duplicate_and_point_caps_hold_for_the_night_not_one_set(school: Engine) -> None:
    student = _student(school)
    with school.connect() as conn:
        group = conn.execute(
            select(t.items.c.dup_group, func.count()).where(t.items.c.subject == "math", t.items.c.grade == 5)
            .group_by(t.items.c.dup_group).having(func.count() >= 2).order_by(t.items.c.dup_group)
        ).first()[0]  # fmt: skip
        same = list(
            conn.execute(
                select(t.items.c.item_id)
                .where(t.items.c.dup_group == group)
                .order_by(t.items.c.item_id)
                .limit(2)
            ).scalars()
        )
    first = _submit(school, _proposal("p1", student, same[:1], minutes=2.0))
    assert first.ok, first.violations
    second = _submit(school, _proposal("p2", student, same[1:2], minutes=2.0))
    assert "C4" in {v.rule for v in second.violations} and not second.reserved


def test_T10_missing_minutes_are_refused_not_ignored(school: Engine) -> None:
    student = _student(school)
    outcome = _submit(school, _proposal("p1", student, _bank(school, n=2), minutes=float("nan")))
    assert {v.rule for v in outcome.violations} == {"T10"} and not outcome.reserved


def test_a_class_s_sets_checked_together_see_what_each_sees_alone(school: Engine) -> None:
    """submit_many reads the class's facts in one go; each set must still be judged on exactly its
    own student's facts: plans tonight, an exemption, an item set two nights ago, the evening."""
    students = [_student(school, k) for k in range(4)]
    items = _bank(school, n=4)
    assert _submit(school, _proposal("tonight", students[0], items[:1])).ok
    sunday = NIGHT - timedelta(days=2)
    set_allocation(school, BOOK, G5, sunday.weekday(), {"math": 1, "chinese": 1})
    assert _submit(school, _proposal("before", students[2], items[1:2], night=sunday)).ok
    record_exemption(school, students[1], NIGHT, recorded_by="guardian-1", now=NOW)
    proposals = [_proposal(f"p{k}", sid, items[1:3]) for k, sid in enumerate(students)]
    with school.connect() as conn:
        together = contexts(conn, BOOK, proposals, [_spec(conn, p) for p in proposals])
        alone = [context(conn, BOOK, p) for p in proposals]
    assert together == alone
    assert together[0][1].tonight and not together[3][1].tonight  # the batch did not mix students
    assert together[1][1].exempt and not together[0][1].exempt
    assert items[1] in together[2][1].recent and not together[3][1].recent

    outcomes = submit_many(school, BOOK, proposals, now=NOW, timings=[bank_timing(school)] * len(proposals))
    assert [o.ok for o in outcomes] == [True, False, False, True]
    assert {v.rule for v in outcomes[1].violations} == {"T12"}
    assert {v.rule for v in outcomes[2].violations} == {"C4"}
    with school.connect() as conn:
        kept = set(conn.execute(select(t.plans.c.plan_id).where(t.plans.c.night == NIGHT)).scalars())
    assert kept == {"tonight", "p0", "p3"}  # a refusal in the batch touched no other set


def test_a_batch_holds_one_set_per_student(school: Engine) -> None:
    student = _student(school)
    items = _bank(school, n=2)
    twice = [_proposal("a", student, items[:1]), _proposal("b", student, items[1:])]
    with pytest.raises(ValueError, match="one proposal per student"):
        submit_many(school, BOOK, twice, now=NOW, timings=[bank_timing(school)] * 2)
    assert _plans(school) == 0


def _spec(conn, proposal: Proposal):  # type: ignore[no-untyped-def]
    from service.policy.evenings import evening_spec

    return evening_spec(conn, BOOK, proposal.student_id, proposal.night)


def test_T5_an_edit_that_does_not_fit_leaves_the_draft_as_it_was(school: Engine) -> None:
    """A teacher's edit swaps the draft's items and minutes in one transaction; an edit that breaks
    the share is refused whole and the old draft keeps its items and its reservation."""
    from service.policy.gate import submit_edit

    student = _student(school)
    items = _bank(school, n=4)
    assert _submit(school, _proposal("p1", student, items[:2], minutes=4.0)).ok

    def held() -> tuple[list[str], float]:
        with school.connect() as conn:
            lines = sorted(
                conn.execute(select(t.plan_items.c.item_id).where(t.plan_items.c.plan_id == "p1")).scalars()
            )
            minutes = conn.execute(
                select(t.evening_ledger.c.reserved_minutes).where(t.evening_ledger.c.student_id == student)
            ).scalar_one()
        return lines, minutes

    before = held()
    too_much = submit_edit(school, BOOK, _proposal("p1", student, items[:4], minutes=9.0), now=NOW,
                           timing=bank_timing(school))  # fmt: skip
    assert {v.rule for v in too_much.violations} == {"T5"} and not too_much.reserved
    assert held() == before
    smaller = submit_edit(school, BOOK, _proposal("p1", student, items[2:3], minutes=3.0), now=NOW,
                          timing=bank_timing(school))  # fmt: skip
    assert smaller.ok, smaller.violations
    lines, minutes = held()
    assert lines == items[2:3] and minutes == pytest.approx(3.0 * 1.4)
