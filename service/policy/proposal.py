"""A proposed homework set and its items: one shape from whoever proposes it (the planner, a
teacher by hand) through the gate to the ledger's rows (plans, plan_items, ledger_lines) and back
out in the planner's answer.

What the shape does not carry, on purpose: the facts the verifier judges an item by (kind,
knowledge points, needs_parent, near-duplicate group, whether a review has an open error-book
entry) are read from the item bank and the error book by the gate, never taken from a proposal;
the verifier's own `SetItem` holds them. `kind`, `kps` and `p_correct` here are what the planner
saw and predicted, for people to read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class PlannedItem:
    item_id: str
    tier: str  # "basic" (mandatory) or "extension" (optional)
    typical_minutes: float  # for this student
    reason_zh: str = ""
    reason_en: str = ""
    review: bool = False  # an error-book review (C4 lets it come back within the repeat window)
    kind: str = ""  # as the planner read it from the bank (the gate reads its own)
    kps: tuple[str, ...] = ()
    p_correct: float | None = None  # the planner's prediction for this student; None for a hand-written item


@dataclass(frozen=True)
class Proposal:
    """One student's set for one night and subject. Booked, its conservative minutes are what the
    evening holds for it (C6, T10)."""

    plan_id: str
    teacher_id: str
    student_id: str
    night: date
    subject: str
    items: Sequence[PlannedItem]
    conservative_minutes: float  # the whole set's calibrated upper bound for this student
    basic_conservative_minutes: float  # the same bound for the basic tier alone
    slot: str = "evening"
    model_version: str | None = None
