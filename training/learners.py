"""Hidden learners for the learning evaluation (`jianfu bench learn`): plug-ins behind one small
interface, so that jianfu is measured on more than one idea of how students learn.

A learner is built from the synthetic world (its hidden students, items and each student's state at
the end of the logs) and answers four questions:

- `teach(student, kp, at)`: a lesson on the point;
- `answer(rng, student, item, at) -> (correct, seconds)`: do an item (the learner learns from it);
- `test_score(student, kps, at)`: the expected share right on a test of those points, each point's
  whole item bank, averaged over the points (no practice happens);
- `practice_gain(student, item, at, test_at, kps)`: what doing the item now adds to `test_score` at
  `test_at`, in expectation (read only by the oracle, to show the headroom).

Invariants every learner keeps (tests/test_learners.py): practice never lowers the expected test
score on its point at once; time without practice only lowers it (forgetting); a lesson never
lowers it. Two structurally different learners ship:

- `TruthLearner`: the synthetic school's ground truth (training.synth.truth: logistic mastery with
  exponential forgetting of recent gains), corrected so that learning from an item depends on
  whether it is within reach: a far-too-hard item teaches little, and a wrong answer teaches more
  than a right one only on an item the student could nearly do (the original taught 1.6× more from
  any wrong answer, which rewarded failure whatever the difficulty).
- `BKTLearner`: knowledge tracing style — each point is known with a probability; an attempt moves
  it towards known with a chance that depends on reach, not on the outcome; items differ by guess
  and slip only; what was learned fades by a power law towards a stable part that grows with
  spaced (not massed) practice.

Select one with `--learner module:Class` (any class with this constructor and these methods).
"""

from __future__ import annotations

import copy
import importlib
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import numpy as np

from training.synth.truth import SECONDS_PER_DAY, GroundTruth, KPState
from training.synth.world import CST


class Learner(Protocol):
    name: str

    def teach(self, student_id: str, kp_id: str, at: datetime) -> None: ...

    def answer(
        self, rng: np.random.Generator, student_id: str, item_id: str, at: datetime
    ) -> tuple[bool, float]: ...

    def p_correct(self, student_id: str, item_id: str, at: datetime) -> float: ...

    def test_score(self, student_id: str, kp_ids: list[str], at: datetime) -> float: ...

    def practice_gain(
        self, student_id: str, item_id: str, at: datetime, test_at: datetime, kp_ids: set[str]
    ) -> float: ...


def load_learner(spec: str) -> type:
    """`module:Class` -> the class (a short name `truth` or `bkt` means the shipped ones)."""
    spec = SHIPPED.get(spec, spec)
    module, _, name = spec.partition(":")
    if not module or not name:
        raise ValueError(f"学习者应写作 模块:类名，而不是 {spec!r} / a learner is module:Class, not {spec!r}")
    return getattr(importlib.import_module(module), name)


def _sigmoid(x: np.ndarray | float) -> np.ndarray | float:
    return 1.0 / (1.0 + np.exp(-x))


def _minutes(truth: GroundTruth, student_id: str, item_id: str, p: float, rng: np.random.Generator) -> float:
    """Seconds on the item, as the ground truth spends them (slower when it is harder)."""
    item = truth.items[item_id]
    minutes = item.base_minutes * truth.students[student_id].speed * (1 + 0.3 * (1 - p))
    return float(min(6 * 3600, max(10.0, minutes * math.exp(rng.normal(0.0, 0.35)) * 60)))


class _Bank:
    """Each point's whole item bank as arrays (difficulty, guess)."""

    def __init__(self, truth: GroundTruth) -> None:
        by_kp: dict[str, list[str]] = defaultdict(list)
        for item in truth.items.values():
            for kp in item.kp_ids:
                by_kp[kp].append(item.item_id)
        self.difficulty = {
            kp: np.array([truth.items[i].difficulty for i in ids]) for kp, ids in by_kp.items()
        }
        self.guess = {kp: np.array([truth.items[i].guess for i in ids]) for kp, ids in by_kp.items()}


