"""The evening budget, as pure functions: a student's cap for a night and how the head teacher's
split shares it between subjects (班主任协调).

The cap depends on the policy, the grade and the student's own (lower) cap only. It takes no
performance input at all (T11), and no other night's use (T12: an exemption never moves minutes
to another night). Weekends and holidays get the school-day cap, never more (T6).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from service.policy.policy import Policy


def evening_cap(policy: Policy, grade: int, personal_cap_minutes: int | None) -> float:
    """Minutes of homework this student may have on any night, all subjects together."""
    cap = float(policy.cap(grade))  # T6: the same on weekends and holidays (never above a school day)
    if personal_cap_minutes is not None:
        cap = min(cap, float(personal_cap_minutes))
    return cap


def day_type(calendar: Mapping[date, str], night: date) -> str:
    """school_day / weekend / holiday: the school calendar, else Saturday and Sunday are weekends."""
    if night in calendar:
        return calendar[night]
    return "weekend" if night.weekday() >= 5 else "school_day"


def default_weights(
    policy: Policy, grade: int, class_subjects: Sequence[str], weekday: int
) -> dict[str, float]:
    """The split when the head teacher has not set one for this class and weekday.

    The school policy's weights (`[allocation] weights`) for the class's subjects, else equal
    weights. Where the policy limits subjects per evening (T1 grades 1-2: one; T8: e.g. two in
    grades 3-5), the evening goes to that many subjects, taking turns by weekday, so a default
    never invites more subjects than the rule allows.
    """
    subjects = list(class_subjects)
    if not subjects:
        return {}
    limit = policy.subjects_per_evening(grade)
    if limit is not None and limit < len(subjects):
        start = (weekday * limit) % len(subjects)
        subjects = [subjects[(start + k) % len(subjects)] for k in range(limit)]
    weights = policy.allocation_weights
    return {s: float(weights.get(s, 1.0)) if weights else 1.0 for s in subjects}


def split(cap: float, weights: Mapping[str, float]) -> dict[str, float]:
    """Each subject's minutes: the cap shared in proportion to the weights (sums to the cap)."""
    total = sum(w for w in weights.values() if w > 0)
    if total <= 0:
        return {}
    return {s: cap * w / total for s, w in weights.items() if w > 0}
