"""The data team's pipeline: train the three models on a school's files, evaluate them on held-out
students, log an MLflow run and register a version of the model `jianfu`; list and promote versions,
with promotion gated on the holdout.

Students are split by a stable hash (training.dataset.student_fold): fold 0 is the holdout that the
metrics and the promotion gate use, fold 1 calibrates the evening time bound, the rest train.

Students deleted on a guardian's request are left out of training and of the gate's evaluation
(`leave_out`: `jianfu train` and `jianfu models promote` build it from the service's deletion
records; training itself does not read the service's database).
"""

from __future__ import annotations

import json
import math
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.metrics import roc_auc_score

from models.bundle import Bundle, fingerprint
from models.calibration import expected_calibration_error
from models.correctness import CorrectnessModel
from models.duration import DurationModel, evening_rows, replay_time, sessions_of
from models.features import AnswerLog, replay
from models.registry import MODEL_NAME, champion_version, load_version, model_version, run_params, set_alias
from models.review import HalfLifeRegression, revisits_of
from training.dataset import student_fold, training_set
from training.loaders import DataError
from training.loaders.contract import SchoolData
from training.loaders.contract import load as load_school

EXPERIMENT = "jianfu"
N_FOLDS = 5
HOLDOUT, CALIBRATION = 0, 1
EVENING_GAP_MINUTES = 120.0
MIN_STUDENTS = 10
# Promotion gate: a candidate may not be worse than the champion by more than these margins.
GATE = {"auc": -0.002, "calibration_rmse": 0.01, "overrun_rate": 0.02}

BoosterFitter = Callable[[dict[str, Any], np.ndarray, np.ndarray], lgb.Booster]


@dataclass
class Split:
    train: np.ndarray  # row masks over the log
    calibration: np.ndarray
    holdout: np.ndarray


def split_rows(log: AnswerLog) -> Split:
    fold = np.fromiter((student_fold(s, N_FOLDS) for s in log.students), dtype=np.int64, count=len(log))
    return Split(fold >= 2, fold == CALIBRATION, fold == HOLDOUT)


def fit_bundle(school: SchoolData, data_fingerprint: str, fit_booster: BoosterFitter | None = None) -> Bundle:
    """Fit the three models on the training students; calibrate the time bound on fold 1."""
    log = school.log
    students = set(log.students)
    if len(students) < MIN_STUDENTS:
        raise DataError(
            f"the homework log has answers from {len(students)} student(s); jianfu needs at least "
            f"{MIN_STUDENTS} to learn from some and check on others"
        )
    correct = set(log.correct)
    if len(correct) < 2:
        kind = "right" if correct == {1} else "wrong"
        raise DataError(f"every answer in the homework log is {kind}: P(correct) cannot be learned from it")
    split = split_rows(log)
    notes: list[str] = []
    train_log = log.take(np.flatnonzero(split.train))
    data = training_set(train_log, sessions=sessions_of(train_log, EVENING_GAP_MINUTES))
    correctness = CorrectnessModel().fit(data.X, data.y, data.groups, fit_booster=fit_booster)

    train_seconds = np.asarray(train_log.seconds, dtype=np.float64)
    timed = train_seconds > 0
    if not np.any(timed):
        raise DataError(
            "no answer in the homework log says how long it took (seconds): the time model cannot be fitted"
        )
    assert data.X_time is not None
    priors = data.priors  # every training answer, times included: what serving uses
    duration = (
        DurationModel().fit_item_spread(priors, log.item_info).fit(data.X_time[timed], train_seconds[timed])
    )
    # Students are independent: replaying the calibration students alone gives the same features.
    calibration_log = log.take(np.flatnonzero(split.calibration))
    calibration_sessions = sessions_of(calibration_log, EVENING_GAP_MINUTES)
    X_calibration = replay_time(calibration_log, calibration_sessions, priors)
    calibration_seconds = np.asarray(calibration_log.seconds, dtype=np.float64)
    evenings = evening_rows(calibration_log, calibration_sessions)
    if len(evenings) >= 20:
        duration.calibrate_sets(
            [X_calibration[rows] for rows in evenings],
            [float(np.nansum(calibration_seconds[rows])) for rows in evenings],
        )
    else:
        notes.append(
            f"only {len(evenings)} evenings to calibrate the time bound (need 20): it uses the log-normal "
            "theory's factor, not a calibrated one"
        )
    revisits = revisits_of(train_log, data.priors)
    review = None
    if len(revisits) >= 10:
        review = HalfLifeRegression().fit(revisits)
    else:
        notes.append(
            f"only {len(revisits)} revisits of error-book items: no review model; items are due daily"
        )
    # Serving priors: every training student's answers, with their times (= `priors`).
    return Bundle(correctness, duration, review, priors, data_fingerprint, notes=notes)


