"""The hidden learners of `jianfu bench learn` (training.learners): the interface's invariants,
for each shipped learner, and the evaluation's own rules on a short run."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest

from training.learners import BKTLearner, TruthLearner, load_learner
from training.synth.world import CST, build_world, log_end

LEARNERS = (TruthLearner, BKTLearner)


@pytest.fixture(scope="module")
def world():
    return build_world(7)


def _pairs(world: Any, n: int = 40) -> list[tuple[str, str, str]]:
    """(student, knowledge point, item) of this grade's points, spread over the students."""
    rng = np.random.default_rng(3)
    by_kp: dict[str, list[str]] = {}
    for item in world.truth.items.values():
        by_kp.setdefault(item.kp_ids[0], []).append(item.item_id)
    keys = sorted(world.truth.state)
    out = []
    for k in rng.choice(len(keys), n, replace=False):
        sid, kp = keys[int(k)]
        items = by_kp[kp]
        out.append((sid, kp, items[int(rng.integers(0, len(items)))]))
    return out


def _at(days: float = 0.0) -> datetime:
    return datetime.combine(log_end() + timedelta(days=1), datetime.min.time(), CST).replace(
        hour=19
    ) + timedelta(days=days)


@pytest.mark.parametrize("cls", LEARNERS)
def test_practice_never_lowers_the_point_at_once(world: Any, cls: type) -> None:
    learner = cls(world.truth)
    rng = np.random.default_rng(1)
    rose = 0
    for sid, kp, item in _pairs(world):
        before = learner.test_score(sid, [kp], _at())
        learner.answer(rng, sid, item, _at())
        after = learner.test_score(sid, [kp], _at())
        assert after >= before - 1e-12, (sid, kp, item)
        rose += after > before + 1e-9
    assert rose > 20  # practice does teach


@pytest.mark.parametrize("cls", LEARNERS)
def test_time_without_practice_only_forgets_and_lessons_never_lower(world: Any, cls: type) -> None:
    learner = cls(world.truth)
    rng = np.random.default_rng(2)
    pairs = _pairs(world)
    for sid, _, item in pairs:  # recent practice, so that there is something to forget
        learner.answer(rng, sid, item, _at())
    fell = 0
    for sid, kp, _ in pairs:
        scores = [learner.test_score(sid, [kp], _at(d)) for d in (0.1, 1, 7, 14, 28)]
        assert all(b <= a + 1e-12 for a, b in itertools.pairwise(scores)), (sid, kp, scores)
        fell += scores[-1] < scores[0] - 1e-6
        before = learner.test_score(sid, [kp], _at(1))
        learner.teach(sid, kp, _at(1))
        assert learner.test_score(sid, [kp], _at(1)) >= before - 1e-12
    assert fell > 20  # forgetting does happen


@pytest.mark.parametrize("cls", LEARNERS)
def test_a_far_too_hard_item_teaches_less_than_one_within_reach(world: Any, cls: type) -> None:
    """The yardstick must not reward failure: for a student, the hardest item of a point adds less
    to the test than an item they can nearly do (the original learner taught more from any wrong
    answer, whatever the difficulty)."""
    learner = cls(world.truth)
    by_kp: dict[str, list[str]] = {}
    for item in world.truth.items.values():
        by_kp.setdefault(item.kp_ids[0], []).append(item.item_id)
    checked = 0
    for sid, kp in sorted(world.truth.state)[::37][:120]:
        p = {i: learner.p_correct(sid, i, _at()) for i in by_kp[kp]}
        hard = min(p, key=p.__getitem__)
        easy = max(p, key=p.__getitem__)
        if p[easy] - p[hard] < 0.1 or p[hard] > 0.4:
            continue
        gain = {i: learner.practice_gain(sid, i, _at(), _at(14), {kp}) for i in (hard, easy)}
        assert gain[hard] < gain[easy], (sid, kp, p[hard], p[easy], gain)
        checked += 1
    assert checked >= 3


def test_learners_are_named_plug_ins() -> None:
    assert load_learner("truth") is TruthLearner
    assert load_learner("training.learners:BKTLearner") is BKTLearner
    with pytest.raises(ValueError, match="module:Class"):
        load_learner("nonsense")


def test_the_evaluation_is_paired_fair_and_keeps_every_rule(bundle: Any) -> None:
    """A few days of `bench learn --quick`: every policy's sets pass the gate, none over the
    conservative bound; no homework gains nothing; the oracle is not beaten beyond noise."""
    from benchmarks.learn import run

    result = run(learners=("truth", "bkt"), seeds=(1,), weeks=0.5, class_ids=("east-5-1",),
                 policies=("jianfu", "random", "difficulty_matched", "oracle"), bundle=bundle,
                 progress=lambda _: None)  # fmt: skip
    assert set(result["learners"]) == {"truth", "bkt"}
    for r in result["learners"].values():
        pol = r["policies"]
        for name, p in pol.items():
            assert p["sets_published"] > 0, name
            assert p["sets_refused_by_gate"] == 0, name
            assert p["bound_over_cap_evenings"] == 0, name
            assert p["minutes"] > 0
            for h in ("end", "14d", "28d"):
                g = p[f"test_gain_{h}"]
                assert g["ci_low"] <= g["mean"] <= g["ci_high"]
        ratio = r["ratio_vs_best_baseline_14d"]
        assert ratio["ci_low"] <= ratio["ratio"] <= ratio["ci_high"]
        best = max(p["test_gain_14d"]["mean"] for n, p in pol.items() if n != "oracle")
        assert pol["oracle"]["test_gain_14d"]["ci_high"] >= best
