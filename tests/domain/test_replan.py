"""Planning a class again, and planning it twice at once (issue 17), on SQLite and PostgreSQL.

- Two requests for the same class, subject and night racing (two threads, each past the "already has
  sets" check before either books): no student ever holds two live sets; the second is refused as
  if it had come second, or with replan="missing" leaves the students planned meanwhile as they are.
- replace_drafts is all or nothing: a failure midway (an exception inside the booking transaction,
  after the old drafts were discarded and the new sets written; an exception in the planner for one
  student) leaves every old draft as it was, its minutes held, and writes nothing new. A student
  whose new set the verifier refuses keeps their draft.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from service import plans
from service.errors import Conflict
from service.planner import plan as planner
from service.policy import ledger
from service.policy.verifier import Violation
from service.runtime import Services
from service.schemas import ClassPlanOut
from service.store import tables as t
from tests.domain.conftest import CLASS, NIGHT

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


def _plan(svc: Services, replan: plans.Replan | None = None) -> ClassPlanOut:
    return plans.plan_class(db=svc.engine, model=svc.model(), book=svc.book, class_id=CLASS, subject="math",
                            night=NIGHT, focus_kps=[], teacher_id="t-math", now=NOW, replan=replan)  # fmt: skip


def _live(engine: Engine) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """plan id -> (student, status, items) of every live math set of the class tonight."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.plans.c.plan_id, t.plans.c.student_id, t.plans.c.status, t.plan_items.c.item_id)
            .join(t.plan_items, t.plan_items.c.plan_id == t.plans.c.plan_id)
            .join(t.students, t.students.c.student_id == t.plans.c.student_id)
            .where(t.students.c.class_id == CLASS, t.plans.c.night == NIGHT, t.plans.c.subject == "math",
                   t.plans.c.status.in_(["draft", "published", "exempted", "done"]))
            .order_by(t.plans.c.plan_id, t.plan_items.c.position)
        ).all()  # fmt: skip
    out: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    for r in rows:
        sid, status, items = out.get(r.plan_id, (r.student_id, r.status, ()))
        out[r.plan_id] = (sid, status, (*items, r.item_id))
    return out


def _held(engine: Engine) -> dict[str, float]:
    """student -> minutes their evening holds tonight (the ledger's own counter), and per plan the
    ledger lines' sum, keyed by plan id."""
    with engine.connect() as conn:
        evenings = {
            r.student_id: round(r.reserved_minutes, 6)
            for r in conn.execute(select(t.evening_ledger).where(t.evening_ledger.c.night == NIGHT))
        }
        lines = dict(
            conn.execute(
                select(t.ledger_lines.c.plan_id, func.sum(t.ledger_lines.c.minutes))
                .where(t.ledger_lines.c.night == NIGHT)
                .group_by(t.ledger_lines.c.plan_id)
            ).all()
        )
    return {**evenings, **{k: round(float(v), 6) for k, v in lines.items()}}


def _one_set_each(engine: Engine) -> Counter[str]:
    per_student = Counter(sid for sid, _, _ in _live(engine).values())
    assert per_student and max(per_student.values()) == 1, per_student.most_common(3)
    return per_student


