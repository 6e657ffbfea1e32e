"""How long homework takes: typical minutes per (student, item), and for a set of items a
conservative bound on the total such that P(actual total > bound) <= 1 - level (5 % by default).

Per item, log-seconds ~ Normal(mu, sigma²), with mu from a LightGBM regressor on
features.TIME_FEATURES (the item's typical time and the student's speed) and sigma from the held-out
residuals. A set's total is the sum of correlated log-normals (an evening has its own pace: the
correlation rho), approximated by a log-normal with the same mean and variance (Fenton-Wilkinson).
The bound is that log-normal's quantile at a factor `q` of standard deviations that is calibrated
on held-out sets (split conformal), so the overrun rate holds on real evenings, not just in theory.
Not a sum of item medians (overruns half the time) nor of item P90s (wastes the evening).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from models.compiled import Compilable
from models.features import (
    ITEM_KINDS,
    SUBJECT_INDEX,
    TIME_FEATURES,
    TIME_PRIOR_WEIGHT,
    AnswerLog,
    ItemInfo,
    Priors,
    StudentState,
)

ITEM_LOG_SECONDS = TIME_FEATURES.index("item_log_seconds")
ITEM_TIMED_LOG = TIME_FEATURES.index("item_timed_log")
EST_MINUTES_LOG = TIME_FEATURES.index("est_minutes_log")
KIND = TIME_FEATURES.index("kind")
GRADE = TIME_FEATURES.index("grade")
KP_LOG_SECONDS = TIME_FEATURES.index("kp_log_seconds")
SUBJECT = TIME_FEATURES.index("subject")


def _group(info: ItemInfo) -> tuple[float, float, float]:
    """(subject, kind, grade) as the time features encode them."""
    kind = float(ITEM_KINDS.index(info.kind)) if info.kind in ITEM_KINDS else math.nan
    grade = float(info.grade) if info.grade is not None else math.nan
    return SUBJECT_INDEX.get(info.subject or "", math.nan), kind, grade


RHO_GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6)


def sessions_of(log: AnswerLog, gap_minutes: float = 30.0) -> np.ndarray:
    """A session number per answer: a student's answers with no gap over `gap_minutes` between
    them form one sitting (an evening's homework)."""
    out = np.empty(len(log), dtype=np.int64)
    session = -1
    previous_student = None
    previous_at = -math.inf
    for row, (student, at) in enumerate(zip(log.students, log.at, strict=True)):
        if student != previous_student or not (at - previous_at <= gap_minutes * 60.0):
            session += 1
        previous_student, previous_at = student, at
        out[row] = session
    return out


def evening_rows(log: AnswerLog, sessions: np.ndarray, mask: np.ndarray | None = None) -> list[list[int]]:
    """The rows of each session (within `mask`) that has any time spent, in order of first row."""
    groups: dict[int, list[int]] = {}
    for row in range(len(log)) if mask is None else np.flatnonzero(mask):
        groups.setdefault(int(sessions[row]), []).append(int(row))
    seconds = np.asarray(log.seconds, dtype=np.float64)
    return [rows for rows in groups.values() if np.nansum(seconds[rows]) > 0]


def replay_time(
    log: AnswerLog,
    sessions: np.ndarray,
    priors_of: Priors | Callable[[str, int], Priors],
    correctness: list[list[float]] | None = None,
) -> np.ndarray:
    """Time features of every answer as known when its session began: the bound for an evening is
    set before the evening, so nothing of the same session may reach it. priors_of is one Priors,
    or (student, session) -> Priors (out-of-fold priors while training). If `correctness` is a
    list, the correctness features of every answer (from just before it) are appended to it in the
    same pass."""
    rows: list[list[float]] = []
    state = StudentState()
    current = None
    info = log.item_info
    start = 0
    n = len(log)
    while start < n:
        end = start
        while end < n and sessions[end] == sessions[start]:
            end += 1
        student = log.students[start]
        if student != current:
            state, current = StudentState(), student
        priors = priors_of if isinstance(priors_of, Priors) else priors_of(student, int(sessions[start]))
        for row in range(start, end):
            rows.append(state.time_features(log.items[row], info[log.items[row]], priors))
        for row in range(start, end):
            item = log.items[row]
            if correctness is not None:
                correctness.append(state.features(item, info[item], priors, log.at[row]))
            state.update(item, info[item], log.correct[row], priors, log.at[row], log.seconds[row])
        start = end
    return np.asarray(rows, dtype=np.float64)


class DurationModel(Compilable, RegressorMixin, BaseEstimator):
    """Regressor of seconds on an item; `set_bound` gives the conservative total for a set."""

    def __init__(
        self,
        level: float = 0.95,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 100,
        n_jobs: int = 2,
        random_state: int = 0,
    ) -> None:
        self.level = level
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.target_tags.positive_only = True  # seconds
        return tags

    def lgb_params(self) -> dict[str, Any]:
        return {
            "objective": "regression",
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "n_jobs": self.n_jobs,
            "random_state": self.random_state,
            "verbose": -1,
        }

    def fit(self, X: Any, y: Any) -> DurationModel:
        """y: seconds spent (> 0)."""
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=np.float64, y_numeric=True)
        X = self._corrected(X)
        if np.any(~(y > 0)):
            raise ValueError("seconds must be positive; drop untimed answers before fitting")
        target = np.log(y)
        rng = np.random.default_rng(self.random_state)
        held_out = rng.random(len(y)) < 0.2
        self.variance_: lgb.Booster | None = None
        if held_out.sum() >= 200 and (~held_out).sum() >= 20:
            first = lgb.LGBMRegressor(**self.lgb_params()).fit(X[~held_out], target[~held_out])
            residual = target[held_out] - first.predict(X[held_out])
            # How uncertain each answer's time is (some students, some items vary more): a
            # regressor of the squared held-out residual.
            self.variance_ = (
                lgb.LGBMRegressor(**{**self.lgb_params(), "n_estimators": 150})
                .fit(X[held_out], residual**2)
                .booster_
            )
        else:
            residual = target - target.mean()
        self.sigma_ = float(max(np.std(residual), 0.05))
        self.booster_ = lgb.LGBMRegressor(**self.lgb_params()).fit(X, target).booster_
        self.rho_ = 0.0
        self.q_ = float(_normal_quantile(self.level))  # until calibrate_sets: the log-normal theory
        return self

    def log_mu(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        return self._forest("booster", self.booster_, self._corrected(X))

    def predict(self, X: Any) -> np.ndarray:
        """Typical (median) seconds per item."""
        return np.exp(self.log_mu(X))

    def log_sigma2(self, X: Any) -> np.ndarray:
        """Variance of each item's log-seconds."""
        if self.variance_ is None:
            return np.full(len(X), self.sigma_**2)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        return np.clip(self._forest("variance", self.variance_, self._corrected(X)), 0.01, 4.0)

    def _forests(self) -> dict[str, lgb.Booster]:
        check_is_fitted(self)
        found = {"booster": self.booster_}
        if self.variance_ is not None:
            found["variance"] = self.variance_
        return found

    def _set_moments(self, mu: np.ndarray, s2: np.ndarray, rho: float) -> tuple[float, float]:
        """(m, s): log of the set total ~ Normal(m, s²), by moment matching."""
        means = np.exp(mu + s2 / 2)
        sds = means * np.sqrt(np.expm1(s2))
        total = float(means.sum())
        variance = float((1 - rho) * (sds**2).sum() + rho * sds.sum() ** 2)
        log_var = math.log1p(variance / total**2)
        return math.log(total) - log_var / 2, math.sqrt(log_var)

    def fit_item_spread(
        self, priors: Priors, item_info: dict[str, ItemInfo], min_answers: int = 5
    ) -> DurationModel:
        """Learn, from items with enough timed answers, what a new item's typical time is likely to
        be and how uncertain that is — call before `fit`.

        A new item (no timed answers yet, e.g. on the day its point is taught) has only the
        teacher's minutes, or nothing, behind its time feature. Here its cold-start value is
        replaced by a regression, fitted on well-timed items, on its anchor — the mean time of the
        other items of its knowledge points, else of items of its kind and grade — and the
        teacher's minutes when given; the regression's residual variance `tau2` is added to the
        item's log-variance, both fading as its own timed answers come in. (Without this, an
        optimiser choosing the cheapest-looking items picks exactly those whose time is most
        underestimated.)"""
        overall = priors.timed_sum / priors.timed if priors.timed > 0 else math.nan
        rows = []
        for item, info in item_info.items():
            n, m, var = priors.item_log_seconds(item)
            if n >= min_answers:
                rows.append(
                    (_group(info), priors.kp_log_seconds(item, info.kps), info.est_minutes, m, var, n)
                )
        self.item_overall_ = overall
        self.item_line_: dict[bool, tuple[float, ...] | None] | None = None
        self.item_tau2_ = 0.0
        self.item_within_ = 1.0
        if len(rows) < 10 or overall != overall:
            return self
        groups: dict[tuple[float, float, float], list[float]] = {}
        for g, _, _, m, _, _ in rows:
            groups.setdefault(g, []).append(m)
        self.item_groups_ = {g: float(np.mean(v)) for g, v in groups.items()}
        residuals, noise = [], []
        lines: dict[bool, tuple[float, ...] | None] = {}
        for with_est in (True, False):
            part = [r for r in rows if (r[2] is not None) == with_est]
            if len(part) < 10:
                lines[with_est] = None
                continue
            anchor = np.array([r[1] if r[1] == r[1] else self.item_groups_[r[0]] for r in part])
            cols = [np.ones(len(part)), anchor]
            if with_est:
                cols.append(np.log(np.array([r[2] for r in part]) * 60.0))
            A = np.column_stack(cols)
            y = np.array([r[3] for r in part])
            coef = np.linalg.lstsq(A, y, rcond=None)[0]
            lines[with_est] = tuple(float(c) for c in coef)
            residuals += list(y - A @ coef)
            noise += [r[4] / r[5] for r in part]
        self.item_line_ = lines
        self.item_tau2_ = (
            max(float(np.mean(np.square(residuals))) - float(np.mean(noise)), 0.0) if residuals else 0.0
        )
        self.item_within_ = max(float(np.median([r[4] for r in rows])), 1e-3)
        return self

    def _cold_estimate(self, X: np.ndarray) -> np.ndarray:
        """The regression's log-seconds for each row's item as if it had no timed answers (NaN where
        no regression applies)."""
        lines = self.item_line_ or {}
        gm = np.array(
            [
                self.item_groups_.get((float(a), float(k), float(g)), np.nan)
                for a, k, g in zip(X[:, SUBJECT], X[:, KIND], X[:, GRADE], strict=True)
            ]
        )
        anchor = np.where(np.isnan(X[:, KP_LOG_SECONDS]), gm, X[:, KP_LOG_SECONDS])
        anchor = np.where(np.isnan(anchor), self.item_overall_, anchor)
        est = X[:, EST_MINUTES_LOG]
        out = np.full(len(X), np.nan)
        with_est = ~np.isnan(est)
        line = lines.get(True)
        if line is not None:
            a, c, b = line
            out[with_est] = a + c * anchor[with_est] + b * (est[with_est] + math.log(60.0))
        line = lines.get(False)
        if line is not None:
            a, c = line
            out[~with_est] = a + c * anchor[~with_est]
        return out

    def _corrected(self, X: np.ndarray) -> np.ndarray:
        """The item's typical-time feature with its cold-start part replaced by the regression."""
        if getattr(self, "item_line_", None) is None:
            return X
        X = X.copy()
        n = np.expm1(np.nan_to_num(X[:, ITEM_TIMED_LOG], nan=0.0))
        est = X[:, EST_MINUTES_LOG]
        old = np.where(np.isnan(est), self.item_overall_, est + math.log(60.0))  # what the feature used
        new = self._cold_estimate(X)
        weight = TIME_PRIOR_WEIGHT / (n + TIME_PRIOR_WEIGHT)  # the fallback's share in the feature
        shift = np.where(np.isnan(new), 0.0, weight * (new - old))
        X[:, ITEM_LOG_SECONDS] += shift
        return X

    def epistemic(self, X: Any) -> np.ndarray:
        """Extra log-variance of each item's typical time for items with few timed answers."""
        tau2 = getattr(self, "item_tau2_", 0.0)
        if tau2 <= 0:
            return np.zeros(len(X))
        n = np.expm1(np.nan_to_num(np.asarray(X, dtype=np.float64)[:, ITEM_TIMED_LOG], nan=0.0))
        return 1.0 / (1.0 / tau2 + n / self.item_within_)

    def _params(self, X_set: Any) -> tuple[np.ndarray, np.ndarray]:
        return self.log_mu(X_set), self.log_sigma2(X_set) + self.epistemic(X_set)

    def _many_params(self, sets: Sequence[Any]) -> list[tuple[np.ndarray, np.ndarray]]:
        """_params of many sets with one call to each booster."""
        if not sets:
            return []
        mu, s2 = self._params(np.vstack(sets))
        ends = np.cumsum([len(s) for s in sets])
        starts = ends - np.array([len(s) for s in sets])
        return [(mu[a:b], s2[a:b]) for a, b in zip(starts, ends, strict=True)]

    def _scores(
        self, sets: Sequence[tuple[np.ndarray, np.ndarray]], actual: np.ndarray, rho: float
    ) -> np.ndarray:
        out = np.empty(len(sets))
        for k, (mu, s2) in enumerate(sets):
            m, s = self._set_moments(mu, s2, rho)
            out[k] = (math.log(actual[k]) - m) / s
        return out

    def calibrate_sets(self, sets: Sequence[Any], actual_seconds: Sequence[float]) -> DurationModel:
        """Split conformal calibration on held-out sets (each a feature matrix of its items): half the
        sets choose the evening correlation rho (the tightest bounds at the level), the other half
        set q so that the bound covers `level` of them."""
        actual = np.asarray(actual_seconds, dtype=np.float64)
        keep = actual > 0
        params = self._many_params([s for s, k in zip(sets, keep, strict=True) if k])
        actual = actual[keep]
        if len(params) < 20:
            raise ValueError(f"need at least 20 timed sets to calibrate the bound, got {len(params)}")
        order = np.random.default_rng(self.random_state).permutation(len(params))
        tune, conformal = order[: len(order) // 2], order[len(order) // 2 :]
        best = None
        for rho in RHO_GRID:
            scores = self._scores([params[i] for i in tune], actual[tune], rho)
            q = _conformal_quantile(scores, self.level)
            ratios = []
            for i in tune:
                m, s = self._set_moments(params[i][0], params[i][1], rho)
                ratios.append(math.exp(m + q * s) / actual[i])
            width = float(np.median(ratios))
            if best is None or width < best[0]:
                best = (width, rho)
        assert best is not None
        self.rho_ = best[1]
        scores = self._scores([params[i] for i in conformal], actual[conformal], self.rho_)
        self.q_ = _conformal_quantile(scores, self.level)
        self.calibration_sets_ = len(conformal)
        return self

    def set_bound(self, X_set: Any) -> float:
        """Seconds that the set's total exceeds with probability at most 1 - level."""
        if len(X_set) == 0:
            return 0.0
        return self.bound_of(*self._params(X_set))

    def item_params(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """(log-median, log-variance) of each item's seconds, for choosing items and bounding sets:
        compute once, bound many subsets.

        An item nobody has been timed on yet is never taken to be quicker than the other items of
        its knowledge points (else of its kind and grade), whatever the teacher's minutes say: a planner that picks the cheapest-looking
        items would otherwise pick exactly those whose estimate is too low (the same items for a
        whole class), and the evening would overrun."""
        X = np.asarray(X, dtype=np.float64)
        mu, s2 = self._params(X)
        cold = (np.nan_to_num(X[:, ITEM_TIMED_LOG], nan=0.0) <= 0) & ~np.isnan(X[:, EST_MINUTES_LOG])
        if np.any(cold) and getattr(self, "item_line_", None) is not None:
            plain = X[cold].copy()
            plain[:, EST_MINUTES_LOG] = np.nan  # as if the teacher had given no minutes
            plain[:, ITEM_LOG_SECONDS] = self.item_overall_
            mu_plain, s2_plain = self._params(plain)
            mu[cold] = np.maximum(mu[cold], mu_plain)
            s2[cold] = np.maximum(s2[cold], s2_plain)
        return mu, s2

    def bound_of(self, mu: np.ndarray, s2: np.ndarray) -> float:
        """set_bound of the items whose item_params are (mu, s2)."""
        if len(mu) == 0:
            return 0.0
        m, s = self._set_moments(np.asarray(mu), np.asarray(s2), self.rho_)
        return math.exp(m + self.q_ * s)


def _conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The ceil((n+1)·level)-th smallest score: covers a new exchangeable set with P >= level."""
    n = len(scores)
    k = min(math.ceil((n + 1) * level), n)
    return float(np.sort(scores)[k - 1])


def _normal_quantile(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(level))
