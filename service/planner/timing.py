"""The duration model's minutes for a set someone wrote by hand (a teacher's own set, an edit): each
item's typical minutes for this student and the conservative bounds of the set and of its basic
tier — the floor the gate puts under whatever minutes the teacher wrote."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine

from models.bundle import Bundle
from models.features import TIME_FEATURES
from service.planner.context import StateCache
from service.policy.gate import Proposal, Timing


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
        minutes = [float(m) for m in np.exp(mu) / 60.0]
        whole = max(bundle.duration.bound_of(mu, s2) / 60.0, sum(minutes))
        basic_rows = [k for k, i in enumerate(proposal.items) if i.tier == "basic"]
        basic = (
            max(
                bundle.duration.bound_of(mu[basic_rows], s2[basic_rows]) / 60.0,
                sum(minutes[k] for k in basic_rows),
            )
            if basic_rows
            else 0.0
        )
        return minutes, whole, basic

    return timing
