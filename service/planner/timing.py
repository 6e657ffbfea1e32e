"""The duration model's minutes for a set, written once: each item's typical minutes for a student
and the conservative bounds of the whole set and of its basic tier. The planner bounds the sets it
builds with set_bounds; model_timing gives the same numbers for a set someone wrote by hand (a
teacher's own set, an edit) — the floor the gate puts under whatever minutes the teacher wrote."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine

from models.bundle import Bundle
from models.features import TIME_FEATURES
from service.planner.context import StateCache
from service.policy.gate import Timing
from service.policy.proposal import Proposal

MIN_ITEM_MINUTES = 0.2  # no item is shown, or counted, as quicker than this


def typical_minutes(mu: np.ndarray) -> np.ndarray:
    """Each item's typical minutes for this student (the duration model's median, from its
    log-seconds `mu`): what the student is shown, and what a set's typical total adds up."""
    return np.maximum(np.exp(mu) / 60.0, MIN_ITEM_MINUTES)


def set_bounds(bundle: Bundle, mu: np.ndarray, s2: np.ndarray, basic: np.ndarray) -> tuple[float, float]:
    """(whole set, basic tier) conservative minutes of the items whose duration parameters are
    (mu, s2); `basic` marks the basic tier's items. Each is the duration model's calibrated set
    bound, never below the set's typical total."""
    if len(mu) == 0:
        return 0.0, 0.0
    minutes = typical_minutes(mu)
    whole = max(bundle.duration.bound_of(mu, s2) / 60.0, float(minutes.sum()))
    if not basic.any():
        return whole, 0.0
    return whole, max(bundle.duration.bound_of(mu[basic], s2[basic]) / 60.0, float(minutes[basic].sum()))


def model_timing(engine: Engine, bundle: Bundle, cache: StateCache) -> Timing:
    def timing(proposal: Proposal) -> tuple[list[float], float, float]:
        with engine.connect() as conn:
            cache.catch_up(conn, [proposal.student_id], proposal.night)
        info = cache.item_info()
        state = cache.entries[proposal.student_id].state
        known = [i for i in proposal.items if i.item_id in info]
        if len(known) != len(proposal.items):  # the gate names unknown items; nothing to time here
            return [0.0] * len(proposal.items), 0.0, 0.0
        X = np.asarray(
            [state.time_features(i.item_id, info[i.item_id], bundle.priors) for i in proposal.items],
            dtype=np.float64,
        ).reshape(-1, len(TIME_FEATURES))
        mu, s2 = bundle.duration.item_params(X)
        basic = np.array([i.tier == "basic" for i in proposal.items], dtype=bool)
        whole, basic_bound = set_bounds(bundle, mu, s2, basic)
        return [float(m) for m in typical_minutes(mu)], whole, basic_bound

    return timing
