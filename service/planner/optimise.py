"""Choosing items: a knapsack with side constraints (at most so many items per near-duplicate group
and per knowledge point) and diminishing returns (a group whose every item after the first is worth
`penalty` less: a second item on the same knowledge point teaches less than the first), solved exactly with `scipy.optimize.milp` (HiGHS) under a time limit, and
by a fast fallback (knapsack DP, repaired, then greedy filling) when the exact path runs out of time.

Pure numerics: no models, no database, no policy. The caller turns rules into groups and caps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

DP_UNITS = 2000  # capacity resolution of the fallback's DP


@dataclass
class Knapsack:
    value: np.ndarray  # utility of each item (>= 0)
    weight: np.ndarray  # minutes of each item (> 0)
    capacity: float
    groups: list[tuple[np.ndarray, int]] = field(default_factory=list)  # (item indices, at most)
    # (item indices, penalty): each chosen member after the first subtracts the penalty (>= 0)
    penalties: list[tuple[np.ndarray, float]] = field(default_factory=list)

    def objective(self, chosen: np.ndarray) -> float:
        """Total value of the chosen items, less the diminishing-returns penalties."""
        mask = np.zeros(len(self.value), dtype=bool)
        mask[chosen] = True
        total = float(self.value[mask].sum())
        for idx, penalty in self.penalties:
            total -= penalty * max(0, int(mask[idx].sum()) - 1)
        return total

    def feasible(self, chosen: np.ndarray) -> bool:
        mask = np.zeros(len(self.value), dtype=bool)
        mask[chosen] = True
        if float(self.weight[mask].sum()) > self.capacity + 1e-9:
            return False
        return all(int(mask[idx].sum()) <= cap for idx, cap in self.groups)


@dataclass
class Solution:
    chosen: np.ndarray  # indices, ascending
    objective: float
    method: str  # "exact" or "fallback"
    proven_optimal: bool


def solve(problem: Knapsack, time_limit: float = 0.5) -> Solution:
    """The exact solution if HiGHS proves it within the time limit, else the better of the
    fallback and HiGHS's best incumbent."""
    exact = solve_exact(problem, time_limit)
    if exact is not None and exact.proven_optimal:
        return exact
    fallback = solve_fallback(problem)
    if exact is not None and exact.objective > fallback.objective:
        return Solution(exact.chosen, exact.objective, "fallback", False)
    return fallback


def solve_exact(problem: Knapsack, time_limit: float = 0.5) -> Solution | None:
    n = len(problem.value)
    if n == 0:
        return Solution(np.zeros(0, dtype=np.int64), 0.0, "exact", True)
    # Variables: x (one per item, 0/1), then z (one per penalty group, >= 0): z >= sum(x) - 1.
    m = len(problem.penalties)
    rows = [np.arange(n)]
    data = [problem.weight.astype(np.float64)]
    upper = [problem.capacity]
    for idx, cap in problem.groups:
        rows.append(np.asarray(idx))
        data.append(np.ones(len(idx)))
        upper.append(float(cap))
    for g, (idx, _) in enumerate(problem.penalties):
        rows.append(np.append(np.asarray(idx), n + g))
        data.append(np.append(np.ones(len(idx)), -1.0))
        upper.append(1.0)
    indptr = np.cumsum([0] + [len(r) for r in rows])
    A = csr_array((np.concatenate(data), np.concatenate(rows), indptr), shape=(len(rows), n + m))
    cost = np.concatenate([-problem.value.astype(np.float64), [p for _, p in problem.penalties]])
    result = milp(
        c=cost,
        integrality=np.concatenate([np.ones(n), np.zeros(m)]),
        bounds=Bounds(0, np.concatenate([np.ones(n), np.full(m, np.inf)])),
        constraints=LinearConstraint(A, -np.inf, np.asarray(upper)),
        options={"time_limit": time_limit, "mip_rel_gap": 0.0, "presolve": True},
    )
    if result.x is None:
        return None
    chosen = np.flatnonzero(result.x[:n] > 0.5)
    if not problem.feasible(chosen):  # numerical slack in the solver: never trust an infeasible set
        return None
    return Solution(chosen, problem.objective(chosen), "exact", result.status == 0)