class TruthLearner:
    """The ground truth's learner, with learning that depends on reach (see the module's doc)."""

    name = "truth"

    def __init__(self, truth: GroundTruth) -> None:
        self.truth = copy.deepcopy(truth)
        self.bank = _Bank(self.truth)

    # -- the hidden state -----------------------------------------------------------------------

    def _tau(self, student_id: str, st: KPState) -> float:
        return self.truth.students[student_id].forget_days * (1 + 0.5 * st.practices)

    def _mastery(self, student_id: str, st: KPState, at: datetime) -> float:
        fade = 0.0
        if st.last_practice is not None and st.gain:
            days = max(0.0, (at - st.last_practice).total_seconds() / SECONDS_PER_DAY)
            fade = st.gain * math.exp(-days / self._tau(student_id, st))
        return st.aptitude - 1.0 + 1.5 * st.taught + st.consolidated + fade

    def _known(self, student_id: str, item_id: str, at: datetime) -> float:
        item = self.truth.items[item_id]
        m = sum(self._mastery(student_id, self.truth.state[(student_id, kp)], at) for kp in item.kp_ids)
        return float(_sigmoid(1.7 * (m / len(item.kp_ids) - item.difficulty)))

    def p_correct(self, student_id: str, item_id: str, at: datetime) -> float:
        item = self.truth.items[item_id]
        careless = self.truth.students[student_id].careless
        return item.guess + (1 - item.guess - careless) * self._known(student_id, item_id, at)

    def _kp_score(self, student_id: str, kp_id: str, st: KPState, at: datetime) -> float:
        m = self._mastery(student_id, st, at)
        g = self.bank.guess[kp_id]
        careless = self.truth.students[student_id].careless
        known = _sigmoid(1.7 * (m - self.bank.difficulty[kp_id]))
        return float(np.mean(g + (1 - g - careless) * known))

    def test_score(self, student_id: str, kp_ids: list[str], at: datetime) -> float:
        scores = [self._kp_score(sid, kp, self.truth.state[(sid, kp)], at) for sid, kp in
                  ((student_id, kp) for kp in kp_ids) if (sid, kp) in self.truth.state]  # fmt: skip
        return sum(scores) / len(scores) if scores else 0.0

    # -- lessons and practice ---------------------------------------------------------------------

    def teach(self, student_id: str, kp_id: str, at: datetime) -> None:
        st = self.truth.state.get((student_id, kp_id))
        if st is not None:
            st.taught = 1.0

    def _practise(self, student_id: str, st: KPState, known: float, correct: bool, at: datetime) -> None:
        """Recent gain fades, 30 % of it consolidates, and the attempt adds learning scaled by reach:
        σ(4·(known − 0.25)) — an item the student has almost no hold on teaches little; a wrong
        answer on a reachable item teaches a little more (feedback), on a hopeless one no more."""
        student = self.truth.students[student_id]
        if st.last_practice is not None and st.gain:
            days = max(0.0, (at - st.last_practice).total_seconds() / SECONDS_PER_DAY)
            st.gain *= math.exp(-days / self._tau(student_id, st))
        reach = float(_sigmoid(4.0 * (known - 0.25)))
        feedback = 1.0 if correct else 1.0 + 0.3 * reach
        st.consolidated += 0.3 * st.gain
        st.gain = 0.7 * st.gain + student.learning_rate * 0.3 * reach * feedback * math.exp(-st.practices / 8)
        st.practices += 1
        st.last_practice = at

    def answer(
        self, rng: np.random.Generator, student_id: str, item_id: str, at: datetime
    ) -> tuple[bool, float]:
        item = self.truth.items[item_id]
        known = self._known(student_id, item_id, at)
        careless = self.truth.students[student_id].careless
        p = item.guess + (1 - item.guess - careless) * known
        correct = bool(rng.random() < p)
        seconds = _minutes(self.truth, student_id, item_id, p, rng)
        for kp in item.kp_ids:
            self._practise(student_id, self.truth.state[(student_id, kp)], known, correct, at)
        return correct, seconds

    def practice_gain(
        self, student_id: str, item_id: str, at: datetime, test_at: datetime, kp_ids: set[str]
    ) -> float:
        item = self.truth.items[item_id]
        known = self._known(student_id, item_id, at)
        careless = self.truth.students[student_id].careless
        p = item.guess + (1 - item.guess - careless) * known
        total = 0.0
        for kp in item.kp_ids:
            st = self.truth.state.get((student_id, kp))
            if kp not in kp_ids or st is None:
                continue
            base = self._kp_score(student_id, kp, st, test_at)
            for correct, weight in ((True, p), (False, 1 - p)):
                trial = copy.copy(st)
                self._practise(student_id, trial, known, correct, at)
                total += weight * (self._kp_score(student_id, kp, trial, test_at) - base)
        return total


@dataclass
class _Known:
    p: float  # probability the point is known, at `last`
    stable: float  # the part that does not fade (p >= stable)
    last: datetime
    reps: int


