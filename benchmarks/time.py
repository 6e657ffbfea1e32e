"""`jianfu bench time`: the conservative bound on an evening's total time, on real data (EdNet KT1).

Each user's answers are cut into study sessions (a gap over 30 minutes starts a new one), stand-ins
for evenings. Per user, sessions are split by time: the earliest 60 % train the model, the next 20 %
calibrate the bound, the latest 20 % test it (sessions of at least 3 answers). For each test session
the bound for its items, known before it began, is compared with the actual total; the item-median
sum and the item-P90 sum are scored on the same sessions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from models.duration import DurationModel, evening_rows, replay_time, sessions_of
from models.features import AnswerLog
from training.dataset import time_training_set
from training.loaders.ednet import load

TRAIN, CALIBRATION = 0.6, 0.2
MIN_ANSWERS = 3


def split_sessions(log: AnswerLog, sessions: np.ndarray) -> np.ndarray:
    """0 train, 1 calibration, 2 test, per answer, by the session's rank within its user."""
    part = np.empty(len(log), dtype=np.int8)
    by_user: dict[str, list[int]] = {}
    for student, session in zip(log.students, sessions, strict=True):
        ids = by_user.setdefault(student, [])
        if not ids or ids[-1] != session:
            ids.append(int(session))
    rank = {}
    for ids in by_user.values():
        n = len(ids)
        for k, session in enumerate(ids):
            rank[session] = 0 if k < TRAIN * n else 1 if k < (TRAIN + CALIBRATION) * n else 2
    for row, session in enumerate(sessions):
        part[row] = rank[int(session)]
    return part


def _item_quantiles(
    log: AnswerLog, rows: np.ndarray
) -> tuple[dict[str, tuple[float, float]], tuple[float, float]]:
    times: dict[str, list[float]] = {}
    for r in rows:
        s = log.seconds[r]
        if s == s:
            times.setdefault(log.items[r], []).append(s)
    per_item = {i: (float(np.median(t)), float(np.quantile(t, 0.9))) for i, t in times.items()}
    everything = np.concatenate([np.asarray(t) for t in times.values()])
    return per_item, (float(np.median(everything)), float(np.quantile(everything, 0.9)))


def run(data: Path, level: float = 0.95) -> dict[str, Any]:
    log = load(data)
    sessions = sessions_of(log)
    part = split_sessions(log, sessions)
    seconds = np.asarray(log.seconds, dtype=np.float64)
    train_rows = np.flatnonzero(part == 0)
    X_train, y_train, serving = time_training_set(log, sessions, train_rows)
    model = DurationModel(level=level).fit(X_train, y_train)

    X = replay_time(log, sessions, serving)  # calibration and test: priors from the training period
    evaluated: dict[int, list[list[int]]] = {1: [], 2: []}
    for rows in evening_rows(log, sessions, part > 0):
        if len(rows) >= MIN_ANSWERS:
            evaluated[int(part[rows[0]])].append(rows)
    model.calibrate_sets(
        [X[rows] for rows in evaluated[1]], [np.nansum(seconds[rows]) for rows in evaluated[1]]
    )

    per_item, fallback = _item_quantiles(log, train_rows)
    actual = np.array([np.nansum(seconds[rows]) for rows in evaluated[2]])
    bounds = {
        "jianfu": np.array([model.set_bound(X[rows]) for rows in evaluated[2]]),
        "item_median_sum": np.array([sum(per_item.get(log.items[r], fallback)[0] for r in rows) for rows in evaluated[2]]),
        "item_p90_sum": np.array([sum(per_item.get(log.items[r], fallback)[1] for r in rows) for rows in evaluated[2]]),
    }  # fmt: skip
    methods = {
        name: {
            "overrun_rate": round(float(np.mean(actual > bound)), 4),
            "median_bound_over_actual": round(float(np.median(bound / actual)), 3),
        }
        for name, bound in bounds.items()
    }
    ours, p90 = methods["jianfu"], methods["item_p90_sum"]
    return {
        "dataset": "EdNet KT1, 11 users' full logs",
        "protocol": "per user, sessions by time: 60 % train, 20 % calibration, 20 % test; sessions >= 3 answers",
        "level": level,
        "sessions": {"calibration": len(evaluated[1]), "test": len(evaluated[2])},
        "answers": len(log),
        "model": {"sigma": round(model.sigma_, 3), "rho": model.rho_, "q": round(model.q_, 3)},
        "methods": methods,
        "meets_target": bool(
            ours["overrun_rate"] <= 1 - level
            and ours["median_bound_over_actual"] <= 1.40
            and ours["overrun_rate"] < p90["overrun_rate"]
            and ours["median_bound_over_actual"] < p90["median_bound_over_actual"]
        ),
    }
