"""Training matrices from an answer log, with item difficulty estimated out of fold.

An answer's own outcome must never reach its features. Item and knowledge-point rates (Priors) are
therefore computed, for each answer, from the students of the other folds only; at serving time the
priors come from all training answers. Students, not answers, are split, as in deployment (a new
class's students are new).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from models.duration import replay_time
from models.features import AnswerLog, Priors, feature_matrix, replay


@dataclass
class TrainingSet:
    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray  # student index per row: for splits that keep a student's answers together
    priors: Priors  # from every answer in the log: what serving uses
    X_time: np.ndarray | None = None  # time features (from each session's start), when sessions are given


def student_fold(student: str, n_folds: int) -> int:
    """A stable fold for a student id (the same on every machine and run)."""
    return zlib.crc32(student.encode()) % n_folds


def training_set(log: AnswerLog, n_folds: int = 5, sessions: np.ndarray | None = None) -> TrainingSet:
    """Correctness features (and, given sessions, time features in the same pass), with priors
    from the other folds of students."""
    kps = log.kps_of()
    priors = Priors.from_answers(log.items, kps, log.correct, log.seconds)
    fold_of = {s: student_fold(s, n_folds) for s in dict.fromkeys(log.students)}
    rows_of_fold: list[list[int]] = [[] for _ in range(n_folds)]
    for row, student in enumerate(log.students):
        rows_of_fold[fold_of[student]].append(row)
    fold_priors = []
    for rows in rows_of_fold:
        held_out = priors.copy()
        held_out.add([log.items[r] for r in rows], [kps[r] for r in rows], [log.correct[r] for r in rows],
                     [log.seconds[r] for r in rows], sign=-1.0)  # fmt: skip
        fold_priors.append(held_out)
    priors_of = {s: fold_priors[f] for s, f in fold_of.items()}
    X_time = None
    if sessions is None:
        X = replay(log, priors_of)
    else:
        feature_rows: list[list[float]] = []
        X_time = replay_time(
            log, sessions, lambda student, _session: priors_of[student], correctness=feature_rows
        )
        X = feature_matrix(feature_rows)
    codes = {s: i for i, s in enumerate(fold_of)}
    groups = np.fromiter((codes[s] for s in log.students), dtype=np.int64, count=len(log))
    return TrainingSet(X, np.asarray(log.correct, dtype=np.int64), groups, priors, X_time)


def time_training_set(
    log: AnswerLog, sessions: np.ndarray, train_rows: np.ndarray, n_folds: int = 5
) -> tuple[np.ndarray, np.ndarray, Priors]:
    """(X, seconds) of the timed training answers, each with time features from before its session
    and item times from the other folds of sessions; and the priors of all training answers."""
    kps = log.kps_of()

    def priors_from(rows: np.ndarray) -> Priors:
        return Priors.from_answers([log.items[r] for r in rows], [kps[r] for r in rows],
                                   [log.correct[r] for r in rows], [log.seconds[r] for r in rows])  # fmt: skip

    folds = [priors_from(train_rows[sessions[train_rows] % n_folds != f]) for f in range(n_folds)]
    X = replay_time(log, sessions, lambda _student, session: folds[session % n_folds])[train_rows]
    seconds = np.asarray(log.seconds, dtype=np.float64)[train_rows]
    timed = seconds > 0
    return X[timed], seconds[timed], priors_from(train_rows)
