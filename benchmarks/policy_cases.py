"""Random verifier cases with a known answer: a valid set, or a valid set with exactly one rule broken.

Used by the property tests (tests/test_verifier.py, through hypothesis) and by
`jianfu bench verifier` (1,000,000 cases). The generator is written from POLICY.md, not from the
verifier: it builds its own policies, classes, item banks, evenings and sets, knows which rule it
broke and how, and never calls the verifier. A case's `expected` is the set of rule IDs the
verifier must report: empty for a valid set, `{rule}` after one injection.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta

from service.policy.policy import Policy
from service.policy.rules import SET_RULES
from service.policy.verifier import ClassContext, EveningState, HomeworkSet, SetItem, StudentContext

INJECTABLE = SET_RULES
SUBJECT_POOL = ("chinese", "math", "english", "science", "morality", "pe", "art")
CORE = ("chinese", "math", "english")
NON_WRITTEN = ("oral", "reading", "practical", "physical")
NATIONAL_CAPS = {1: 20, 2: 20, 3: 60, 4: 60, 5: 60, 6: 60, 7: 90, 8: 90, 9: 90, 10: 120, 11: 120, 12: 120}


@dataclass(frozen=True)
class Case:
    hw_set: HomeworkSet
    student: StudentContext
    klass: ClassContext
    evening: EveningState
    policy: Policy
    expected: frozenset[str]
    how: str  # which injection route, for failure messages


@dataclass
class _Plan:
    """The generator's own view of the rules it drew (kept apart from Policy's methods)."""

    grade: int
    caps: dict[int, int]
    kinds_low: tuple[str, ...]  # allowed in grades 1-2
    kinds_high: tuple[str, ...]  # allowed in grades 3-12
    t8: bool  # grades 3-5: at most two subjects
    written_only: tuple[str, ...]
    max_dup: int
    max_kp: int
    repeat_days: int

    def allowed(self) -> tuple[str, ...]:
        return self.kinds_low if self.grade <= 2 else self.kinds_high

    def subject_limit(self) -> int | None:
        if self.grade <= 2:
            return 1
        if self.t8 and 3 <= self.grade <= 5:
            return 2
        return None

    def policy(self) -> Policy:
        max_subjects = {(1, 2): 1}
        if self.t8:
            max_subjects[(3, 5)] = 2
        return Policy(
            name="generated",
            caps=dict(self.caps),
            noon_assignment=False,
            weekend_above_school_day=False,
            max_subjects=max_subjects,
            written_only_in=self.written_only,
            kinds={(1, 2): self.kinds_low, (3, 12): self.kinds_high},
            max_per_dup_group=self.max_dup,
            max_per_kp=self.max_kp,
            repeat_days=self.repeat_days,
            needs_parent_allowed=False,
        )


def _grade_for(rule: str | None, rng: random.Random) -> int:
    if rule == "T1":
        return rng.choice((1, 2, 1, 2, rng.randint(3, 12)))
    ranges = {"T2": (3, 6), "T3": (7, 9), "T4": (10, 12), "T8": (3, 5)}
    if rule in ranges:
        return rng.randint(*ranges[rule])
    if rule in ("T9", "T12"):
        return rng.randint(3, 12)
    if rule == "C1":
        return rng.randint(1, 11)  # a grade above exists
    return rng.randint(1, 12)


class _Retry(Exception):
    """This draw cannot take the injection (e.g. no minutes left tonight): draw again."""


def make_case(rng: random.Random, inject: str | None = None) -> Case:
    """A random valid case; with `inject`, the same kind of case with exactly that rule broken."""
    for _ in range(1000):
        try:
            return _make_case(rng, inject)
        except _Retry:
            continue
    raise RuntimeError(f"could not draw a case for {inject}")


def _make_case(rng: random.Random, inject: str | None) -> Case:
    grade = _grade_for(inject, rng)
    caps = {
        g: max(5, rng.randint(c * 2 // 3, c)) if rng.random() < 0.3 else c for g, c in NATIONAL_CAPS.items()
    }
    kinds_high: tuple[str, ...] = ("written", *NON_WRITTEN)
    if (inject == "T1" and grade >= 3) or rng.random() < 0.15:
        dropped = rng.choice(NON_WRITTEN)
        kinds_high = tuple(k for k in kinds_high if k != dropped)
    kinds_low = tuple(k for k in NON_WRITTEN if rng.random() < 0.85) or ("oral",)
    plan = _Plan(
        grade=grade,
        caps=caps,
        kinds_low=kinds_low,
        kinds_high=kinds_high,
        t8=inject == "T8" or rng.random() < 0.4,
        written_only=CORE if inject == "T9" or rng.random() < 0.4 else (),
        max_dup=rng.randint(1, 2),
        max_kp=rng.randint(2, 5),
        repeat_days=rng.randint(3, 14),
    )

    # The subject, so that the injection is possible.
    subjects = list(SUBJECT_POOL)
    if inject == "T9":
        subjects = [s for s in SUBJECT_POOL if s not in CORE]
    elif inject in ("T12",) or (inject == "T1" and grade <= 2):
        subjects = [s for s in SUBJECT_POOL if not plan.written_only or s in plan.written_only]
    subject = rng.choice(subjects)
    written_ok = "written" in plan.allowed() and (not plan.written_only or subject in plan.written_only)

    night = date(2026, 9, 1) + timedelta(days=rng.randint(0, 300))
    day_type = (
        "school_day"
        if inject in ("T2", "T3", "T4")
        else rng.choice(("school_day", "school_day", "weekend", "holiday"))
    )
    if inject == "T6":
        day_type = rng.choice(("weekend", "holiday"))
    grade_cap = float(plan.caps[grade])
    needs_whole_evening = inject in ("T2", "T3", "T4", "T6", "C6") or inject == "T10"
    personal = None
    if inject == "T10" and rng.random() < 0.4 and grade_cap >= 10:
        personal = rng.randint(int(grade_cap) // 3, int(grade_cap) - 3)
    elif not needs_whole_evening and inject not in ("T10",) and rng.random() < 0.25:
        personal = rng.randint(0, int(grade_cap))
    own_cap = grade_cap if personal is None else min(grade_cap, float(personal))
    exempt = inject == "T12" or (rng.random() < 0.1 and inject != "T1")

    # Other plans tonight.
    limit = plan.subject_limit()
    reserved: dict[str, float] = {}
    if not needs_whole_evening:
        others = [s for s in SUBJECT_POOL if s != subject]
        rng.shuffle(others)
        n_others = rng.randint(0, 3 if limit is None else limit - 1)
        if inject == "T8":
            n_others = 1
        for s in others[:n_others]:
            reserved[s] = round(rng.uniform(0.5, max(0.6, own_cap * 0.25)), 2)
        if rng.random() < 0.2 or (inject == "T1" and grade <= 2):
            reserved[subject] = round(rng.uniform(0.5, max(0.6, own_cap * 0.15)), 2)
        while sum(reserved.values()) > own_cap:  # never more than the ledger allows
            reserved = {s: m / 2 for s, m in reserved.items()}
    evening_left = own_cap - sum(reserved.values())
    allowance = None
    if not needs_whole_evening and rng.random() < 0.4:
        allowance = round(reserved.get(subject, 0.0) + rng.uniform(0.3, 1.0) * evening_left, 2)
    subject_left = evening_left if allowance is None else allowance - reserved.get(subject, 0.0)
    remaining = max(0.0, min(evening_left, subject_left))

    # The knowledge points this class has been taught by tonight (grade <= class grade).
    bank = [f"{subject}-g{rng.randint(1, grade)}-{k:02d}" for k in range(rng.randint(3, 12))]
    kp_grades = {kp: int(kp.split("-g")[1].split("-")[0]) for kp in bank}
    taught = {kp: night - timedelta(days=rng.randint(0, 200)) for kp in bank}
    for k in range(rng.randint(0, 3)):  # the bank also knows points not taught yet, and later grades
        later = f"{subject}-g{rng.randint(1, grade)}-x{k}"
        kp_grades[later] = int(later.split("-g")[1].split("-")[0])
        if rng.random() < 0.5:
            taught[later] = night + timedelta(days=rng.randint(1, 60))

    # The items: kinds allowed, no parent, distinct ids and near-duplicate groups within caps.
    n_min = {"C4": 3, "C6": 2, "T1": 1, "T9": 1, "T12": 1, "C1": 1, "C2": 1, "C5": 1, "T5": 1, "T10": 1}.get(
        inject or "", 0
    )
    n_min = max(n_min, 1 if needs_whole_evening else 0)
    n = rng.randint(n_min, max(n_min, 8))
    kinds = [k for k in plan.allowed() if k != "written" or (written_ok and not exempt)]
    kp_use: dict[str, int] = {}
    groups: dict[str, int] = {}
    items: list[SetItem] = []
    for k in range(n):
        free_kps = [kp for kp in bank if kp_use.get(kp, 0) < plan.max_kp]
        if not free_kps:
            break
        kps = tuple(rng.sample(free_kps, min(len(free_kps), rng.choice((1, 1, 1, 2)))))
        for kp in kps:
            kp_use[kp] = kp_use.get(kp, 0) + 1
        group = rng.choice((f"g{k}", f"g{rng.randint(0, 3)}", None))
        if group is not None and groups.get(group, 0) >= plan.max_dup:
            group = f"u{k}"
        if group is not None:
            groups[group] = groups.get(group, 0) + 1
        tier = "basic" if k == 0 or rng.random() < 0.6 else "extension"
        if inject == "C6" and k == n - 1:
            tier = "extension"
        items.append(
            SetItem(
                item_id=f"{subject}-i{k:03d}",
                tier=tier,
                kind=rng.choice(kinds),
                kp_ids=kps,
                minutes=rng.uniform(0.5, 10.0),
                needs_parent=False,
                dup_group=group,
                review=False,
            )
        )
    # Some items were set before: long enough ago, or error-book reviews that may come back.
    recent: dict[str, date] = {}
    for item in items:
        if rng.random() < 0.2:
            recent[item.item_id] = night - timedelta(
                days=rng.randint(plan.repeat_days, plan.repeat_days + 30)
            )
    for j, item in enumerate(items):
        if item.item_id not in recent and rng.random() < 0.1:
            recent[item.item_id] = night - timedelta(days=rng.randint(0, plan.repeat_days - 1))
            items[j] = replace(item, review=True)
    recent[f"{subject}-old"] = night - timedelta(days=1)  # not in the set: irrelevant

    # Minutes: scale the set into what is left, with a conservative factor above the typical sum.
    factor = rng.uniform(1.0, 1.8)
    typical = sum(i.minutes for i in items)
    if items:
        room = remaining * (1.0 if rng.random() < 0.1 else rng.uniform(0.2, 0.98))
        scale = room / (typical * factor) if typical * factor > room else 1.0
        items = [replace(i, minutes=i.minutes * scale) for i in items]
        if any(i.minutes <= 0 for i in items):  # no room at all tonight: an empty set
            items = []
    typical = sum(i.minutes for i in items)
    basic_typical = sum(i.minutes for i in items if i.tier == "basic")
    conservative = typical * factor
    basic_conservative = min(conservative, basic_typical * factor)

    case = _Built(
        plan,
        HomeworkSet(subject, tuple(items), conservative, basic_conservative),
        StudentContext("stu-x", personal, exempt, recent),
        ClassContext("class-x", grade, kp_grades, taught),
        EveningState(night, day_type, own_cap, reserved, allowance),
    )
    how = "valid"
    if inject is not None and inject not in ("T7", "T11") and not items:
        raise _Retry("the injection needs items")
    if inject is not None:
        how = _INJECT[inject](case, rng)
    return Case(
        case.hw_set,
        case.student,
        case.klass,
        case.evening,
        plan.policy(),
        frozenset() if inject is None else frozenset({inject}),
        how,
    )


@dataclass
class _Built:
    plan: _Plan
    hw_set: HomeworkSet
    student: StudentContext
    klass: ClassContext
    evening: EveningState

    def set_items(self, items: list[SetItem]) -> None:
        self.hw_set = replace(self.hw_set, items=tuple(items))

    @property
    def own_cap(self) -> float:
        return self.evening.cap_minutes

    @property
    def typical(self) -> float:
        return sum(i.minutes for i in self.hw_set.items)


def _inject_t1(c: _Built, rng: random.Random) -> str:
    items = list(c.hw_set.items)
    if c.plan.grade <= 2:
        if rng.random() < 0.5 and items:
            j = rng.randrange(len(items))
            items[j] = replace(items[j], kind="written")
            c.set_items(items)
            return "written item in grade 1-2"
        # A second subject tonight: split this subject's other reservation with another subject.
        reserved = dict(c.evening.reserved)
        same = reserved[c.hw_set.subject]
        other = rng.choice([s for s in SUBJECT_POOL if s != c.hw_set.subject])
        reserved[c.hw_set.subject] = same / 2
        reserved[other] = same / 2
        c.evening = replace(c.evening, reserved=reserved)
        return "second subject in grade 1-2"
    banned = [k for k in NON_WRITTEN if k not in c.plan.kinds_high]
    j = rng.randrange(len(items))
    items[j] = replace(items[j], kind=rng.choice(banned))
    c.set_items(items)
    return "kind the school does not allow"


def _inject_band(c: _Built, rng: random.Random) -> str:
    """The whole set, basic tier included, above the grade's cap on an empty evening."""
    cap = c.own_cap
    target = cap * rng.uniform(1.05, 2.0) + 0.5
    items = [replace(i, tier="basic") for i in c.hw_set.items]
    scale = target / sum(i.minutes for i in items)
    items = [replace(i, minutes=i.minutes * scale) for i in items]
    typical = sum(i.minutes for i in items)
    factor = rng.uniform(1.0, 1.5)
    c.hw_set = replace(
        c.hw_set,
        items=tuple(items),
        conservative_minutes=typical * factor,
        basic_conservative_minutes=typical * factor,
    )
    return "whole set above the cap of an empty evening"


