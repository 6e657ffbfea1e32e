"""The planner on the synthetic school: every student gets a verified tiered set within the evening.

Covers grades 2, 5 and 8, a weekend night, an exempted student (T12), a student with many due
reviews (T11: reviews replace, the budget does not grow), and a second subject planned after the
first on the same night (T5: it gets only what is left). Rule IDs in names where a rule is the point.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, insert, select, text

from models.bundle import Bundle
from service.planner.optimise import Knapsack, brute_force, solve, solve_exact, solve_fallback
from service.planner.plan import ClassPlan, plan_class
from service.policy.evenings import record_exemption, set_allocation
from service.policy.gate import Proposal, context
from service.policy.policy import PolicyBook
from service.policy.proposal import PlannedItem
from service.policy.verifier import verify
from service.store import tables as t
from service.store.db import make_engine
from tests.conftest import SAMPLES

BOOK = PolicyBook(SAMPLES / "policies")
TUESDAY = date(2026, 11, 3)
SATURDAY = date(2026, 11, 7)
NOW = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def school(samples_sqlite: str, tmp_path: Path) -> Engine:
    """A private copy of the database holding all of data_samples/."""
    source = Path(samples_sqlite.removeprefix("sqlite:///"))
    shutil.copy(source, tmp_path / "school.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'school.db'}")
    yield engine
    engine.dispose()


def _taught(engine: Engine, class_id: str, subject: str, night: date, n: int = 2) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(t.teaching_progress.c.kp_id)
                .where(
                    t.teaching_progress.c.class_id == class_id,
                    t.teaching_progress.c.subject == subject,
                    t.teaching_progress.c.taught_on <= night,
                )
                .order_by(t.teaching_progress.c.taught_on.desc(), t.teaching_progress.c.kp_id)
                .limit(n)
            ).scalars()
        )


def _plan(
    engine: Engine, bundle: Bundle, class_id: str, subject: str, night: date = TUESDAY, **kw
) -> ClassPlan:  # type: ignore[no-untyped-def]
    return plan_class(engine, bundle, BOOK, class_id, subject, night, _taught(engine, class_id, subject, night),
                      "teacher-1", now=NOW, **kw)  # fmt: skip


def _reverify(engine: Engine, cp: ClassPlan) -> None:
    """Every drafted set, read back from the database, passes the independent verifier again, and
    the ledger holds exactly its conservative minutes."""
    with engine.connect() as conn:
        for sp in cp.students:
            if sp.status != "draft":
                assert conn.execute(select(t.plans).where(t.plans.c.plan_id == sp.plan_id)).first() is None
                continue
            row = conn.execute(select(t.plans).where(t.plans.c.plan_id == sp.plan_id)).one()
            assert row.status == "draft" and row.conservative_minutes == pytest.approx(
                sp.conservative_minutes, abs=0.01
            )
            lines = conn.execute(select(t.plan_items).where(t.plan_items.c.plan_id == sp.plan_id)).all()
            proposal = Proposal(
                sp.plan_id, "x", sp.student_id, cp.night, cp.subject,
                [PlannedItem(r.item_id, r.tier, r.typical_minutes,
                          review=any(i.review for i in sp.items if i.item_id == r.item_id)) for r in lines],
                row.conservative_minutes, row.conservative_minutes,
            )  # fmt: skip
            hw_set, student, klass, evening, policy = context(conn, BOOK, proposal)
            assert verify(hw_set, student, klass, evening, policy) == []
            assert sp.conservative_minutes <= sp.available_minutes + 0.01
            assert all(i.reason_zh and i.reason_en for i in sp.items)
            assert {i.tier for i in sp.items} <= {"basic", "extension"} and any(
                i.tier == "basic" for i in sp.items
            )


def test_grade_5_every_student_gets_a_verified_tiered_set(school: Engine, bundle: Bundle) -> None:
    set_allocation(school, BOOK, "east-5-1", TUESDAY.weekday(), {"math": 1, "chinese": 1})
    cp = _plan(school, bundle, "east-5-1", "math")
    assert cp.summary["students"] == 45 and cp.summary["planned"] == 45
    _reverify(school, cp)
    assert sum(1 for sp in cp.students if any(i.tier == "extension" for i in sp.items)) > 30
    assert cp.summary["minutes"]["conservative"]["max"] <= 30.0
    assert cp.summary["students_with_reviews"] > 10
    assert any("今天新课" in i.reason_zh for sp in cp.students for i in sp.items)
    levels = {lv for sp in cp.students for lv in sp.levels.values()}
    assert levels <= {"A", "B", "C", "D"} and len(levels) >= 2


def test_T1_grade_2_gets_only_non_written_work_from_one_subject(school: Engine, bundle: Bundle) -> None:
    set_allocation(school, BOOK, "east-2-1", TUESDAY.weekday(), {"math": 1})
    cp = _plan(school, bundle, "east-2-1", "math")
    assert cp.summary["planned"] == 40
    _reverify(school, cp)
    assert {i.kind for sp in cp.students for i in sp.items} <= {"oral", "reading", "practical", "physical"}
    other = _plan(school, bundle, "east-2-1", "chinese")  # no share tonight: nothing is set
    assert other.summary["planned"] == 0 and set(other.summary["by_status"]) == {"no_time"}


def test_grade_8_and_a_stricter_school_cap(school: Engine, bundle: Bundle) -> None:
    cp = _plan(school, bundle, "west-8-1", "math")  # sch-west: 80 minutes in grade 8, four subjects
    assert cp.summary["planned"] == 46
    _reverify(school, cp)
    assert all(sp.available_minutes <= 80 / 4 + 1e-6 for sp in cp.students)


def test_T6_a_weekend_night_gets_no_more_than_a_school_day(school: Engine, bundle: Bundle) -> None:
    weekday = _plan(school, bundle, "east-8-1", "math", TUESDAY)
    weekend = _plan(school, bundle, "east-8-1", "math", SATURDAY)
    _reverify(school, weekend)
    by_student = {sp.student_id: sp.available_minutes for sp in weekday.students}
    assert all(sp.available_minutes <= by_student[sp.student_id] + 1e-6 for sp in weekend.students)
    assert weekend.summary["planned"] == 48


def test_T12_an_exempted_student_gets_nothing_and_keeps_tomorrow_s_budget(
    school: Engine, bundle: Bundle
) -> None:
    set_allocation(school, BOOK, "east-5-1", TUESDAY.weekday(), {"math": 1, "chinese": 1})
    with school.connect() as conn:
        student = conn.execute(
            select(t.students.c.student_id).where(t.students.c.class_id == "east-5-1").limit(1)
        ).scalar_one()
    record_exemption(school, student, TUESDAY, recorded_by="parent", now=NOW)
    cp = _plan(school, bundle, "east-5-1", "math")
    exempt = next(sp for sp in cp.students if sp.student_id == student)
    assert exempt.status == "exempt" and exempt.items == [] and exempt.plan_id is None
    _reverify(school, cp)
    tomorrow = _plan(school, bundle, "east-5-1", "math", TUESDAY + timedelta(days=1))
    others = [sp.available_minutes for sp in tomorrow.students if sp.student_id != student]
    mine = next(sp for sp in tomorrow.students if sp.student_id == student)
    assert mine.available_minutes <= max(others) + 1e-6  # nothing piled onto the next evening


def test_T11_many_due_reviews_replace_new_items_inside_the_same_budget(
    school: Engine, bundle: Bundle
) -> None:
    set_allocation(school, BOOK, "east-5-1", TUESDAY.weekday(), {"math": 1, "chinese": 1})
    with school.connect() as conn:
        student = (
            conn.execute(
                select(t.students.c.student_id)
                .where(t.students.c.class_id == "east-5-1", t.students.c.personal_cap_minutes.is_(None))
                .order_by(t.students.c.student_id)
            )
            .scalars()
            .first()
        )
        before = _plan(school, bundle, "east-5-1", "math").students
    mine_before = next(sp for sp in before if sp.student_id == student)
    # Twelve more wrong answers a week ago, each an open error-book entry.
    with school.connect() as conn:
        taught = _taught(school, "east-5-1", "math", TUESDAY - timedelta(days=8), n=12)
        items = [
            conn.execute(
                select(t.item_kps.c.item_id)
                .where(t.item_kps.c.kp_id == kp)
                .order_by(t.item_kps.c.item_id.desc())
                .limit(1)
            ).scalar_one()
            for kp in taught
        ]
    week_ago = datetime(2026, 10, 27, 12, 0, tzinfo=UTC)
    with school.begin() as conn:
        for table in ("plan_items", "ledger_lines", "evening_subjects", "evening_ledger", "plans"):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(insert(t.attempts), [
            {"event_id": f"rv{k}", "student_id": student, "item_id": i, "night": week_ago.date(),
             "submitted_at": week_ago + timedelta(minutes=k), "submitted_offset_min": 480, "correct": False,
             "seconds": 300, "score": None, "source": "app"} for k, i in enumerate(items)])  # fmt: skip
        conn.execute(insert(t.error_book), [
            {"entry_id": f"rv{k}", "student_id": student, "item_id": i, "created_at": week_ago + timedelta(minutes=k),
             "created_offset_min": 480, "error_type": "concept", "event_id": f"rv{k}"} for k, i in enumerate(items)])  # fmt: skip
    after = _plan(school, bundle, "east-5-1", "math")
    mine = next(sp for sp in after.students if sp.student_id == student)
    assert mine.available_minutes == mine_before.available_minutes  # the budget did not grow (T11)
    assert mine.conservative_minutes <= mine.available_minutes + 0.01
    reviews = [i for i in mine.items if i.review]
    assert 1 <= len(reviews) <= 3  # reviews take places, today's lesson keeps one
    assert any("今天新课" in i.reason_zh for i in mine.items)
    _reverify(school, after)


def test_T5_a_second_subject_planned_after_the_first_gets_only_what_is_left(
    school: Engine, bundle: Bundle
) -> None:
    # sch-west has no T8: four subjects share grade 5's 60 minutes; the head teacher gives math half.
    set_allocation(school, BOOK, "west-5-1", TUESDAY.weekday(), {"math": 2, "chinese": 1, "english": 1})
    math = _plan(school, bundle, "west-5-1", "math")
    chinese = _plan(school, bundle, "west-5-1", "chinese")
    _reverify(school, chinese)
    with school.connect() as conn:
        rows = conn.execute(select(t.evening_ledger).where(t.evening_ledger.c.night == TUESDAY)).all()
    assert rows and all(r.reserved_minutes <= r.cap_minutes + 1e-9 for r in rows)
    for m, c in zip(math.students, chinese.students, strict=True):
        assert c.available_minutes <= 15.0 + 1e-6  # chinese's share, whatever math left
        assert m.conservative_minutes + c.conservative_minutes <= 60.0 + 0.01


def test_R5_the_class_summary_ranks_no_one(school: Engine, bundle: Bundle) -> None:
    set_allocation(school, BOOK, "east-5-1", TUESDAY.weekday(), {"math": 1, "chinese": 1})
    cp = _plan(school, bundle, "east-5-1", "math")
    attention = cp.summary["attention_by_level"]
    assert [a["student_id"] for a in attention] == sorted(
        a["student_id"] for a in attention
    )  # by id, not by score
    assert all(set(a["levels"].values()) <= {"A", "B", "C", "D"} for a in attention)
    text_of_summary = repr(cp.summary).lower()
    assert "rank" not in text_of_summary and "p_correct" not in text_of_summary


# --- the optimiser ---------------------------------------------------------------------------


def _random_problem(rng: np.random.Generator, n: int) -> Knapsack:
    value = rng.uniform(0, 3, n)
    weight = rng.uniform(0.5, 10, n)
    groups = [
        (rng.choice(n, size=int(rng.integers(2, 5)), replace=False), int(rng.integers(1, 3)))
        for _ in range(n // 4)
    ]
    return Knapsack(value, weight, float(rng.uniform(5, 40)), groups)


def test_exact_optimiser_matches_brute_force_and_fallback_stays_close() -> None:
    rng = np.random.default_rng(5)
    ratios = []
    for _ in range(150):
        problem = _random_problem(rng, int(rng.integers(4, 15)))
        optimum = brute_force(problem)
        exact = solve_exact(problem, time_limit=5.0)
        assert exact is not None and exact.proven_optimal
        assert exact.objective == pytest.approx(optimum, abs=1e-9) and problem.feasible(exact.chosen)
        fallback = solve_fallback(problem)
        assert problem.feasible(fallback.chosen)
        ratios.append(fallback.objective / optimum if optimum else 1.0)
    assert np.median(ratios) >= 0.99


def test_solve_falls_back_when_time_runs_out() -> None:
    problem = _random_problem(np.random.default_rng(1), 400)
    solution = solve(problem, time_limit=1e-6)
    assert solution.method == "fallback" and problem.feasible(solution.chosen) and solution.objective > 0


def test_the_state_cache_equals_a_fresh_replay_after_new_and_late_answers(
    school: Engine, bundle: Bundle
) -> None:
    from service.planner.context import StateCache, load_class

    policy = BOOK("sch-east")
    cache = StateCache(bundle.priors)
    with school.connect() as conn:
        load_class(conn, policy, "east-5-1", "math", TUESDAY, bundle.priors, cache)
        students = [
            r
            for r in conn.execute(
                select(t.students.c.student_id).where(t.students.c.class_id == "east-5-1")
            ).scalars()
        ][:3]
        items = list(
            conn.execute(select(t.items.c.item_id).where(t.items.c.subject == "math").limit(3)).scalars()
        )
    answers = [(TUESDAY, datetime(2026, 11, 3, 12, k, tzinfo=UTC)) for k in range(3)]  # tonight's homework
    answers.append((date(2026, 10, 20), datetime(2026, 10, 20, 12, 0, tzinfo=UTC)))  # a late paper upload
    with school.begin() as conn:
        conn.execute(insert(t.attempts), [
            {"event_id": f"new{k}", "student_id": students[k % 3], "item_id": items[k % 3], "night": night,
             "submitted_at": at, "submitted_offset_min": 480, "correct": k % 2 == 0, "seconds": 200,
             "score": None, "source": "paper"} for k, (night, at) in enumerate(answers)])  # fmt: skip
    wednesday = TUESDAY + timedelta(days=1)
    with school.connect() as conn:
        cached = load_class(conn, policy, "east-5-1", "math", wednesday, bundle.priors, cache)
        fresh = load_class(conn, policy, "east-5-1", "math", wednesday, bundle.priors)
    probe = cached.candidates[:20]
    for a, b in zip(cached.students, fresh.students, strict=True):
        assert a.state.index == b.state.index
        for c in probe:
            assert a.state.features(c.item_id, c.info, bundle.priors, cached.evening_at) == pytest.approx(
                b.state.features(c.item_id, c.info, bundle.priors, fresh.evening_at), nan_ok=True
            )
        assert a.recent == b.recent
    assert sum(s.state.index for s in cached.students) > 0


def test_a_state_cache_sees_items_and_answers_another_process_wrote(
    school: Engine, bundle: Bundle, tmp_path: Path
) -> None:
    """Two caches stand for two processes: what the other one imported and recorded (a new item, an
    answer to it, a changed item) is read from the database, never missed; states equal a fresh replay."""
    from service.planner.context import StateCache, load_class
    from service.store.attempts import Answer, record_answers
    from service.store.importer import import_files

    policy = BOOK("sch-east")
    mine = StateCache(bundle.priors)
    with school.connect() as conn:
        first = load_class(conn, policy, "east-5-1", "math", TUESDAY, bundle.priors, mine)
    student = first.students[0].student_id
    header = "item_id,subject,kp_ids,grade,kind,stem,needs_parent,dup_group,est_minutes,answer\n"
    new = tmp_path / "items-new.csv"
    new.write_text(
        header + "math-g5-18-901,math,math-g5-18,5,written,计算：12 × 3.5 = ？,0,math-g5-18-v9,2,42\n"
    )
    assert import_files(school, [new]).committed  # "the other process" imports an item ...
    record_answers(school, student, [Answer("other-1", "math-g5-18-901", TUESDAY,  # ... and an answer
                                            datetime(2026, 11, 3, 12, 0, tzinfo=UTC), False, 90)])  # fmt: skip
    wednesday = TUESDAY + timedelta(days=1)
    with school.connect() as conn:
        cached = load_class(conn, policy, "east-5-1", "math", wednesday, bundle.priors, mine)
    assert "math-g5-18-901" in mine.item_info()
    changed = tmp_path / "items-changed.csv"  # the bank's minutes of an item the states were built with
    changed.write_text(
        header + "math-g5-18-901,math,math-g5-18,5,written,计算：12 × 3.5 = ？,0,math-g5-18-v9,4,42\n"
    )
    assert import_files(school, [changed]).committed
    with school.connect() as conn:
        again = load_class(conn, policy, "east-5-1", "math", wednesday, bundle.priors, mine)
        fresh = load_class(conn, policy, "east-5-1", "math", wednesday, bundle.priors)
    assert mine.item_info()["math-g5-18-901"].est_minutes == 4
    probe = [c for c in fresh.candidates if c.item_id == "math-g5-18-901"] + fresh.candidates[:10]
    for a, b in zip(again.students, fresh.students, strict=True):
        assert a.state.index == b.state.index
        for c in probe:
            assert a.state.features(c.item_id, c.info, bundle.priors, again.evening_at) == pytest.approx(
                b.state.features(c.item_id, c.info, bundle.priors, fresh.evening_at), nan_ok=True
            )
    assert cached.students[0].state.index == again.students[0].state.index


def test_C4_items_set_or_done_for_a_later_night_are_not_proposed(school: Engine, bundle: Bundle) -> None:
    """Planning a night when later nights already hold work (a teacher planning ahead, or answers
    recorded for later nights): the planner leaves those items out itself, so the gate has nothing
    to refuse and no set is shrunk."""
    from service.policy.ledger import discard

    first = _plan(school, bundle, "east-5-1", "math")
    student = next(p for p in first.students if sum(not i.review for i in p.items) >= 2)
    for p in first.students:
        if p.plan_id:
            discard(school, p.plan_id)
    taken = [i.item_id for i in student.items if not i.review]  # reviews may come back (C4)
    thursday = TUESDAY + timedelta(days=2)
    with school.begin() as conn:
        conn.execute(insert(t.plans).values(
            plan_id="ahead", student_id=student.student_id, night=thursday, subject="math",
            teacher_id="teacher-1", status="published", typical_minutes=5.0, conservative_minutes=8.0,
            created_at=NOW))  # fmt: skip
        conn.execute(insert(t.plan_items), [
            {"plan_id": "ahead", "item_id": taken[0], "tier": "basic", "position": 0, "typical_minutes": 2.0,
             "reason_zh": "", "reason_en": ""}])  # fmt: skip
        conn.execute(insert(t.attempts).values(
            event_id="later-1", student_id=student.student_id, item_id=taken[1], night=thursday + timedelta(days=1),
            submitted_at=datetime(2026, 11, 6, 12, tzinfo=UTC), submitted_offset_min=480, correct=True,
            seconds=100, score=None, source="app"))  # fmt: skip
    again = _plan(school, bundle, "east-5-1", "math")
    mine = next(p for p in again.students if p.student_id == student.student_id)
    assert mine.status == "draft" and not {taken[0], taken[1]} & {i.item_id for i in mine.items}
    assert not any(p.notes or p.violations for p in again.students)
    _reverify(school, again)


def test_compiled_forests_predict_what_lightgbm_predicts(bundle: Bundle, tmp_path: Path) -> None:
    """Serving compiles the forests (models.compiled); the predictions must stay LightGBM's, rows
    with missing values included; the compiled code never goes into a pickle and comes back from
    the cache."""
    import pickle

    from models.features import FEATURES, TIME_FEATURES

    plain = pickle.loads(pickle.dumps(bundle))
    fast = pickle.loads(pickle.dumps(bundle)).compile(tmp_path / "forests", threads=2)
    rng = np.random.default_rng(7)
    X = rng.normal(size=(3000, len(FEATURES)))
    X[rng.random(X.shape) < 0.2] = np.nan
    X_time = rng.normal(size=(3000, len(TIME_FEATURES)))
    X_time[rng.random(X_time.shape) < 0.2] = np.nan
    np.testing.assert_allclose(fast.p_correct(X), plain.p_correct(X), rtol=0, atol=1e-12)
    for a, b in zip(fast.duration.item_params(X_time), plain.duration.item_params(X_time), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
    assert "compiled_" not in pickle.loads(pickle.dumps(fast)).correctness.__dict__
    libraries = sorted((tmp_path / "forests").glob("*.so"))
    assert len(libraries) == 3  # correctness, typical time, its spread
    again = pickle.loads(pickle.dumps(bundle)).compile(tmp_path / "forests")
    assert sorted((tmp_path / "forests").glob("*.so")) == libraries
    np.testing.assert_allclose(again.p_correct(X), plain.p_correct(X), rtol=0, atol=1e-12)
