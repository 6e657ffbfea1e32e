"""Model tests: estimator conventions, behaviour (direction and invariance), loaders, the time bound."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from models.correctness import CorrectnessModel
from models.duration import DurationModel, replay_time, sessions_of
from models.features import FEATURE_NAMES, MONOTONE, TIME_FEATURES, AnswerLog, StudentState, replay
from tests.conftest import SAMPLES
from training.dataset import TrainingSet, student_fold, training_set
from training.loaders import assist
from training.loaders.contract import load as load_school


@parametrize_with_checks(
    [
        CorrectnessModel(n_estimators=5, min_child_samples=1),
        DurationModel(n_estimators=50, learning_rate=0.3, min_child_samples=1),
    ]
)
def test_estimators_follow_scikit_learn_conventions(estimator, check) -> None:  # type: ignore[no-untyped-def]
    check(estimator)


@pytest.fixture(scope="module")
def school() -> AnswerLog:
    return load_school(SAMPLES).log


@pytest.fixture(scope="module")
def trained(school: AnswerLog) -> tuple[TrainingSet, CorrectnessModel]:
    data = training_set(school)
    return data, CorrectnessModel(n_estimators=200, learning_rate=0.08, min_child_samples=50).fit(
        data.X, data.y, data.groups
    )


def test_training_never_reads_the_ground_truth(tmp_path: Path) -> None:
    """The loader reads only contract files: a folder without ground_truth/ loads the same."""
    for f in SAMPLES.glob("*.csv"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    copied, original = load_school(tmp_path).log, load_school(SAMPLES).log
    assert (copied.students, copied.items, copied.correct, copied.at) == (
        original.students,
        original.items,
        original.correct,
        original.at,
    )


def test_the_model_learns_the_synthetic_school(
    school: AnswerLog, trained: tuple[TrainingSet, CorrectnessModel]
) -> None:
    """Held-out students (by the same fold rule as training) are predicted well above chance."""
    data, _ = trained
    test = np.array([student_fold(s, 5) == 0 for s in school.students])
    model = CorrectnessModel(n_estimators=200, learning_rate=0.08, min_child_samples=50)
    model.fit(data.X[~test], data.y[~test], data.groups[~test])
    auc = roc_auc_score(data.y[test], model.predict_proba(data.X[test])[:, 1])
    assert auc > 0.70


def test_one_more_right_answer_never_lowers_p_correct(
    school: AnswerLog, trained: tuple[TrainingSet, CorrectnessModel]
) -> None:
    """Direction: for many students and items, adding a right answer on one of the item's knowledge
    points (just now) never lowers P(correct) on the item."""
    data, model = trained
    rng = np.random.default_rng(0)
    students = sorted(set(school.students))
    info = school.item_info
    items = sorted(info)
    checked = 0
    for student in rng.choice(students, 25, replace=False):
        rows = [r for r, s in enumerate(school.students) if s == student]
        state = StudentState()
        for r in rows[: rng.integers(1, len(rows))]:
            state.update(
                school.items[r],
                info[school.items[r]],
                school.correct[r],
                data.priors,
                school.at[r],
                school.seconds[r],
            )
        at = school.at[rows[-1]] + 3600
        for item in rng.choice(items, 8, replace=False):
            before = model.predict_proba([state.features(item, info[item], data.priors, at)])[0, 1]
            for kp in info[item].kps:
                practice = next(i for i in items if kp in info[i].kps)
                after_state = _copy_state(state)
                after_state.update(practice, info[practice], 1, data.priors, at, math.nan)
                after = model.predict_proba([after_state.features(item, info[item], data.priors, at)])[0, 1]
                assert after >= before - 1e-12, (student, item, practice, before, after)
                checked += 1
    assert checked >= 200


def _copy_state(state: StudentState) -> StudentState:
    import copy

    return copy.deepcopy(state)


def test_every_feature_a_right_answer_changes_is_constrained() -> None:
    """The monotone constraints cover what a right answer moves (so the test above is no accident)."""
    state = StudentState()
    from models.features import ItemInfo, Priors

    priors = Priors()
    info = ItemInfo(kps=("k1",))
    for y in (0, 1, 0, 0, 1):
        state.update("i1", info, y, priors, 1000.0 * y, 30.0)
    before = state.features("i2", info, priors, 5000.0)
    state.update("i1", info, 1, priors, 5000.0, math.nan)
    after = state.features("i2", info, priors, 5000.0)
    moved = [
        name
        for name, a, b, m in zip(FEATURE_NAMES, before, after, MONOTONE, strict=True)
        if not _same(a, b) and m == 0
    ]
    assert not [n for n in moved if not (n.endswith("_wrong") or n.endswith("_easy"))], moved


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def test_predictions_do_not_depend_on_the_student_id(
    school: AnswerLog, trained: tuple[TrainingSet, CorrectnessModel]
) -> None:
    data, model = trained
    renamed = AnswerLog([f"anon-{hash(s) % 10**9}" for s in school.students], school.items, school.correct,
                        school.at, school.seconds, school.item_info)  # fmt: skip
    np.testing.assert_array_equal(
        model.predict_proba(replay(school, data.priors)), model.predict_proba(replay(renamed, data.priors))
    )


def test_a_new_student_and_a_new_item_get_sensible_priors(
    trained: tuple[TrainingSet, CorrectnessModel],
) -> None:
    """Cold start: an empty history and an unseen item still give a probability from the item's
    knowledge points; an item on a hard point is predicted harder than one on an easy point."""
    data, model = trained
    from models.features import ItemInfo

    rates = sorted(
        (data.priors.kp_rate(k), k) for k in data.priors.kp_answers if data.priors.kp_answers[k] > 100
    )
    easy, hard = rates[-1][1], rates[0][1]
    fresh = StudentState()
    p_easy = model.predict_proba([fresh.features("new-1", ItemInfo(kps=(easy,)), data.priors)])[0, 1]
    p_hard = model.predict_proba([fresh.features("new-2", ItemInfo(kps=(hard,)), data.priors)])[0, 1]
    assert 0.02 < p_hard < p_easy < 0.98


def test_fitting_on_one_kind_of_answer_is_a_clear_error() -> None:
    X = np.zeros((100, len(FEATURE_NAMES)))
    with pytest.raises(ValueError, match="both kinds, right and wrong"):
        CorrectnessModel().fit(X, np.ones(100))


def test_calibration_keeps_the_model_a_clone_able_estimator(
    trained: tuple[TrainingSet, CorrectnessModel],
) -> None:
    _, model = trained
    assert clone(model).get_params() == model.get_params()
    slope, _ = model.calibration_
    assert slope > 0


def test_assist_loader_collapses_multi_skill_rows(tmp_path: Path) -> None:
    (tmp_path / "assist2009_pid_test1.csv").write_text(
        "3,77\n10,10,11,10\n1,2,1,1\n1,1,0,1\n", encoding="utf-8"
    )
    log = assist.load(tmp_path, folds=(1,))[1]
    # problem 10 with skills 1 and 2 is one answer; 11; then 10 again (a new answer: same skill again)
    assert log.items == ["10", "11", "10"] and log.correct == [1, 0, 1]
    assert log.item_info["10"].kps == ("1", "2")


def test_assist_loader_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "assist2009_pid_test1.csv").write_text("3,77\n10,11\n1,2\n1,x\n", encoding="utf-8")
    with pytest.raises(assist.DataError, match=r"assist2009_pid_test1.csv:4: answer 'x'"):
        assist.load(tmp_path, folds=(1,))


def test_the_set_bound_covers_synthetic_evenings(school: AnswerLog) -> None:
    """On the synthetic school, evenings (sessions) held out by time are covered by the 95 % bound
    about as often as promised, and the bound is not wasteful."""
    sessions = sessions_of(school, gap_minutes=90)
    data = training_set(school)
    order = np.argsort([school.at[r] for r in range(len(school))], kind="stable")
    cut_train, cut_cal = school.at[order[int(0.6 * len(order))]], school.at[order[int(0.8 * len(order))]]
    X = replay_time(school, sessions, data.priors)
    seconds = np.asarray(school.seconds)
    at = np.asarray(school.at)
    train = (at < cut_train) & (seconds > 0)
    model = DurationModel(n_estimators=100).fit(X[train], seconds[train])
    groups: dict[int, list[int]] = {}
    for r in np.flatnonzero(at >= cut_train):
        groups.setdefault(int(sessions[r]), []).append(int(r))
    cal = [g for g in groups.values() if at[g[0]] < cut_cal and len(g) >= 3]
    test = [g for g in groups.values() if at[g[0]] >= cut_cal and len(g) >= 3]
    model.calibrate_sets([X[g] for g in cal], [float(np.nansum(seconds[g])) for g in cal])
    actual = np.array([np.nansum(seconds[g]) for g in test])
    bounds = np.array([model.set_bound(X[g]) for g in test])
    assert np.mean(actual > bounds) <= 0.10
    assert np.median(bounds / actual) < 2.0


def test_one_pass_training_features_equal_the_plain_replay(school: AnswerLog) -> None:
    """Training computes correctness and time features in one pass; the correctness features must
    be exactly those of the plain replay that serving's incremental state reproduces."""
    part = school.take(range(5000))
    combined = training_set(part, sessions=sessions_of(part, 120))
    plain = training_set(part)
    np.testing.assert_array_equal(combined.X, plain.X)
    assert combined.X_time is not None and combined.X_time.shape == (5000, len(TIME_FEATURES))


