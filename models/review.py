"""When an error-book (错题本) item is due for review.

Half-life regression (Settles & Meeder 2016): the probability that the student now gets an item
right, Δ days after they last met it, is p = m · 2^(-Δ/h), with log2 h = w·x from the review history
(right and wrong answers since the error, the item's difficulty, time since the error) and a
ceiling m = σ(v·x) for items not yet learned. An item is due
when p falls below a threshold. Fitted by maximum likelihood on observed revisits. Baselines for the
benchmark: fixed intervals 1-2-4-7 days, and Leitner boxes (interval 2^(box-1) days).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from models.features import AnswerLog, Priors

DAY = 86_400.0
P_FLOOR, P_CEIL = 0.02, 0.98
FIXED_INTERVALS = (1.0, 2.0, 4.0, 7.0)
REVIEW_FEATURES = ("bias", "right_since_error", "wrong_since_error", "item_logit", "days_since_error_log")


@dataclass
class Revisit:
    """One meeting with an item after the student got it wrong."""

    delta_days: float  # since they last met the item
    right: int  # right answers on it since the error, before this one
    wrong: int  # wrong answers on it since (and including) the error
    item_logit: float  # the item's success rate among other students, as a logit
    days_since_error: float
    box: int  # Leitner box before this meeting
    correct: int  # the outcome
    student: str = ""
    at: float = math.nan


def review_vector(r: Revisit) -> list[float]:
    return [1.0, math.sqrt(1 + r.right), math.sqrt(1 + r.wrong), r.item_logit, math.log1p(r.days_since_error)]


def revisits_of(log: AnswerLog, priors: Priors, min_gap_days: float = 0.25) -> list[Revisit]:
    """Every later meeting with an item the student once got wrong (meetings within a few hours
    of the previous one are the same sitting and are skipped). Needs timestamps."""
    out: list[Revisit] = []
    open_items: dict[
        tuple[str, str], list[float]
    ] = {}  # (student, item) -> [error at, last at, right, wrong, box]
    info = log.item_info
    for student, item, y, at in zip(log.students, log.items, log.correct, log.at, strict=True):
        if at != at:
            continue
        key = (student, item)
        history = open_items.get(key)
        if history is None:
            if not y:
                open_items[key] = [at, at, 0.0, 1.0, 1.0]
            continue
        error_at, last_at, right, wrong, box = history
        delta = (at - last_at) / DAY
        if delta < min_gap_days:
            continue
        rate = priors.item_rate(item, info[item].kps)
        logit = math.log(rate / (1 - rate))
        since_error = (at - error_at) / DAY
        out.append(Revisit(delta, int(right), int(wrong), logit, since_error, int(box), y, student, at))
        history[1] = at
        if y:
            history[2] += 1
            history[4] = box + 1
        else:
            history[3] += 1
            history[4] = 1
    return out


class HalfLifeRegression:
    """p = m · 2^(-Δ/h): log2 h = w·x is the half-life, m = σ(v·x) the recall right after a meeting
    (an error-book item is often not yet learned, so m < 1). Maximum likelihood, L2 penalty."""

    def __init__(self, l2: float = 0.1) -> None:
        self.l2 = l2

    def fit(self, revisits: Sequence[Revisit]) -> HalfLifeRegression:
        if len(revisits) < 10:
            raise ValueError(f"need at least 10 revisits of error-book items to fit, got {len(revisits)}")
        X = np.array([review_vector(r) for r in revisits])
        delta = np.array([r.delta_days for r in revisits])
        y = np.array([r.correct for r in revisits], dtype=np.float64)
        k = X.shape[1]

        def loss(params: np.ndarray) -> float:
            p = self._p(X, delta, params[:k], params[k:])
            penalty = self.l2 * (np.sum(params[1:k] ** 2) + np.sum(params[k + 1 :] ** 2))
            return float(-np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)) / len(y) + penalty / len(y))

        start = np.zeros(2 * k)
        start[0] = 1.0  # a two-day half-life to begin with
        start[k] = 1.0
        params = minimize(loss, start, method="L-BFGS-B").x
        self.coef_, self.ceiling_coef_ = params[:k], params[k:]
        return self

    @staticmethod
    def _p(X: np.ndarray, delta: np.ndarray, w: np.ndarray, v: np.ndarray) -> np.ndarray:
        h = np.exp2(np.clip(X @ w, -6, 10))
        ceiling = 1 / (1 + np.exp(-(X @ v)))
        return np.clip(ceiling * np.exp2(-delta / h), P_FLOOR, P_CEIL)

    def half_life(self, revisit: Revisit) -> float:
        return float(2 ** np.clip(np.dot(self.coef_, review_vector(revisit)), -6, 10))

    def predict(self, revisits: Sequence[Revisit]) -> np.ndarray:
        if not revisits:
            return np.zeros(0)
        X = np.array([review_vector(r) for r in revisits])
        delta = np.array([r.delta_days for r in revisits])
        return self._p(X, delta, self.coef_, self.ceiling_coef_)

    def due_in_days(self, revisit: Revisit, threshold: float = 0.8) -> float:
        """Days after the last meeting at which P(right) falls to `threshold` (0 if already below:
        the item is due now, and practice, not waiting, is what helps)."""
        ceiling = float(1 / (1 + np.exp(-np.dot(self.ceiling_coef_, review_vector(revisit)))))
        if ceiling <= threshold:
            return 0.0
        return -self.half_life(revisit) * math.log2(threshold / ceiling)


def _recall(delta_days: float, half_life: float) -> float:
    return min(max(2 ** (-delta_days / half_life), P_FLOOR), P_CEIL)


def fixed_interval_predict(revisits: Sequence[Revisit]) -> np.ndarray:
    """Baseline: the k-th review's half-life is the k-th fixed interval (1, 2, 4, 7, 7, … days)."""
    out = []
    for r in revisits:
        k = r.right + r.wrong - 1
        out.append(_recall(r.delta_days, FIXED_INTERVALS[min(k, len(FIXED_INTERVALS) - 1)]))
    return np.array(out)


def leitner_predict(revisits: Sequence[Revisit]) -> np.ndarray:
    """Baseline: Leitner boxes; a box's interval 2^(box-1) days is taken as the half-life."""
    return np.array([_recall(r.delta_days, 2.0 ** (r.box - 1)) for r in revisits])