class BKTLearner:
    """Knowledge-tracing style learner with power-law forgetting (see the module's doc). Starts
    from the ground truth's students as they are (P(known) from their mastery against the point's
    typical difficulty) and from then on follows its own rules."""

    name = "bkt"

    def __init__(self, truth: GroundTruth) -> None:
        self.truth = truth  # read only: students' and items' constants
        self.bank = _Bank(truth)
        self.slip = {
            i.item_id: 0.04 + 0.2 * float(_sigmoid(i.difficulty - 1.0)) for i in truth.items.values()
        }
        self.state: dict[tuple[str, str], _Known] = {}
        helper = TruthLearner.__new__(TruthLearner)
        helper.truth = truth
        for (sid, kp), st in truth.state.items():
            if kp not in self.bank.difficulty:
                continue
            at = st.last_practice or datetime(2026, 9, 1, tzinfo=CST)
            m = helper._mastery(sid, st, at)
            p = float(np.clip(_sigmoid(1.7 * (m - float(np.median(self.bank.difficulty[kp])))), 0.02, 0.98))
            self.state[(sid, kp)] = _Known(p, 0.6 * p, at, st.practices)

    def _p_known(self, student_id: str, k: _Known, at: datetime) -> float:
        days = max(0.0, (at - k.last).total_seconds() / SECONDS_PER_DAY)
        scale = 0.5 * self.truth.students[student_id].forget_days * math.sqrt(1 + k.reps)
        return k.stable + (k.p - k.stable) * (1 + days / scale) ** -0.7

    def _item_p(self, student_id: str, item_id: str, known: float) -> float:
        g = self.truth.items[item_id].guess
        return g + (1 - self.slip[item_id] - g) * known

    def p_correct(self, student_id: str, item_id: str, at: datetime) -> float:
        kps = self.truth.items[item_id].kp_ids
        known = sum(self._p_known(student_id, self.state[(student_id, kp)], at) for kp in kps) / len(kps)
        return self._item_p(student_id, item_id, known)

    def _kp_score_of(self, kp_id: str, known: float) -> float:
        g = self.bank.guess[kp_id]
        slip = 0.04 + 0.2 * _sigmoid(self.bank.difficulty[kp_id] - 1.0)
        return float(np.mean(g + (1 - slip - g) * known))

    def test_score(self, student_id: str, kp_ids: list[str], at: datetime) -> float:
        scores = [
            self._kp_score_of(kp, self._p_known(student_id, self.state[(student_id, kp)], at))
            for kp in kp_ids
            if (student_id, kp) in self.state
        ]
        return sum(scores) / len(scores) if scores else 0.0

    def teach(self, student_id: str, kp_id: str, at: datetime) -> None:
        k = self.state.get((student_id, kp_id))
        if k is None:
            return
        now = self._p_known(student_id, k, at)
        rate = min(0.9, 0.45 * self.truth.students[student_id].learning_rate)
        k.p = now + (1 - now) * rate
        k.stable = min(k.p, k.stable + 0.2 * (now - k.stable))
        k.last = at

    def _practise(self, student_id: str, item_id: str, k: _Known, at: datetime) -> None:
        """Consolidation grows with the gap since the last practice (spaced, not massed); the chance
        of learning is the student's rate times reach (σ(4·(P(correct) − 0.3)))."""
        now = self._p_known(student_id, k, at)
        gap = max(0.0, (at - k.last).total_seconds() / SECONDS_PER_DAY)
        stable = k.stable + 0.35 * (now - k.stable) * min(1.0, gap)
        reach = float(_sigmoid(4.0 * (self._item_p(student_id, item_id, now) - 0.3)))
        rate = min(0.6, 0.18 * self.truth.students[student_id].learning_rate) * reach
        k.p = now + (1 - now) * rate
        k.stable = min(k.p, stable)
        k.last = at
        k.reps += 1

    def answer(
        self, rng: np.random.Generator, student_id: str, item_id: str, at: datetime
    ) -> tuple[bool, float]:
        p = self.p_correct(student_id, item_id, at)
        correct = bool(rng.random() < p)
        seconds = _minutes(self.truth, student_id, item_id, p, rng)
        for kp in self.truth.items[item_id].kp_ids:
            self._practise(student_id, item_id, self.state[(student_id, kp)], at)
        return correct, seconds

    def practice_gain(
        self, student_id: str, item_id: str, at: datetime, test_at: datetime, kp_ids: set[str]
    ) -> float:
        total = 0.0
        for kp in self.truth.items[item_id].kp_ids:
            k = self.state.get((student_id, kp))
            if kp not in kp_ids or k is None:
                continue
            base = self._kp_score_of(kp, self._p_known(student_id, k, test_at))
            trial = copy.copy(k)
            self._practise(student_id, item_id, trial, at)
            total += self._kp_score_of(kp, self._p_known(student_id, trial, test_at)) - base
        return total


SHIPPED = {"truth": "training.learners:TruthLearner", "bkt": "training.learners:BKTLearner"}