def solve_fallback(problem: Knapsack) -> Solution:
    """Knapsack DP on the capacity (side constraints repaired afterwards), then greedy filling;
    the better of that and plain greedy by value per minute."""
    candidates = [_greedy(problem, np.zeros(0, dtype=np.int64))]
    dp = _repair(problem, _knapsack_dp(problem))
    candidates.append(_greedy(problem, dp))
    best = max(candidates, key=problem.objective)
    best = np.sort(best)
    return Solution(best, problem.objective(best), "fallback", False)


def _knapsack_dp(problem: Knapsack) -> np.ndarray:
    n = len(problem.value)
    if n == 0 or problem.capacity <= 0:
        return np.zeros(0, dtype=np.int64)
    unit = problem.capacity / DP_UNITS
    w = np.ceil(problem.weight / unit - 1e-9).astype(np.int64)  # rounding up keeps it feasible
    cap = DP_UNITS
    best = np.zeros(cap + 1)
    take = np.zeros((n, cap + 1), dtype=bool)
    for i in range(n):
        wi = int(w[i])
        if wi > cap:
            continue
        shifted = best[: cap + 1 - wi] + problem.value[i]
        better = shifted > best[wi:]
        take[i, wi:] = better
        best[wi:] = np.where(better, shifted, best[wi:])
    chosen = []
    c = int(np.argmax(best))
    for i in range(n - 1, -1, -1):
        if take[i, c]:
            chosen.append(i)
            c -= int(w[i])
    return np.array(sorted(chosen), dtype=np.int64)


def _repair(problem: Knapsack, chosen: np.ndarray) -> np.ndarray:
    """Drop the least valuable items of every group over its cap."""
    keep = set(int(i) for i in chosen)
    for idx, cap in problem.groups:
        members = [int(i) for i in idx if int(i) in keep]
        if len(members) > cap:
            members.sort(key=lambda i: problem.value[i])
            for i in members[: len(members) - cap]:
                keep.discard(i)
    return np.array(sorted(keep), dtype=np.int64)


def _greedy(problem: Knapsack, start: np.ndarray) -> np.ndarray:
    """Add, one at a time, the item with the best marginal value per minute (its value less any
    diminishing-returns penalty it would incur now) while everything stays feasible and adds value."""
    n = len(problem.value)
    chosen = set(int(i) for i in start)
    used = float(problem.weight[list(chosen)].sum()) if chosen else 0.0
    member_of: list[list[int]] = [[] for _ in range(n)]
    for g, (idx, _) in enumerate(problem.groups):
        for i in idx:
            member_of[int(i)].append(g)
    counts = [sum(1 for i in idx if int(i) in chosen) for idx, _ in problem.groups]
    penal_of: list[list[int]] = [[] for _ in range(n)]
    for g, (idx, _) in enumerate(problem.penalties):
        for i in idx:
            penal_of[int(i)].append(g)
    taken = [sum(1 for i in idx if int(i) in chosen) for idx, _ in problem.penalties]
    weight = np.maximum(problem.weight, 1e-9)
    while True:
        best, best_rate = -1, 0.0
        for i in range(n):
            if i in chosen or used + problem.weight[i] > problem.capacity + 1e-9:
                continue
            if any(counts[g] >= problem.groups[g][1] for g in member_of[i]):
                continue
            marginal = problem.value[i] - sum(problem.penalties[g][1] for g in penal_of[i] if taken[g] >= 1)
            if marginal > 0 and marginal / weight[i] > best_rate:
                best, best_rate = i, marginal / weight[i]
        if best < 0:
            break
        chosen.add(best)
        used += float(problem.weight[best])
        for g in member_of[best]:
            counts[g] += 1
        for g in penal_of[best]:
            taken[g] += 1
    return np.array(sorted(chosen), dtype=np.int64)


def brute_force(problem: Knapsack) -> float:
    """The optimum by enumeration (tests only; n <= 20)."""
    n = len(problem.value)
    best = 0.0
    for mask in range(1 << n):
        chosen = np.array([i for i in range(n) if mask >> i & 1], dtype=np.int64)
        if problem.feasible(chosen):
            best = max(best, problem.objective(chosen))
    return best if not math.isnan(best) else 0.0
