"""How well predicted probabilities match what happened: the expected calibration error and the
reliability curve behind it. Shared by training's evaluation and the service's health check, so the
figure a new version is registered with and the figure it is watched by are the same figure."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BINS = 10


@dataclass(frozen=True)
class Bin:
    lo: float
    hi: float
    answers: int
    predicted: float  # mean P(correct) of the answers in the bin
    observed: float  # share of them right


def reliability(y: np.ndarray, p: np.ndarray, bins: int = BINS) -> list[Bin]:
    """Equal-width bins of P(correct) over [0, 1]; empty bins left out."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    which = np.minimum((p * bins).astype(np.int64), bins - 1)
    out = []
    for b in range(bins):
        mask = which == b
        n = int(mask.sum())
        if n:
            out.append(Bin(b / bins, (b + 1) / bins, n, float(p[mask].mean()), float(y[mask].mean())))
    return out


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = BINS) -> float:
    """Σ over bins of (answers in the bin / all answers) × |mean predicted − share right|; NaN if empty."""
    curve = reliability(y, p, bins)
    total = sum(b.answers for b in curve)
    if total == 0:
        return float("nan")
    return float(sum(b.answers * abs(b.predicted - b.observed) for b in curve) / total)


def chance_error(y: np.ndarray, p: np.ndarray, bins: int = BINS) -> float:
    """The calibration error a perfectly calibrated model would still show on this many answers, by
    chance: per bin, the mean absolute deviation of a binomial share from its mean (≈ √(2/π)·√(p̄(1−p̄)/n)),
    weighted like the error. A small group's error is judged above this floor, not above zero."""
    curve = reliability(y, p, bins)
    total = sum(b.answers for b in curve)
    if total == 0:
        return float("nan")
    spread = sum(b.answers * np.sqrt(2 / np.pi * b.predicted * (1 - b.predicted) / b.answers) for b in curve)
    return float(spread / total)