def _inject_t5(c: _Built, rng: random.Random) -> str:
    whole = c.hw_set.conservative_minutes
    if whole < 0.05:
        raise _Retry("T5 needs a set with minutes")
    reserved = dict(c.evening.reserved)
    used = sum(reserved.values())
    evening_left = c.own_cap - used
    if rng.random() < 0.5:
        # Another plan of the same subject tonight takes most of what is left (ledger stays within cap).
        reserved[c.hw_set.subject] = reserved.get(c.hw_set.subject, 0.0) + evening_left - whole / 2
        c.evening = replace(c.evening, reserved=reserved)
        return "evening taken by other plans"
    c.evening = replace(c.evening, allowance_minutes=reserved.get(c.hw_set.subject, 0.0) + whole / 2)
    return "subject's share too small"


def _inject_t7(c: _Built, rng: random.Random) -> str:
    c.hw_set = replace(c.hw_set, slot="noon")
    return "noon"


def _inject_t8(c: _Built, rng: random.Random) -> str:
    reserved = dict(c.evening.reserved)
    (other,) = [s for s in reserved if s != c.hw_set.subject]
    third = rng.choice([s for s in SUBJECT_POOL if s not in reserved and s != c.hw_set.subject])
    reserved[third] = reserved[other] / 2
    reserved[other] = reserved[other] / 2
    c.evening = replace(c.evening, reserved=reserved)
    return "third subject in grades 3-5"


