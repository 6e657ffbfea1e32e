"""`jianfu bench plan`: the planner's optimiser against known optima, and the speed of planning a class
(the learning value of the plans is `jianfu bench learn`, benchmarks.learn).

Optimality: random instances of the planner's problem with 50-500 candidates — items with a utility
and integer minutes (tenths), at most one item per near-duplicate group, a capacity — whose optimum
an independent exact method computes: dynamic programming over groups and capacity (the
multiple-choice knapsack). The exact path (HiGHS) must reach that optimum (gap 0); the fallback
(knapsack DP on the capacity + repair + greedy, used when HiGHS runs out of time) is reported as a
share of it.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from service.planner.optimise import Knapsack, solve_exact, solve_fallback


def instance(rng: np.random.Generator) -> tuple[Knapsack, list[np.ndarray], np.ndarray]:
    n = int(rng.integers(50, 501))
    tenths = rng.integers(5, 101, n)  # 0.5 to 10 minutes
    value = np.round(rng.uniform(0.1, 3.0, n), 3)
    sizes = []
    left = n
    while left:
        k = min(left, int(rng.integers(1, 6)))
        sizes.append(k)
        left -= k
    order = rng.permutation(n)
    groups, start = [], 0
    for k in sizes:
        groups.append(order[start : start + k])
        start += k
    capacity_tenths = int(rng.integers(100, 901))  # 10 to 90 minutes
    problem = Knapsack(value, tenths / 10.0, capacity_tenths / 10.0, [(g, 1) for g in groups if len(g) > 1])
    return problem, groups, tenths


def mckp_optimum(value: np.ndarray, tenths: np.ndarray, groups: list[np.ndarray], capacity: int) -> float:
    """At most one item per group, total tenths within capacity: exact by DP over groups."""
    best = np.zeros(capacity + 1)
    for group in groups:
        new = best.copy()
        for i in group:
            w = int(tenths[i])
            if w <= capacity:
                new[w:] = np.maximum(new[w:], best[: capacity + 1 - w] + value[i])
        best = new
    return float(best.max())


def optimality(instances: int = 1000, seed: int = 20261125, time_limit: float = 10.0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    gaps, ratios, seconds, fallback_seconds = [], [], [], []
    not_proven = 0
    for _ in range(instances):
        problem, groups, tenths = instance(rng)
        optimum = mckp_optimum(problem.value, tenths, groups, round(problem.capacity * 10))
        start = time.perf_counter()
        exact = solve_exact(problem, time_limit=time_limit)
        seconds.append(time.perf_counter() - start)
        if exact is None or not exact.proven_optimal:
            not_proven += 1
        objective = exact.objective if exact is not None else 0.0
        gaps.append((optimum - objective) / optimum if optimum > 0 else 0.0)
        start = time.perf_counter()
        fallback = solve_fallback(problem)
        fallback_seconds.append(time.perf_counter() - start)
        assert problem.feasible(fallback.chosen)
        ratios.append(fallback.objective / optimum if optimum > 0 else 1.0)
    return {
        "instances": instances,
        "exact_gap_max": max(gaps),
        "exact_not_proven": not_proven,
        "exact_seconds_median": round(statistics.median(seconds), 4),
        "fallback_ratio_median": round(statistics.median(ratios), 5),
        "fallback_ratio_min": round(min(ratios), 5),
        "fallback_seconds_median": round(statistics.median(fallback_seconds), 4),
    }


def class_45(repeats: int = 5, class_id: str = "east-5-1", subject: str = "math") -> dict[str, Any]:
    """Planning the 45 students of one class end to end — student states, models, optimiser,
    verifier and ledger — on a fresh copy of the sample database each time; seconds per class.

    As the service runs: the forests compiled once when the model is loaded (compile_seconds, not
    counted per plan). `seconds` start each plan with no student state in memory (every answer
    replayed from the database); `warm_seconds` keep the states between plans, as a running
    service does (StateCache), so only new answers are read."""
    import shutil
    import tempfile
    from datetime import UTC, date, datetime
    from pathlib import Path

    from service.planner.context import StateCache
    from service.planner.plan import plan_class
    from service.policy.evenings import set_allocation
    from service.policy.policy import PolicyBook
    from service.store.db import make_engine, upgrade
    from service.store.importer import import_files
    from training.loaders.contract import load
    from training.pipeline import fit_bundle

    samples = Path(__file__).resolve().parent.parent / "data_samples"
    bundle = fit_bundle(load(samples), "bench")
    book = PolicyBook(samples / "policies")
    night = date(2026, 10, 27)
    results: dict[str, list[float]] = {"cold": [], "warm": []}
    sizes: list[int] = []
    with tempfile.TemporaryDirectory(prefix="jianfu-bench-plan-") as tmp:
        start = time.perf_counter()
        bundle.compile(Path(tmp) / "forests", threads=2)
        compile_seconds = time.perf_counter() - start
        base = Path(tmp) / "base.db"
        engine = make_engine(f"sqlite:///{base}")
        upgrade(engine)
        import_files(engine, [samples])
        engine.dispose()
        warm = StateCache(bundle.priors)
        for k in range(repeats + 1):  # the first warm run fills the cache and is not counted
            for mode in ("cold", "warm"):
                path = Path(tmp) / f"run-{mode}-{k}.db"
                shutil.copy(base, path)
                engine = make_engine(f"sqlite:///{path}")
                set_allocation(engine, book, class_id, night.weekday(), {subject: 1.0, "chinese": 1.0})
                cache = StateCache(bundle.priors) if mode == "cold" else warm
                start = time.perf_counter()
                plan = plan_class(engine, bundle, book, class_id, subject, night, [], "bench",
                                  now=datetime(2026, 10, 27, 8, tzinfo=UTC), cache=cache)  # fmt: skip
                seconds = time.perf_counter() - start
                if k or mode == "cold":
                    results[mode].append(seconds)
                sizes += [p.candidates for p in plan.students]
                engine.dispose()
    return {
        "class": class_id,
        "students": len(plan.students),
        "planned": plan.summary["planned"],
        "candidates_per_student": {"min": min(sizes), "median": statistics.median(sizes), "max": max(sizes)},
        "repeats": repeats,
        "compile_seconds": round(compile_seconds, 2),
        "seconds": [round(s, 3) for s in results["cold"][:repeats]],
        "seconds_median": round(statistics.median(results["cold"][:repeats]), 3),
        "warm_seconds": [round(s, 3) for s in results["warm"]],
        "warm_seconds_median": round(statistics.median(results["warm"]), 3),
        "target_seconds": 1.0,
    }


def run(instances: int = 1000, repeats: int = 5, weeks: int = 4) -> dict[str, Any]:
    """The optimiser and the speed of planning. The learning figure moved to `jianfu bench learn`
    (benchmarks.learn): the old "practice gain per minute" counted mastery units on every point,
    earlier grades' included, whatever a test would show (`weeks` is kept for the CLI's option)."""
    del weeks
    return {"optimality": optimality(instances), "class_45": class_45(repeats)}