def evaluate(bundle: Bundle, log: AnswerLog, mask: np.ndarray) -> dict[str, float]:
    """Metrics on the held-out students: AUC and calibration of P(correct), overrun rate and median
    bound/actual of the evening bound, log loss of the review model."""
    rows = np.flatnonzero(mask)
    metrics: dict[str, float] = {"holdout_answers": float(len(rows))}
    if len(rows) == 0:
        return metrics
    held = log.take(rows)
    y = np.asarray(held.correct)
    p = bundle.p_correct(replay(held, bundle.priors))
    if len(set(y)) == 2:
        metrics["auc"] = float(roc_auc_score(y, p))
    metrics["calibration_rmse"] = binned_rmse(y, p)
    metrics["ece"] = expected_calibration_error(y, p)  # what the service's health check compares with
    sessions = sessions_of(held, EVENING_GAP_MINUTES)
    X = replay_time(held, sessions, bundle.priors)
    seconds = np.asarray(held.seconds, dtype=np.float64)
    evenings = evening_rows(held, sessions)
    if evenings:
        actual = np.array([np.nansum(seconds[r]) for r in evenings])
        bounds = np.array([bundle.duration.set_bound(X[r]) for r in evenings])
        metrics["overrun_rate"] = float(np.mean(actual > bounds))
        metrics["median_bound_over_actual"] = float(np.median(bounds / actual))
    if bundle.review is not None:
        revisits = revisits_of(held, bundle.priors)
        if revisits:
            outcome = np.array([r.correct for r in revisits])
            q = bundle.review.predict(revisits)
            metrics["review_log_loss"] = float(-np.mean(outcome * np.log(q) + (1 - outcome) * np.log(1 - q)))
    return metrics


