"""`jianfu bench review`: is an error-book item remembered? Half-life regression against fixed
1-2-4-7-day intervals and Leitner boxes, on the synthetic school (students held out) and on real
revisits in EdNet KT1 (a question answered wrong and met again later; each user's later revisits
held out)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score

from models.features import AnswerLog, Priors
from models.review import HalfLifeRegression, Revisit, fixed_interval_predict, leitner_predict, revisits_of
from training.dataset import student_fold
from training.loaders import ednet
from training.loaders.contract import load as load_school
from training.pipeline import binned_rmse


def score(train: list[Revisit], test: list[Revisit]) -> dict[str, Any]:
    y = np.array([r.correct for r in test])
    predictions = {
        "hlr": HalfLifeRegression().fit(train).predict(test),
        "fixed_1_2_4_7": fixed_interval_predict(test),
        "leitner": leitner_predict(test),
    }
    return {
        "revisits": {"train": len(train), "test": len(test), "test_right_rate": round(float(y.mean()), 4)},
        "models": {
            name: {
                "log_loss": round(float(log_loss(y, p, labels=[0, 1])), 4),
                "binned_rmse": round(binned_rmse(y, p), 4),
                "auc": round(float(roc_auc_score(y, p)), 4),
            }
            for name, p in predictions.items()
        },
    }


def _priors(log: AnswerLog, rows: list[int]) -> Priors:
    return Priors.from_answers([log.items[r] for r in rows], [log.item_info[log.items[r]].kps for r in rows],
                               [log.correct[r] for r in rows])  # fmt: skip


def synthetic(samples: Path) -> dict[str, Any]:
    log = load_school(samples).log
    held_out = {s for s in set(log.students) if student_fold(s, 5) == 0}
    train_rows = [r for r, s in enumerate(log.students) if s not in held_out]
    revisits = revisits_of(log, _priors(log, train_rows))
    return score(
        [r for r in revisits if r.student not in held_out], [r for r in revisits if r.student in held_out]
    )


def real(folder: Path) -> dict[str, Any]:
    log = ednet.load(folder)
    cut: dict[str, float] = {}
    for student in set(log.students):
        times = [a for s, a in zip(log.students, log.at, strict=True) if s == student]
        cut[student] = float(np.quantile(times, 0.8))
    train_rows = [r for r, (s, a) in enumerate(zip(log.students, log.at, strict=True)) if a < cut[s]]
    revisits = revisits_of(log, _priors(log, train_rows))
    return score(
        [r for r in revisits if r.at < cut[r.student]], [r for r in revisits if r.at >= cut[r.student]]
    )


def run(samples: Path, ednet_folder: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"synthetic_school": synthetic(samples), "ednet": real(ednet_folder)}
    result["hlr_best_log_loss"] = all(
        part["models"]["hlr"]["log_loss"] <= min(m["log_loss"] for m in part["models"].values())
        for part in (result["synthetic_school"], result["ednet"])
    )
    return result