def _inject_t9(c: _Built, rng: random.Random) -> str:
    items = list(c.hw_set.items)
    j = rng.randrange(len(items))
    items[j] = replace(items[j], kind="written")
    c.set_items(items)
    c.student = replace(c.student, exempt=False)
    return "written item in a subject that finishes written work in class"


def _inject_t10(c: _Built, rng: random.Random) -> str:
    typical = c.typical
    if c.student.personal_cap_minutes is not None:
        # The student's own cap: above it, within the grade's cap.
        p = float(c.student.personal_cap_minutes)
        grade_cap = float(c.plan.caps[c.plan.grade])
        target = rng.uniform(p + 0.3 * (grade_cap - p), grade_cap - 0.1)
        items = [replace(i, tier="basic") for i in c.hw_set.items]
        s = target / sum(i.minutes for i in items)
        items = [replace(i, minutes=i.minutes * s) for i in items]
        total = sum(i.minutes for i in items)
        bound = rng.uniform(total, grade_cap)
        c.hw_set = replace(
            c.hw_set, items=tuple(items), conservative_minutes=bound, basic_conservative_minutes=bound
        )
        return "above the student's own cap"
    if rng.random() < 0.5 and typical > 0.05:
        c.hw_set = replace(c.hw_set, conservative_minutes=typical * rng.uniform(0.3, 0.97))
        return "bound below the typical total"
    # Fits at typical pace, not by the conservative bound.
    cap = c.own_cap
    bound = cap * rng.uniform(1.02, 1.6) + 0.1
    c.hw_set = replace(c.hw_set, conservative_minutes=bound, basic_conservative_minutes=bound)
    return "typical fits, conservative does not"


