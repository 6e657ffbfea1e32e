"""Watching the champion on live data (issue 20): calibration and coverage of the time bound on the
answers that came in, who marked them, and flags when students drift (slower, or the model no longer
right about them); the data team's route. The sample school's answers, replayed with the models
trained on them."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, func, insert, select, update

from models.bundle import Bundle
from models.calibration import chance_error, expected_calibration_error
from service.model_health import COVERAGE_FLAG, model_health
from service.schemas import ModelHealth
from service.store import tables as t
from service.store.db import make_engine

END = date(2026, 11, 1)  # the sample's last night with answers
START = date(2026, 10, 19)


def test_the_calibration_error_is_chance_for_a_calibrated_model_and_the_shift_for_a_shifted_one() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(0.05, 0.75, 20_000)
    y = (rng.uniform(size=p.size) < p).astype(float)
    calibrated = expected_calibration_error(y, p)
    assert calibrated < 2 * chance_error(y, p) and chance_error(y, p) < 0.02
    assert expected_calibration_error(y, p + 0.2) == pytest.approx(0.2, abs=0.02)


@pytest.fixture(scope="module")
def sample_health(samples_sqlite: str, bundle: Bundle) -> ModelHealth:
    """The sample school's last 14 nights, as trained (read only: computed once for the module)."""
    return model_health(db=make_engine(samples_sqlite), bundle=bundle, version="7", schools=None, days=14)


@pytest.fixture
def school(samples_sqlite: str, tmp_path: Path) -> Engine:
    shutil.copy(Path(samples_sqlite.removeprefix("sqlite:///")), tmp_path / "school.db")
    return make_engine(f"sqlite:///{tmp_path / 'school.db'}")


def test_the_window_s_answers_and_sources_are_counted_per_school_and_subject(
    school: Engine, bundle: Bundle, sample_health: ModelHealth
) -> None:
    health = sample_health
    assert (health.start, health.until) == (START, END)  # the latest night with answers, 14 nights
    with school.connect() as conn:
        in_window = t.attempts.c.night.between(START, END)
        total = conn.execute(select(func.count()).where(in_window)).scalar_one()
        paper_math_east = conn.execute(
            select(func.count()).select_from(t.attempts)
            .join(t.items, t.items.c.item_id == t.attempts.c.item_id)
            .join(t.students, t.students.c.student_id == t.attempts.c.student_id)
            .join(t.classes, t.classes.c.class_id == t.students.c.class_id)
            .where(in_window, t.attempts.c.source == "paper", t.items.c.subject == "math",
                   t.classes.c.school_id == "sch-east")
        ).scalar_one()  # fmt: skip
    assert health.answers == total == sum(g.answers for g in health.groups)
    east_math = next(g for g in health.groups if (g.school_id, g.subject) == ("sch-east", "math"))
    assert east_math.sources["paper"] == pytest.approx(paper_math_east / east_math.answers, abs=1e-4)
    assert sum(b.answers for b in east_math.reliability) == east_math.answers
    assert 0 < east_math.ece < 0.15
    assert {c.school_id for c in health.coverage} == {"sch-east", "sch-west"}
    assert all(c.timed_evenings > 100 and c.timed_within_bound is not None for c in health.coverage)
    only_west = model_health(db=school, bundle=bundle, version="7", schools=["sch-west"], days=14)
    assert {g.school_id for g in only_west.groups} == {"sch-west"}
    assert (
        model_health(db=school, bundle=bundle, version="7", schools=None, until=date(2026, 12, 1)).answers
        == 0
    )


def test_students_slower_and_a_model_no_longer_right_about_them_are_flagged(
    school: Engine, bundle: Bundle, sample_health: ModelHealth
) -> None:
    before = sample_health
    worst = max(g.ece for g in before.groups)
    registered = dataclasses.replace(bundle, metrics={"ece": worst})  # as if registered with that error
    calm = model_health(db=school, bundle=registered, version="7", schools=None, days=14)
    assert not [f for f in calm.flags if f.kind == "calibration"]

    with school.begin() as conn:  # from the window's first night: 2.5× slower, and every answer wrong
        conn.execute(
            update(t.attempts).where(t.attempts.c.night >= START).values(seconds=t.attempts.c.seconds * 5 / 2)
        )
        conn.execute(update(t.attempts).where(t.attempts.c.night >= START).values(correct=False))
    drifted = model_health(db=school, bundle=registered, version="7", schools=None, days=14)
    for was, now in zip(before.coverage, drifted.coverage, strict=True):
        assert now.timed_within_bound is not None and was.timed_within_bound is not None
        assert now.timed_within_bound < min(COVERAGE_FLAG, was.timed_within_bound - 0.3)
    flagged = {(f.kind, f.school_id) for f in drifted.flags}
    assert {("coverage", "sch-east"), ("coverage", "sch-west")} <= flagged
    assert any(f.kind == "calibration" and f.detail_zh and "校准误差" in f.detail_zh for f in drifted.flags)


def test_reported_evenings_are_judged_against_the_published_sets_bound(
    school: Engine, bundle: Bundle
) -> None:
    with school.connect() as conn:
        students = list(
            conn.execute(select(t.students.c.student_id).order_by(t.students.c.student_id).limit(3)).scalars()
        )
    now = datetime(2026, 10, 30, 12, tzinfo=UTC)
    with school.begin() as conn:
        for n, (student, reported) in enumerate(zip(students, (20.0, 44.0, 61.0), strict=True)):
            for subject, bound in (("math", 25.0), ("chinese", 20.0)):  # 45 minutes bound that night
                conn.execute(insert(t.plans).values(
                    plan_id=f"p-{n}-{subject}", student_id=student, night=date(2026, 10, 30), subject=subject,
                    teacher_id="usr-t", status="published", typical_minutes=bound / 1.5,
                    conservative_minutes=bound, created_at=now))  # fmt: skip
            conn.execute(insert(t.evening_reports).values(student_id=student, night=date(2026, 10, 30),
                                                          minutes=reported, reported_by="usr-p", reported_at=now))  # fmt: skip
    health = model_health(db=school, bundle=bundle, version="7", schools=None, days=14)
    reported = {
        c.school_id: (c.reported_evenings, c.reported_within_bound)
        for c in health.coverage
        if c.reported_evenings
    }
    assert sum(n for n, _ in reported.values()) == 3
    assert sum(n * s for n, s in reported.values() if s is not None) == pytest.approx(
        2
    )  # 20 and 44 within 45
