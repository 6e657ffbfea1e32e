"""The knapsack's diminishing returns (service.planner.optimise): a penalty for every item of a
group after the first, solved exactly by HiGHS and approximately by the fallback."""

from __future__ import annotations

import numpy as np
import pytest

from service.planner.optimise import Knapsack, brute_force, solve_exact, solve_fallback


def _problem(rng: np.random.Generator, n: int) -> Knapsack:
    value = rng.uniform(0, 3, n)
    weight = rng.uniform(0.5, 10, n)
    groups = [(rng.choice(n, size=int(rng.integers(2, 5)), replace=False), int(rng.integers(1, 4)))
              for _ in range(n // 5)]  # fmt: skip
    penalties = [(rng.choice(n, size=int(rng.integers(2, 5)), replace=False), float(rng.uniform(0, 2)))
                 for _ in range(n // 4)]  # fmt: skip
    return Knapsack(value, weight, float(rng.uniform(10, 40)), groups, penalties)


def test_exact_optimum_with_diminishing_returns_matches_brute_force() -> None:
    rng = np.random.default_rng(11)
    ratios = []
    for _ in range(120):
        problem = _problem(rng, int(rng.integers(4, 14)))
        optimum = brute_force(problem)
        exact = solve_exact(problem, time_limit=5.0)
        assert exact is not None and exact.proven_optimal and problem.feasible(exact.chosen)
        assert exact.objective == pytest.approx(optimum, abs=1e-7)
        fallback = solve_fallback(problem)
        assert problem.feasible(fallback.chosen)
        ratios.append(fallback.objective / optimum if optimum else 1.0)
    assert np.median(ratios) >= 0.95


def test_a_second_item_on_a_point_is_taken_only_when_worth_its_penalty() -> None:
    # Two items of one point (0, 1) and one of another (2), room for two.
    value, weight = np.array([1.0, 0.9, 0.6]), np.ones(3)
    same = [(np.array([0, 1]), 0.5)]
    assert list(solve_exact(Knapsack(value, weight, 2.0), 1.0).chosen) == [0, 1]  # type: ignore[union-attr]
    assert list(solve_exact(Knapsack(value, weight, 2.0, [], same), 1.0).chosen) == [0, 2]  # type: ignore[union-attr]
    assert list(solve_fallback(Knapsack(value, weight, 2.0, [], same)).chosen) == [0, 2]