def _inject_t11(c: _Built, rng: random.Random) -> str:
    c.evening = replace(c.evening, cap_minutes=c.own_cap + rng.choice((5, 10, 15, 30)))
    return "cap raised in the ledger"


def _inject_t12(c: _Built, rng: random.Random) -> str:
    items = list(c.hw_set.items)
    j = rng.randrange(len(items))
    items[j] = replace(items[j], kind="written")
    c.set_items(items)
    c.student = replace(c.student, exempt=True)
    return "written item for an exempted student"


def _inject_c1(c: _Built, rng: random.Random) -> str:
    items = list(c.hw_set.items)
    j = rng.randrange(len(items))
    grades = dict(c.klass.kp_grades)
    if rng.random() < 0.3:
        kp = f"{c.hw_set.subject}-unknown-{j}"
        how = "knowledge point outside the curriculum"
    else:
        g = rng.randint(c.plan.grade + 1, 12)
        kp = f"{c.hw_set.subject}-g{g}-{j:02d}z"
        grades[kp] = g
        how = "knowledge point of a later grade"
    points = list(items[j].kp_ids)
    points[rng.randrange(len(points))] = kp  # any position of the item's points
    items[j] = replace(items[j], kp_ids=tuple(points))
    c.set_items(items)
    c.klass = replace(c.klass, kp_grades=grades)
    return how