def binned_rmse(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """RMSE between mean prediction and observed rate over equal-count bins (calibration error)."""
    order = np.argsort(p)
    parts = [chunk for chunk in np.array_split(order, bins) if len(chunk)]
    errors = [(p[c].mean() - y[c].mean()) ** 2 for c in parts]
    return float(math.sqrt(np.average(errors, weights=[len(c) for c in parts])))


def data_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.csv"))


def train(
    data: Path,
    tracking_uri: str,
    fit_booster: BoosterFitter | None = None,
    engine: str = "local",
    artifact_location: str | None = None,
    leave_out: Callable[[str], bool] | None = None,
) -> dict[str, Any]:
    """Train, evaluate, log an MLflow run and register a new version; returns what was done.
    artifact_location: where a new experiment keeps its artifacts (the local store's folder).
    leave_out: the students deleted on a guardian's request (none of their rows is read)."""
    import mlflow

    import models.pyfunc as pyfunc_module

    started = time.perf_counter()
    school = load_school(data, leave_out=leave_out)
    bundle = fit_bundle(school, fingerprint(data_files(data)), fit_booster)
    split = split_rows(school.log)
    bundle.metrics = evaluate(bundle, school.log, split.holdout)
    mlflow.set_tracking_uri(tracking_uri)
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        mlflow.create_experiment(EXPERIMENT, artifact_location=artifact_location)
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as tmp:
        mlflow.log_params(
            {
                "data": str(data.resolve()),
                "data_fingerprint": bundle.data_fingerprint,
                "engine": engine,
                "answers": len(school.log),
                "students": len(set(school.log.students)),
                "erased_rows_left_out": school.left_out,
                "holdout": f"students with student_fold(id, {N_FOLDS}) == {HOLDOUT}",
                "rho": bundle.duration.rho_,
                "q": round(bundle.duration.q_, 4),
                **{f"correctness.{k}": v for k, v in bundle.correctness.get_params().items()},
            }
        )
        mlflow.log_metrics({k: v for k, v in bundle.metrics.items() if math.isfinite(v)})
        report = {"metrics": bundle.metrics, "notes": bundle.notes, "config": bundle.config}
        report_path = Path(tmp) / "evaluation_report.json"
        report_path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
        mlflow.log_artifact(str(report_path))
        folder = bundle.save(Path(tmp) / "bundle")
        with warnings.catch_warnings():
            # No input example, on purpose: it would copy a student's features (a minor's history)
            # into the registry's artifacts; the signature states the input's columns instead.
            warnings.filterwarnings(
                "ignore", message=".*input example was not provided", category=UserWarning
            )
            info = mlflow.pyfunc.log_model(
                name="jianfu",
                python_model=str(Path(pyfunc_module.__file__)),
                artifacts={"bundle": str(folder)},
                registered_model_name=MODEL_NAME,
                pip_requirements=["jianfu"],
                signature=_signature(),  # stated, not inferred from a type hint (MLflow warned it could not)
            )
    return {
        "run_id": run.info.run_id,
        "version": int(info.registered_model_version),
        "metrics": bundle.metrics,
        "notes": bundle.notes,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _signature() -> Any:
    """The registered model's contract: a table of the correctness features (double) in,
    P(correct) (double) out."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, Schema

    from models.features import FEATURE_NAMES

    return ModelSignature(
        inputs=Schema([ColSpec("double", name) for name in FEATURE_NAMES]),
        outputs=Schema([ColSpec("double")]),
    )


def promote(
    tracking_uri: str,
    version: int,
    alias: str = "champion",
    force: bool = False,
    leave_out: Callable[[str], bool] | None = None,
) -> dict[str, Any]:
    """Point `alias` at `version`, unless it is worse than the alias's current version on the
    candidate's holdout (re-evaluated for both on the same data, without the students in
    `leave_out`). Raises PromotionRefused, or models.registry.RegistryError when the registry fails."""
    candidate = model_version(tracking_uri, version)
    if candidate is None:
        raise PromotionRefused(f"there is no version {version} of the model {MODEL_NAME!r}")
    current = champion_version(tracking_uri, alias)
    comparison: dict[str, Any] = {}
    if current is not None and str(current) != str(candidate.version):
        params = run_params(tracking_uri, candidate.run_id) or {}
        data = Path(params.get("data", ""))
        if (
            "data" not in params
            or not data.is_dir()
            or fingerprint(data_files(data)) != params.get("data_fingerprint")
        ):
            if not force:
                raise PromotionRefused(
                    f"the data version {version} was trained on ({data}) is gone or has changed; "
                    f"the gate cannot compare it with the current {alias} (use --force to promote anyway)"
                )
            set_alias(tracking_uri, alias, version)
            return {
                "version": version,
                "alias": alias,
                "overridden": ["the gate could not compare: data gone"],
            }
        log = load_school(data, leave_out=leave_out).log
        holdout = split_rows(log).holdout
        ours = evaluate(_loaded(tracking_uri, version), log, holdout)
        theirs = evaluate(_loaded(tracking_uri, current), log, holdout)
        comparison = {"candidate": ours, alias: theirs, "champion_version": current}
        reasons = _worse(ours, theirs)
        if reasons and not force:
            raise PromotionRefused(
                f"version {version} is worse than {alias} (version {current}) on the holdout: "
                + "; ".join(reasons)
                + " (use --force to promote anyway)"
            )
        comparison["overridden"] = reasons
    set_alias(tracking_uri, alias, version)
    return {"version": version, "alias": alias, **comparison}


def _loaded(tracking_uri: str, version: int | str) -> Bundle:
    bundle = load_version(tracking_uri, version)
    if bundle is None:  # it was there a moment ago: deleted meanwhile
        raise PromotionRefused(f"version {version} of the model {MODEL_NAME!r} could not be found")
    return bundle


def _worse(candidate: dict[str, float], champion: dict[str, float]) -> list[str]:
    reasons = []
    if "auc" in champion and candidate.get("auc", 0.0) < champion["auc"] + GATE["auc"]:
        reasons.append(f"AUC {candidate.get('auc', float('nan')):.4f} < {champion['auc']:.4f}")
    for metric in ("calibration_rmse", "overrun_rate"):
        if metric in champion and candidate.get(metric, math.inf) > champion[metric] + GATE[metric]:
            reasons.append(f"{metric} {candidate.get(metric, float('nan')):.4f} > {champion[metric]:.4f}")
    return reasons


class PromotionRefused(RuntimeError):
    """The gate said no; the message says why."""
