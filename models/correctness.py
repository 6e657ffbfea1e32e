"""P(correct | student, item): a LightGBM classifier on models.features, with calibrated output.

The planner reads probability bands, so the raw scores are calibrated (Platt scaling on answers
held out by student, with a positive slope so the ranking and the monotone constraints survive).
Every feature that a new right answer changes carries a LightGBM monotone constraint
(features.MONOTONE): one more right answer on a knowledge point never lowers P(correct) on its
items. The student's id is never a feature. Follows scikit-learn's estimator conventions.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from models.compiled import Compilable
from models.features import MONOTONE, N_FEATURES


class CorrectnessModel(Compilable, ClassifierMixin, BaseEstimator):
    """Binary classifier: y = 1 when the answer is right.

    Parameters follow LightGBM's names. `monotone` applies features.MONOTONE when X has exactly the
    feature columns of models.features. `calibration_fraction` of the students (groups) is held out
    to fit the calibration of exactly the trees trained on the rest.
    """

    def __init__(
        self,
        n_estimators: int = 800,
        learning_rate: float = 0.03,
        num_leaves: int = 31,
        min_child_samples: int = 300,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 0.0,
        monotone: bool = True,
        calibration_fraction: float = 0.15,
        n_jobs: int = 2,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.monotone = monotone
        self.calibration_fraction = calibration_fraction
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = True
        return tags

    def lgb_params(self, n_features: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": "binary",
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "subsample": self.subsample,
            "subsample_freq": 1 if self.subsample < 1 else 0,
            "colsample_bytree": self.colsample_bytree,
            "reg_lambda": self.reg_lambda,
            "n_jobs": self.n_jobs,
            "random_state": self.random_state,
            "verbose": -1,
        }
        if self.monotone and n_features == N_FEATURES:
            params["monotone_constraints"] = list(MONOTONE)
            params["monotone_constraints_method"] = "intermediate"
        return params

    def fit(self, X: Any, y: Any, groups: Any = None, fit_booster: Any = None) -> CorrectnessModel:
        """groups: the student of each row (calibration holds out whole students). fit_booster:
        (params, X, y) -> lightgbm.Booster, to train elsewhere (a Dask cluster); default here."""
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=np.float64)
        check_classification_targets(y)
        kind = type_of_target(y, input_name="y", raise_unknown=True)
        if kind not in ("binary", "unknown") and len(np.unique(y)) > 2:
            raise ValueError(f"Only binary classification is supported. The type of the target is {kind}.")
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) != 2:
            raise ValueError(
                "CorrectnessModel needs answers of both kinds, right and wrong; got one class only: "
                f"{self.classes_.tolist()}"
            )
        params = self.lgb_params(X.shape[1])
        fit_rows, calibration_rows = self._split(len(y), groups)
        if not (len(calibration_rows) and len(np.unique(encoded[calibration_rows])) == 2):
            fit_rows, calibration_rows = np.arange(len(y)), np.arange(0)
        fit = fit_booster or _fit_here
        self.booster_ = fit(params, X[fit_rows], encoded[fit_rows])
        self.calibration_ = (1.0, 0.0)  # too little data to hold any out: LightGBM's own scores
        if len(calibration_rows):
            margin = np.asarray(self.booster_.predict(X[calibration_rows], raw_score=True))
            platt = LogisticRegression(C=1e6).fit(margin.reshape(-1, 1), encoded[calibration_rows])
            slope, intercept = float(platt.coef_[0, 0]), float(platt.intercept_[0])
            if slope > 0:
                self.calibration_ = (slope, intercept)
        return self

    def _split(self, n: int, groups: Any) -> tuple[np.ndarray, np.ndarray]:
        if n < 50 or not self.calibration_fraction:
            return np.arange(n), np.arange(0)
        if groups is not None and len(np.unique(groups)) >= 5:
            splitter: Any = GroupShuffleSplit(
                1, test_size=self.calibration_fraction, random_state=self.random_state
            )
        else:
            splitter, groups = (
                ShuffleSplit(1, test_size=self.calibration_fraction, random_state=self.random_state),
                None,
            )
        fit_rows, calibration_rows = next(splitter.split(np.zeros(n), groups=groups))
        return fit_rows, calibration_rows

    def decision_function(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        slope, intercept = self.calibration_
        return slope * self._forest("booster", self.booster_, X, raw_score=True) + intercept

    def _forests(self) -> dict[str, lgb.Booster]:
        check_is_fitted(self)
        return {"booster": self.booster_}

    def predict_proba(self, X: Any) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        return self.classes_[(self.decision_function(X) > 0).astype(int)]


def _fit_here(params: dict[str, Any], X: np.ndarray, y: np.ndarray) -> lgb.Booster:
    return lgb.LGBMClassifier(**params).fit(X, y).booster_