def _inject_c2(c: _Built, rng: random.Random) -> str:
    items = list(c.hw_set.items)
    j = rng.randrange(len(items))
    g = rng.randint(1, c.plan.grade)
    kp = f"{c.hw_set.subject}-g{g}-{j:02d}n"
    grades = dict(c.klass.kp_grades) | {kp: g}
    taught = dict(c.klass.taught)
    how = "knowledge point not taught"
    if rng.random() < 0.5:
        taught[kp] = c.evening.night + timedelta(days=rng.randint(1, 30))
        how = "knowledge point taught only later"
    points = list(items[j].kp_ids)
    points[rng.randrange(len(points))] = kp
    items[j] = replace(items[j], kp_ids=tuple(points))
    c.set_items(items)
    c.klass = replace(c.klass, kp_grades=grades, taught=taught)
    return how


def _inject_c4(c: _Built, rng: random.Random) -> str:
    items = list(c.hw_set.items)
    route = rng.choice(("same item", "near duplicates", "one knowledge point", "repeated too soon"))
    if route == "same item":
        i, j = rng.sample(range(len(items)), 2)
        items[j] = replace(items[i], minutes=items[j].minutes, tier=items[j].tier)
    elif route == "near duplicates":
        chosen = rng.sample(range(len(items)), min(len(items), c.plan.max_dup + 1))
        if len(chosen) <= c.plan.max_dup:
            raise _Retry("not enough items")
        for j in chosen:
            items[j] = replace(items[j], dup_group="dup-x")
    elif route == "one knowledge point":
        # The most-used taught point of the set, on enough items to pass the cap.
        kp = items[0].kp_ids[0]
        need = c.plan.max_kp + 1
        if len(items) < need:  # more (optional) items on it, the same minutes in total
            extra = [
                replace(
                    items[k % len(items)],
                    item_id=f"{items[0].item_id}-c{k}",
                    dup_group=None,
                    tier="extension",
                )
                for k in range(need - len(items))
            ]
            before = sum(i.minutes for i in items)
            scale = before / (before + sum(i.minutes for i in extra))
            items = [replace(i, minutes=i.minutes * scale) for i in items + extra]
        for j in range(need):
            if kp not in items[j].kp_ids:
                items[j] = replace(items[j], kp_ids=(kp, *items[j].kp_ids[1:]))
    else:
        j = rng.randrange(len(items))
        items[j] = replace(items[j], review=False)
        recent = dict(c.student.recent)
        recent[items[j].item_id] = c.evening.night - timedelta(days=rng.randint(0, c.plan.repeat_days - 1))
        c.student = replace(c.student, recent=recent)
    c.set_items(items)
    return route


def _inject_c5(c: _Built, rng: random.Random) -> str:
    items = list(c.hw_set.items)
    j = rng.randrange(len(items))
    items[j] = replace(items[j], needs_parent=True)
    c.set_items(items)
    return "needs a parent"


def _inject_c6(c: _Built, rng: random.Random) -> str:
    """The basic tier fits the (empty) evening; with the extension tier, the set does not."""
    cap = c.own_cap
    bound = cap * rng.uniform(1.02, 1.8) + 0.1
    c.hw_set = replace(c.hw_set, conservative_minutes=bound)
    return "extension pushes the set over"


_INJECT = {
    "T1": _inject_t1,
    "T2": _inject_band,
    "T3": _inject_band,
    "T4": _inject_band,
    "T5": _inject_t5,
    "T6": _inject_band,
    "T7": _inject_t7,
    "T8": _inject_t8,
    "T9": _inject_t9,
    "T10": _inject_t10,
    "T11": _inject_t11,
    "T12": _inject_t12,
    "C1": _inject_c1,
    "C2": _inject_c2,
    "C4": _inject_c4,
    "C5": _inject_c5,
    "C6": _inject_c6,
}
