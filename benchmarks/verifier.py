"""`jianfu bench verifier`: the verifier against generated cases with known answers.

Each case is a random valid set (policy, class, item bank, evening, set) or the same with exactly
one rule broken (benchmarks.policy_cases). A *miss* is a case where the verifier did not report
the broken rule; a *false alarm* is a case where it reported any rule that was not broken (a
valid set flagged, or a second rule named). The target is 0 and 0.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from benchmarks.policy_cases import INJECTABLE, make_case
from service.policy.verifier import verify

CHOICES: tuple[str | None, ...] = (None, *INJECTABLE)


def count(cases: int, seed: int) -> dict[str, Any]:
    """Generate and verify `cases` cases from one seed; tallies by injected rule."""
    rng = random.Random(seed)
    per_rule: Counter[str] = Counter()
    misses: Counter[str] = Counter()
    false_alarms: Counter[str] = Counter()
    examples: list[str] = []
    for _ in range(cases):
        inject = rng.choice(CHOICES)
        case = make_case(rng, inject)
        found = {v.rule for v in verify(case.hw_set, case.student, case.klass, case.evening, case.policy)}
        key = inject or "valid"
        per_rule[key] += 1
        missed = case.expected - found
        extra = found - case.expected
        if missed:
            misses[key] += 1
        if extra:
            false_alarms[key] += 1
        if (missed or extra) and len(examples) < 20:
            examples.append(f"{key} ({case.how}): expected {sorted(case.expected)}, got {sorted(found)}")
    return {
        "cases": cases,
        "misses": sum(misses.values()),
        "false_alarms": sum(false_alarms.values()),
        "per_rule": dict(per_rule),
        "misses_by_rule": dict(misses),
        "false_alarms_by_rule": dict(false_alarms),
        "examples": examples,
    }


def run(cases: int = 1_000_000, seed: int = 20261125, workers: int = 2) -> dict[str, Any]:
    start = time.perf_counter()
    chunks = [cases // workers + (1 if k < cases % workers else 0) for k in range(workers)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(count, chunks, [seed + k for k in range(workers)]))
    seconds = time.perf_counter() - start
    total: dict[str, Any] = {"cases": 0, "misses": 0, "false_alarms": 0}
    tallies: dict[str, Counter[str]] = {
        k: Counter() for k in ("per_rule", "misses_by_rule", "false_alarms_by_rule")
    }
    examples: list[str] = []
    for part in parts:
        for key in ("cases", "misses", "false_alarms"):
            total[key] += part[key]
        for key, tally in tallies.items():
            tally.update(part[key])
        examples += part["examples"]
    return {
        **total,
        **{key: dict(sorted(tally.items())) for key, tally in tallies.items()},
        "examples": examples[:20],
        "seed": seed,
        "workers": workers,
        "seconds": round(seconds, 1),
        "cases_per_second": round(total["cases"] / seconds),
    }
