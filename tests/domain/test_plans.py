"""service.plans without HTTP: a class plan drafted, verified and reserved; a hand edit refused
whole with the rule it breaks, then accepted; publish; C1 refused on teaching progress."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from service import plans
from service.errors import Conflict, RuleBroken
from service.runtime import Services
from service.schemas import CheckItem, ClassPlanOut
from service.store import tables as t
from tests.conftest import untaught_item
from tests.domain.conftest import CLASS, NIGHT, students_of

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


def _plan(svc: Services) -> ClassPlanOut:
    return plans.plan_class(db=svc.engine, model=svc.model(), book=svc.book, class_id=CLASS, subject="math",
                            night=NIGHT, focus_kps=[], teacher_id="t-math", now=NOW)  # fmt: skip


def _untaught_item(engine: Engine) -> str:
    return untaught_item(engine, NIGHT)[0]


def test_plan_drafts_a_verified_set_for_every_student_within_what_the_evening_has_left(svc: Services) -> None:
    out = _plan(svc)
    assert out.model_version == "7" and len(out.students) == 45
    assert all(s.status == "draft" and s.items and s.levels for s in out.students)
    assert all(s.conservative_minutes <= s.available_minutes + 0.01 for s in out.students)
    with svc.engine.connect() as conn:
        held = dict(
            conn.execute(
                select(t.ledger_lines.c.plan_id, func.sum(t.ledger_lines.c.minutes)).group_by(
                    t.ledger_lines.c.plan_id
                )
            ).all()
        )
    for s in out.students:  # what each draft holds in the ledger is what the plan says
        assert s.plan_id is not None and held[s.plan_id] == pytest.approx(s.conservative_minutes, abs=0.01)


def test_edit_is_refused_whole_with_the_rule_then_accepted_and_published_plans_are_final(
    svc: Services,
) -> None:
    out = _plan(svc)
    mine = next(s for s in out.students if s.student_id == students_of(svc.engine)[0])
    assert mine.plan_id is not None
    ahead = _untaught_item(svc.engine)
    model = svc.model()
    with pytest.raises(RuleBroken) as refused:
        plans.edit_plan(db=svc.engine, model=model, book=svc.book, plan_id=mine.plan_id,
                        items=[CheckItem(item_id=mine.items[0].item_id), CheckItem(item_id=ahead)],
                        teacher_id="t-math", now=NOW)  # fmt: skip
    assert refused.value.rule == "C2" and {v["rule"] for v in refused.value.extra["violations"]} == {"C2"}
    assert any(v["item_id"] == ahead for v in refused.value.extra["violations"])
    with svc.engine.connect() as conn:
        kept = sorted(
            conn.execute(
                select(t.plan_items.c.item_id).where(t.plan_items.c.plan_id == mine.plan_id)
            ).scalars()
        )
    assert kept == sorted(i.item_id for i in mine.items)  # the draft is unchanged

    two = [CheckItem(item_id=i.item_id, tier="basic") for i in mine.items[:2]]
    edited = plans.edit_plan(db=svc.engine, model=model, book=svc.book, plan_id=mine.plan_id, items=two,
                             teacher_id="t-math", now=NOW)  # fmt: skip
    assert [i["item_id"] for i in edited.items] == [i.item_id for i in two]
    assert edited.conservative_minutes >= edited.typical_minutes > 0
    assert plans.publish_plan(db=svc.engine, plan_id=mine.plan_id, now=NOW).status == "published"
    with pytest.raises(Conflict):
        plans.edit_plan(db=svc.engine, model=model, book=svc.book, plan_id=mine.plan_id, items=two,
                        teacher_id="t-math", now=NOW)  # fmt: skip


def test_a_hand_written_set_is_checked_without_reserving_anything(svc: Services) -> None:
    student = students_of(svc.engine)[0]
    result = plans.check_set(db=svc.engine, model=svc.model(), book=svc.book, student_id=student, class_id=CLASS,
                             subject="math", night=NIGHT, items=[CheckItem(item_id=_untaught_item(svc.engine))],
                             checker_id="t-math")  # fmt: skip
    assert not result.ok and {v.rule for v in result.violations} == {"C2"}
    with svc.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.ledger_lines)).scalar_one() == 0


def test_progress_above_the_class_s_grade_is_refused_by_C1_and_writes_nothing(svc: Services) -> None:
    with svc.engine.connect() as conn:
        above = conn.execute(
            select(t.knowledge_points.c.kp_id)
            .where(t.knowledge_points.c.subject == "math", t.knowledge_points.c.grade > 5)
            .order_by(t.knowledge_points.c.kp_id)
            .limit(1)
        ).scalar_one()
        before = conn.execute(select(func.count()).select_from(t.teaching_progress)).scalar_one()
    with pytest.raises(RuleBroken) as refused:
        plans.record_progress(db=svc.engine, class_id=CLASS, grade=5, subject="math", points={above: NIGHT})
    assert refused.value.rule == "C1"
    with svc.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.teaching_progress)).scalar_one() == before
