"""One source for a set's minutes: every place that shows how long a set takes (the teacher's
preview, the worksheet, the student's page, a refusal, the API) calls `set_minutes`, so the same
set shows the same two figures everywhere.

- typical: the sum of the items' typical minutes for this student (what an ordinary evening takes);
- bound: the calibrated conservative bound the evening holds for the set (保守估计), never below
  the typical sum; the rules (T1-T6, T10, C6) are judged on it.

Both kept to two decimals (the API's figures); every page and message writes them with `shown`
(one decimal at most: 25, 34.5), so a page and the API never disagree beyond the last digit shown."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SetMinutes:
    typical: float
    bound: float

    def __add__(self, other: SetMinutes) -> SetMinutes:
        return SetMinutes(round(self.typical + other.typical, 2), round(self.bound + other.bound, 2))


def set_minutes(*, typical: float, conservative: float) -> SetMinutes:
    """The figures shown for a set whose items take `typical` minutes in all and whose conservative
    bound is `conservative` (the bound is never shown below the typical sum)."""
    return SetMinutes(round(typical, 2), round(max(conservative, typical), 2))


def items_minutes(typicals: Iterable[float], conservative: float) -> SetMinutes:
    """set_minutes of a set given its items' typical minutes."""
    return set_minutes(typical=sum(typicals), conservative=conservative)


def shown(x: float) -> str:
    """Minutes as a message writes them: one decimal at most (25, 34.5)."""
    return f"{round(x, 1):.1f}".rstrip("0").rstrip(".")