def test_serving_state_updated_one_answer_at_a_time_gives_the_training_features(
    school: AnswerLog, trained: tuple[TrainingSet, CorrectnessModel]
) -> None:
    data, _ = trained
    student = school.students[0]
    rows = [r for r, s in enumerate(school.students) if s == student]
    part = school.take(rows)
    expected = replay(part, data.priors)
    state = StudentState()
    for k, r in enumerate(rows):
        item = school.items[r]
        got = state.features(item, school.item_info[item], data.priors, school.at[r])
        np.testing.assert_array_equal(np.asarray(got), expected[k])
        state.update(
            item, school.item_info[item], school.correct[r], data.priors, school.at[r], school.seconds[r]
        )


def test_a_new_item_is_never_taken_to_be_quicker_than_the_other_items_of_its_point(school: AnswerLog) -> None:
    """Cold start: a never-timed item with a (too) low teacher estimate is not predicted below what
    the other items of its knowledge point take — choosing the cheapest-looking new items would
    otherwise pick exactly those whose estimate is too low — and carries extra uncertainty."""
    from models.features import ItemInfo, StudentState

    data = training_set(school, sessions=sessions_of(school, 90))
    assert data.X_time is not None
    seconds = np.asarray(school.seconds)
    timed = seconds > 0
    model = DurationModel(n_estimators=100).fit_item_spread(data.priors, school.item_info)
    model.fit(data.X_time[timed], seconds[timed])
    assert model.item_tau2_ > 0
    item = max(
        (
            i
            for i in data.priors.item_time_n
            if data.priors.kp_log_seconds(i, school.item_info[i].kps)
            == data.priors.kp_log_seconds(i, school.item_info[i].kps)
        ),
        key=lambda i: data.priors.item_time_n[i],
    )  # the most-timed item whose point has other timed items
    kps = school.item_info[item].kps
    point_minutes = np.exp(data.priors.kp_log_seconds(item, kps)) / 60
    base = school.item_info[item]
    state = StudentState()
    low = ItemInfo(kps, base.kind, base.grade, est_minutes=float(point_minutes) / 10, subject=base.subject)
    mu_new, s2_new = model.item_params(np.array([state.time_features("brand-new", low, data.priors)]))
    _, s2_old = model.item_params(np.array([state.time_features(item, base, data.priors)]))
    assert np.exp(mu_new[0]) / 60 > 0.5 * point_minutes  # not a tenth, as the estimate says
    assert s2_new[0] > s2_old[0]  # less known, wider


def test_features_of_many_items_at_once_equal_one_item_at_a_time(
    school: AnswerLog, trained: tuple[TrainingSet, CorrectnessModel]
) -> None:
    """The planner scores hundreds of items per student with features_many (the student's and each
    point's part computed once); every row must be features()'s, bit for bit."""
    data, _ = trained
    student = school.students[0]
    rows = [r for r, s in enumerate(school.students) if s == student]
    state = StudentState()
    for r in rows[: len(rows) // 2]:
        item = school.items[r]
        state.update(
            item, school.item_info[item], school.correct[r], data.priors, school.at[r], school.seconds[r]
        )
    items = sorted(set(school.items))[:400]
    at = school.at[rows[len(rows) // 2]]
    many = state.features_many([(i, school.item_info[i]) for i in items], data.priors, at)
    one = [state.features(i, school.item_info[i], data.priors, at) for i in items]
    np.testing.assert_array_equal(np.asarray(many), np.asarray(one))
    assert len(many) == len(items) > 100
