"""Published baselines for P(correct), run on the same split as jianfu's model.

- IRT-1PL: P = σ(θ_student − b_item); b from training answers, θ the posterior mean (standard-normal
  prior, on a grid) given the student's earlier answers only.
- Best-LR (Gervet et al. 2020): logistic regression on one-hot item and skills, per-skill log counts of
  earlier attempts and right answers, and the same totals.
- pyBKT: Bayesian knowledge tracing per skill (the PyPI package); a question with several skills gets
  the mean of its skills' predictions.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from models.features import AnswerLog


def _index(values: Sequence[str]) -> dict[str, int]:
    return {v: i for i, v in enumerate(dict.fromkeys(values))}


class IRT1PL:
    def fit(self, log: AnswerLog) -> IRT1PL:
        right: dict[str, float] = {}
        seen: dict[str, float] = {}
        for item, y in zip(log.items, log.correct, strict=True):
            seen[item] = seen.get(item, 0.0) + 1
            right[item] = right.get(item, 0.0) + y
        rate = (sum(log.correct) + 1) / (len(log) + 2)
        self.default_ = -math.log(rate / (1 - rate))
        self.difficulty_ = {}
        for item, n in seen.items():
            p = (right[item] + 2 * rate) / (n + 2)
            self.difficulty_[item] = -math.log(p / (1 - p))
        return self

    def predict(self, log: AnswerLog) -> np.ndarray:
        grid = np.linspace(-5, 5, 101)
        prior = -0.5 * grid**2
        out = np.empty(len(log))
        current = None
        log_post = prior
        for row, (student, item, y) in enumerate(zip(log.students, log.items, log.correct, strict=True)):
            if student != current:
                current, log_post = student, prior.copy()
            b = self.difficulty_.get(item, self.default_)
            weights = np.exp(log_post - log_post.max())
            theta = float(weights @ grid / weights.sum())  # posterior mean of θ from earlier answers
            out[row] = 1 / (1 + math.exp(-(theta - b)))
            p = 1 / (1 + np.exp(-(grid - b)))
            log_post = log_post + np.log(p if y else 1 - p)
        return out


class BestLR:
    def fit(self, log: AnswerLog) -> BestLR:
        self.items_ = _index(log.items)
        self.skills_ = _index([k for kps in log.kps_of() for k in kps])
        self.model_ = LogisticRegression(max_iter=2000, C=1.0, solver="lbfgs")
        self.model_.fit(self._design(log), np.asarray(log.correct))
        return self

    def _design(self, log: AnswerLog) -> sp.csr_matrix:
        n_items, n_skills = len(self.items_), len(self.skills_)
        # columns: items | skills | per-skill log attempts | per-skill log right | total attempts, right
        width = n_items + 3 * n_skills + 2
        rows, cols, vals = [], [], []
        current = None
        attempts: dict[int, int] = {}
        rights: dict[int, int] = {}
        total = total_right = 0
        for row, (student, item, kps, y) in enumerate(
            zip(log.students, log.items, log.kps_of(), log.correct, strict=True)
        ):
            if student != current:
                current, attempts, rights, total, total_right = student, {}, {}, 0, 0
            entries = []
            if item in self.items_:
                entries.append((self.items_[item], 1.0))
            skill_ids = [self.skills_[k] for k in kps if k in self.skills_]
            for s in skill_ids:
                entries.append((n_items + s, 1.0))
                entries.append((n_items + n_skills + s, math.log1p(attempts.get(s, 0))))
                entries.append((n_items + 2 * n_skills + s, math.log1p(rights.get(s, 0))))
            entries.append((width - 2, math.log1p(total)))
            entries.append((width - 1, math.log1p(total_right)))
            for c, v in entries:
                rows.append(row)
                cols.append(c)
                vals.append(v)
            for s in skill_ids:
                attempts[s] = attempts.get(s, 0) + 1
                rights[s] = rights.get(s, 0) + y
            total += 1
            total_right += y
        return sp.csr_matrix((vals, (rows, cols)), shape=(len(log), width))

    def predict(self, log: AnswerLog) -> np.ndarray:
        return np.asarray(self.model_.predict_proba(self._design(log))[:, 1])


def _import_pybkt() -> Any:
    """pyBKT 1.4.3, at import, calls every scikit-learn metric on lists to see which it supports and
    expects unsupported ones to raise TypeError; scikit-learn 1.9's private `_log_loss` raises
    AttributeError instead. For the length of the import, such errors are reported as TypeError."""
    import re
    import sys

    if "pyBKT.models" not in sys.modules:
        import sklearn.metrics._classification as classification
        import sklearn.metrics._regression as regression

        saved = []
        for module in (classification, regression):
            for name in dir(module):
                function = getattr(module, name)
                if re.search("_loss$|_score$|_error$", name) and callable(function):
                    saved.append((module, name, function))
                    setattr(module, name, _type_errors_only(function))
        try:
            import pyBKT.fit.EM_fit as em_fit
            from pyBKT.models import Model
        finally:
            for module, name, function in saved:
                setattr(module, name, function)
        # Its EM stores a (1, 1) array into one element of an array, which NumPy 2 refuses: hand
        # EM_fit the same log-likelihood as a plain number.
        e_step = em_fit.run

        def run_scalar(*args, **kwargs):
            result = e_step(*args, **kwargs)
            result["total_loglike"] = float(np.asarray(result["total_loglike"]).reshape(-1)[0])
            return result

        em_fit.run = run_scalar
        return Model
    return sys.modules["pyBKT.models"].Model


def _type_errors_only(function):
    def probe(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except TypeError:
            raise
        except Exception as exc:
            raise TypeError(str(exc)) from exc

    return probe


class PyBKT:
    """pyBKT's Model, fitted per skill on the answers expanded to one row per skill."""

    def __init__(self, seed: int = 42, num_fits: int = 1) -> None:
        self.seed = seed
        self.num_fits = num_fits

    @staticmethod
    def _frame(log: AnswerLog):  # type: ignore[no-untyped-def]
        import pandas as pd

        rows = [
            (row, student, kp, y)
            for row, (student, kps, y) in enumerate(zip(log.students, log.kps_of(), log.correct, strict=True))
            for kp in kps
        ]
        frame = pd.DataFrame(rows, columns=["question", "user_id", "skill_name", "correct"])
        frame["order_id"] = np.arange(len(frame))
        return frame

    def fit(self, log: AnswerLog) -> PyBKT:
        Model = _import_pybkt()

        self.model_ = Model(seed=self.seed, num_fits=self.num_fits)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 in its E-step for unused states
            self.model_.fit(data=self._frame(log))
        self.rate_ = float(np.mean(log.correct))
        return self

    def predict(self, log: AnswerLog) -> np.ndarray:
        frame = self._frame(log)
        known = set(self.model_.fit_model)
        frame = frame[frame["skill_name"].isin(known)]
        predicted = self.model_.predict(data=frame)
        by_question = predicted.groupby("question")["correct_predictions"].mean()
        out = np.full(len(log), np.nan)
        out[by_question.index.to_numpy()] = by_question.to_numpy()
        return np.where(np.isnan(out), self.rate_, out)  # skills never seen in training