def _race(svc: Services, monkeypatch: pytest.MonkeyPatch, replan: plans.Replan | None) -> list[Any]:
    """Two requests planning the class at once. Both read what the class has before either books (the
    real planning_state, with the two requests waiting for each other after their first read), so
    both pass the "already has sets" check: the window a double click or two replicas open."""
    real = plans.planning_state
    both_read = threading.Barrier(2, timeout=120)
    first_reads = iter(range(2))
    guard = threading.Lock()

    def read_then_wait(**kwargs: Any) -> plans.PlanningState:
        state = real(**kwargs)
        with guard:
            first = next(first_reads, None) is not None
        if first:
            both_read.wait()
        return state

    monkeypatch.setattr(plans, "planning_state", read_then_wait)
    results: list[Any] = [None, None]

    def request(k: int) -> None:
        try:
            results[k] = _plan(svc, replan)
        except Exception as exc:  # the answer is asserted below
            results[k] = exc

    threads = [threading.Thread(target=request, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert all(not thread.is_alive() for thread in threads)
    return results


def test_two_plans_of_a_class_at_once_never_give_a_student_two_sets(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = _race(svc, monkeypatch, None)
    won = [r for r in results if isinstance(r, ClassPlanOut)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 1, results
    assert "meanwhile" in lost[0].en and "期间" in lost[0].zh  # said why, in both languages
    drafted = {s.student_id: s.plan_id for s in won[0].students if s.status == "draft"}
    assert lost[0].extra["drafts"] == len(drafted) > 40  # what is there now: the winner's drafts
    per_student = _one_set_each(svc.engine)
    assert set(per_student) == set(drafted)
    assert {pid for pid in _live(svc.engine)} == set(drafted.values())  # nothing of the loser's
    held = _held(svc.engine)
    for s in won[0].students:  # the ledger holds the winner's sets alone
        if s.plan_id:
            assert held[s.student_id] == pytest.approx(s.conservative_minutes, abs=0.01)


def test_two_plans_of_the_missing_students_at_once_plan_each_student_once(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    _plan(svc)
    first = _live(svc.engine)
    for plan_id in list(first)[:10]:  # ten students without a set: both requests plan them at once
        plans.discard_plan(db=svc.engine, plan_id=plan_id)
    results = _race(svc, monkeypatch, "missing")
    assert all(isinstance(r, ClassPlanOut) for r in results), results
    drafted = [s.student_id for r in results for s in r.students if s.status == "draft"]
    kept = Counter(s.status for r in results for s in r.students)
    assert len(drafted) == 10 and len(set(drafted)) == 10, kept  # each planned by one request only
    assert kept["kept"] == 45 + 35, kept  # the other request left them as they were, said so
    notes = [n for r in results for s in r.students if s.status == "kept" for n in s.notes]
    assert sum("meanwhile" in n for n in notes) == 10
    assert len(_one_set_each(svc.engine)) == 45


@pytest.mark.parametrize("where", ["inside the booking", "planning a student"])
def test_replace_drafts_is_all_or_nothing_when_it_fails_midway(
    svc: Services, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    _plan(svc)
    before, held = _live(svc.engine), _held(svc.engine)
    assert len(before) == 45 and all(status == "draft" for _, status, _ in before.values())
    if where == "inside the booking":
        real_book = ledger._book

        def book_then_fail(conn: Any, bookings: Any, *args: Any) -> None:
            real_book(conn, bookings, *args)  # the old drafts are discarded, the new sets written...
            raise RuntimeError("injected: the booking fails before its transaction ends")

        monkeypatch.setattr(ledger, "_book", book_then_fail)
    else:
        real_prepare = planner._prepare
        calls = iter(range(1000))

        def prepare_or_fail(*args: Any) -> Any:
            if next(calls) == 20:
                raise RuntimeError("injected: planning the 21st student fails")
            return real_prepare(*args)

        monkeypatch.setattr(planner, "_prepare", prepare_or_fail)
    with pytest.raises(RuntimeError, match="injected"):
        _plan(svc, "replace_drafts")
    assert _live(svc.engine) == before  # every old draft as it was, nothing new
    assert _held(svc.engine) == held  # and the minutes they hold
    with svc.engine.connect() as conn:
        statuses = Counter(conn.execute(select(t.plans.c.status)).scalars())
    assert statuses == {"draft": 45}  # none discarded, none added
    monkeypatch.undo()
    again = _plan(svc, "replace_drafts")  # and once it works, it replaces them whole
    after = _live(svc.engine)
    assert not set(after) & set(before) and len(after) == 45
    assert {s.plan_id for s in again.students if s.plan_id} == set(after)
    held = _held(svc.engine)
    for plan_id, (sid, _, _) in after.items():  # the old drafts' minutes were released, not leaked
        assert held[sid] == pytest.approx(held[plan_id], abs=1e-6)


def test_a_student_whose_new_set_is_refused_keeps_the_draft(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    _plan(svc)
    before = _live(svc.engine)
    victim, (student, _, items) = next(iter(before.items()))
    real_verify = planner.verify_many

    def refuse_one(engine: Engine, policy_of: Any, proposals: Any, **kwargs: Any) -> list[list[Violation]]:
        found = real_verify(engine, policy_of, proposals, **kwargs)
        return [[*f, Violation("C3", "测试：拒绝", "test: refused")] if p.student_id == student else f
                for p, f in zip(proposals, found, strict=True)]  # fmt: skip

    monkeypatch.setattr(planner, "verify_many", refuse_one)
    out = _plan(svc, "replace_drafts")
    mine = next(s for s in out.students if s.student_id == student)
    assert mine.status == "refused" and mine.plan_id is None
    assert any("earlier draft is kept" in n for n in mine.notes)
    after = _live(svc.engine)
    assert after[victim] == (student, "draft", items)  # the refused student's draft stays
    assert len(after) == 45 and len(_one_set_each(svc.engine)) == 45
    assert not (set(after) - {victim}) & set(before)  # everyone else's was replaced
