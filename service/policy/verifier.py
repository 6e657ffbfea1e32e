"""The independent verifier: the last gate every homework set passes before it leaves the service.

`verify(hw_set, student, klass, evening, policy)` is a pure function (no database, no models, no
clock) that returns every violation of a HARD rule of POLICY.md, each with its rule ID and a
message in Chinese and English that says what a teacher needs to change. It shares no code with
the planner: it is written from the rules, so a planner bug cannot hide behind the same bug here.

Time (T1-T6, T10, C6) is judged on the set's conservative bound, never the typical sum. When the
set does not fit the evening, exactly one rule is named, the most specific cause:
T5 (it would fit an empty evening: other subjects' reservations or this subject's share are in the
way) → C6 (the basic tier fits, the extension pushes it over) → T10 (only the conservative bound
overflows, or only this student's own lower cap) → T6 (a weekend or holiday) → the grade band's
cap (T1 grades 1-2, T2 3-6, T3 7-9, T4 10-12).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from models.schema import ITEM_KINDS, SUBJECTS
from service.policy.policy import Policy

TIERS = ("basic", "extension")
SLOTS = ("evening", "noon")
EPS = 1e-6  # minutes; a float sum that is equal up to rounding fits
RULE_ORDER = (
    "T1",
    "T2",
    "T3",
    "T4",
    "T5",
    "T6",
    "T7",
    "T8",
    "T9",
    "T10",
    "T11",
    "T12",
    "C1",
    "C2",
    "C4",
    "C5",
    "C6",
)


@dataclass(frozen=True)
class SetItem:
    item_id: str
    tier: str  # "basic" (mandatory) or "extension" (optional)
    kind: str  # written / oral / reading / practical / physical
    kp_ids: tuple[str, ...]
    minutes: float  # typical minutes for this student
    needs_parent: bool = False
    dup_group: str | None = None
    review: bool = False  # an error-book review: may come back within the repeat window (C4)


@dataclass(frozen=True)
class HomeworkSet:
    subject: str
    items: tuple[SetItem, ...]
    conservative_minutes: float  # calibrated upper bound of the whole set's time for this student
    basic_conservative_minutes: float  # the same bound for the basic tier alone
    slot: str = "evening"  # when it is set to be done (T7: never "noon")


@dataclass(frozen=True)
class StudentContext:
    student_id: str
    personal_cap_minutes: int | None = None  # lower than the policy's cap, never higher
    exempt: bool = False  # a parent signed tonight's exemption from written work (T12)
    recent: Mapping[str, date] = field(default_factory=dict)  # item -> last night it was set
    # Items other plans already set for this student tonight: (item, near-duplicate group, points).
    # The near-duplicate and per-point caps (C4) hold for the night, not only for one set.
    tonight: tuple[tuple[str, str | None, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class ClassContext:
    class_id: str
    grade: int
    kp_grades: Mapping[str, int]  # curriculum-standard grade of every knowledge point (C1)
    taught: Mapping[str, date]  # knowledge point -> the day this class was taught it (C2)


@dataclass(frozen=True)
class EveningState:
    night: date
    day_type: str  # school_day / weekend / holiday (the school calendar)
    cap_minutes: float  # the ledger's cap for this student and night
    reserved: Mapping[str, float] = field(default_factory=dict)  # subject -> minutes other plans hold
    allowance_minutes: float | None = None  # this subject's share of the evening tonight (T5)


@dataclass(frozen=True)
class Violation:
    rule: str
    zh: str
    en: str
    item_id: str | None = None

    def __str__(self) -> str:
        where = f" [{self.item_id}]" if self.item_id else ""
        return f"{self.rule}{where}: {self.zh} / {self.en}"


def _m(x: float) -> str:
    """Minutes as every page writes them (one decimal at most: 25, 34.5), written here again on
    purpose: the verifier shares no code with the planner (tests/test_verifier.py checks both agree)."""
    return f"{round(x, 1):.1f}".rstrip("0").rstrip(".")


def verify(
    hw_set: HomeworkSet,
    student: StudentContext,
    klass: ClassContext,
    evening: EveningState,
    policy: Policy,
) -> list[Violation]:
    """Every violation of a HARD rule by this set, for this student, on this night."""
    out: list[Violation] = []
    out += _kinds(hw_set, klass.grade, student, policy)
    out += _subjects(hw_set, klass.grade, evening, policy)
    if hw_set.slot != "evening" and not (hw_set.slot == "noon" and policy.noon_assignment):
        out.append(
            Violation(
                "T7",
                "中午不得布置家庭作业：请把这套作业改到晚上。",
                "No homework may be set at noon: move this set to the evening.",
            )
        )
    out += _syllabus(hw_set, klass, evening.night)
    out += _repetition(hw_set, student, evening.night, policy)
    if not policy.needs_parent_allowed:
        for item in hw_set.items:
            if item.needs_parent:
                out.append(
                    Violation(
                        "C5",
                        "不得布置需要家长完成或批改的作业：请删除或替换这道题。",
                        "No item may need a parent to do or mark it: remove or replace this item.",
                        item.item_id,
                    )
                )
    out += _budget(hw_set, student, klass.grade, evening, policy)
    return sorted(out, key=lambda v: (RULE_ORDER.index(v.rule), v.item_id or ""))


def _kinds(hw_set: HomeworkSet, grade: int, student: StudentContext, policy: Policy) -> list[Violation]:
    out = []
    allowed = policy.allowed_kinds(grade)
    written_subjects = policy.written_only_in
    for item in hw_set.items:
        kind_zh = ITEM_KINDS.get(item.kind, item.kind)
        if item.kind not in allowed:
            if grade <= 2 and item.kind == "written":
                zh = f"一、二年级不布置书面家庭作业：请把这道{kind_zh}题换成口头、阅读、实践或体育活动。"
                en = "Grades 1-2 get no written homework: replace this written item with an oral, reading, practical or physical activity."
            else:
                names = "、".join(ITEM_KINDS.get(k, k) for k in allowed)
                zh = f"{grade}年级不允许“{kind_zh}”类作业（允许：{names}）：请删除或替换这道题。"
                en = f"Grade {grade} may not be set {item.kind} items (allowed: {', '.join(allowed)}): remove or replace this item."
            out.append(Violation("T1", zh, en, item.item_id))
            continue
        if item.kind != "written":
            continue
        if written_subjects and hw_set.subject not in written_subjects:
            names = "、".join(SUBJECTS.get(s, s) for s in written_subjects)
            out.append(
                Violation(
                    "T9",
                    f"本校只有{names}可以布置书面家庭作业，{SUBJECTS.get(hw_set.subject, hw_set.subject)}的书面练习应在课内完成：请删除这道题或改为非书面活动。",
                    f"At this school only {', '.join(written_subjects)} may set take-home written work; {hw_set.subject} finishes written work in class: remove this item or make it non-written.",
                    item.item_id,
                )
            )
        if student.exempt:
            out.append(
                Violation(
                    "T12",
                    "家长已签字免写今晚的书面作业：请删除这道书面题（也不要挪到明天）。",
                    "A parent signed tonight's exemption from written work: remove this written item (and do not move it to tomorrow).",
                    item.item_id,
                )
            )
    return out


def _subjects(hw_set: HomeworkSet, grade: int, evening: EveningState, policy: Policy) -> list[Violation]:
    limit = policy.subjects_per_evening(grade)
    if limit is None:
        return []
    tonight = {s for s, minutes in evening.reserved.items() if minutes > EPS} | {hw_set.subject}
    if len(tonight) <= limit:
        return []
    others = "、".join(SUBJECTS.get(s, s) for s in sorted(tonight - {hw_set.subject}))
    if grade <= 2:
        return [
            Violation(
                "T1",
                f"一、二年级每晚只能有一门学科的作业，今晚已有{others}：请改到别的晚上。",
                f"Grades 1-2 get homework from one subject per evening and tonight already has {', '.join(sorted(tonight - {hw_set.subject}))}: choose another evening.",
            )
        ]
    return [
        Violation(
            "T8",
            f"本校{grade}年级每晚最多{limit}门学科有作业，今晚已有{others}：请改到别的晚上或请班主任调整。",
            f"At this school grade {grade} gets homework from at most {limit} subjects per evening and tonight already has {', '.join(sorted(tonight - {hw_set.subject}))}: choose another evening or ask the head teacher.",
        )
    ]


def _syllabus(hw_set: HomeworkSet, klass: ClassContext, night: date) -> list[Violation]:
    out = []
    for item in hw_set.items:
        if not item.kp_ids:
            out.append(
                Violation(
                    "C1",
                    "这道题没有标注知识点，无法确认在课程标准之内：请删除它或先在题库里标注知识点。",
                    "This item names no knowledge point, so it cannot be shown to be within the curriculum standard: remove it or tag it in the item bank first.",
                    item.item_id,
                )
            )
            continue
        for kp in item.kp_ids:
            kp_grade = klass.kp_grades.get(kp)
            if kp_grade is None or kp_grade > klass.grade:
                where_zh = "不在课程标准中" if kp_grade is None else f"属于{kp_grade}年级课程标准"
                where_en = (
                    "is not in the curriculum standard"
                    if kp_grade is None
                    else f"belongs to grade {kp_grade}'s curriculum standard"
                )
                out.append(
                    Violation(
                        "C1",
                        f"知识点 {kp} {where_zh}，超出{klass.grade}年级要求：请删除这道题。",
                        f"Knowledge point {kp} {where_en}, beyond grade {klass.grade}: remove this item.",
                        item.item_id,
                    )
                )
                break
            taught_on = klass.taught.get(kp)
            if taught_on is None or taught_on > night:
                when_zh = "还没有教" if taught_on is None else f"要到 {taught_on} 才教"
                when_en = "has not been taught" if taught_on is None else f"is only taught on {taught_on}"
                out.append(
                    Violation(
                        "C2",
                        f"知识点 {kp} 在本班{when_zh}，不能超前布置：请删除这道题，或先更新教学进度。",
                        f"Knowledge point {kp} {when_en} to this class; nothing ahead of the class: remove this item or update the teaching progress first.",
                        item.item_id,
                    )
                )
                break
    return out


def _repetition(hw_set: HomeworkSet, student: StudentContext, night: date, policy: Policy) -> list[Violation]:
    out = []
    ids = Counter(item.item_id for item in hw_set.items)
    already = {item_id for item_id, _, _ in student.tonight}
    for item_id in sorted(set(ids) & already):
        out.append(
            Violation(
                "C4",
                "这道题今晚已经在另一份作业里布置给这名学生了：请换一道题。",
                "This item is already set for this student tonight in another set: choose another item.",
                item_id,
            )
        )
    for item_id, n in sorted(ids.items()):
        if n > 1:
            out.append(
                Violation(
                    "C4",
                    f"同一道题在这套作业里出现了{n}次：请只保留一次。",
                    f"The same item appears {n} times in this set: keep it once.",
                    item_id,
                )
            )
    groups = Counter(item.dup_group for item in hw_set.items if item.dup_group)
    groups.update(group for _, group, _ in student.tonight if group and group in groups)
    for group, n in sorted(groups.items()):
        if n > policy.max_per_dup_group:
            out.append(
                Violation(
                    "C4",
                    f"近似题（{', '.join(i.item_id for i in hw_set.items if i.dup_group == group)}）今晚共有{n}道（最多{policy.max_per_dup_group}道）：请删掉{n - policy.max_per_dup_group}道，避免机械重复。",
                    f"Near-identical items ({', '.join(i.item_id for i in hw_set.items if i.dup_group == group)}) come to {n} tonight (at most {policy.max_per_dup_group}): remove {n - policy.max_per_dup_group} to avoid mechanical repetition.",
                )
            )
    kps = Counter(kp for item in hw_set.items for kp in set(item.kp_ids))
    kps.update(kp for _, _, points in student.tonight for kp in set(points) if kp in kps)
    for kp, n in sorted(kps.items()):
        if n > policy.max_per_kp:
            out.append(
                Violation(
                    "C4",
                    f"知识点 {kp} 今晚共有{n}道题（最多{policy.max_per_kp}道）：请删掉{n - policy.max_per_kp}道。",
                    f"Knowledge point {kp} has {n} items tonight (at most {policy.max_per_kp}): remove {n - policy.max_per_kp}.",
                )
            )
    for item in hw_set.items:
        last = student.recent.get(item.item_id)
        if last is None or item.review:
            continue
        days = (night - last).days
        if abs(days) < policy.repeat_days:
            when_zh = f"{days} 天前（{last}）刚布置过" if days >= 0 else f"已安排在 {-days} 天后（{last}）"
            when_en = (
                f"was set {days} days ago ({last})"
                if days >= 0
                else f"is already set for {last}, {-days} days later"
            )
            out.append(
                Violation(
                    "C4",
                    f"这道题{when_zh}，{policy.repeat_days} 天内不得重复（错题复习除外）：请换一道题。",
                    f"This item {when_en}; it may not come back within {policy.repeat_days} days unless it is an error-book review: choose another item.",
                    item.item_id,
                )
            )
    return out


def _band_rule(grade: int) -> str:
    if grade <= 2:
        return "T1"
    if grade <= 6:
        return "T2"
    if grade <= 9:
        return "T3"
    return "T4"


def _budget(
    hw_set: HomeworkSet, student: StudentContext, grade: int, evening: EveningState, policy: Policy
) -> list[Violation]:
    out = []
    grade_cap = float(policy.cap(grade))
    own_cap = (
        grade_cap
        if student.personal_cap_minutes is None
        else min(grade_cap, float(student.personal_cap_minutes))
    )
    if abs(evening.cap_minutes - own_cap) > EPS:
        out.append(
            Violation(
                "T11",
                f"今晚账本上的上限是 {_m(evening.cap_minutes)} 分钟，而按规定（年级上限和学生本人上限）应为 {_m(own_cap)} 分钟；上限只由规定决定，不因成绩或惩罚改变：请学校核对学生的上限设置，已超出新上限的作业请先撤回。",
                f"Tonight's ledger cap is {_m(evening.cap_minutes)} minutes where the rules (grade cap, the student's own cap) give {_m(own_cap)}; the cap follows the rules only, never performance or punishment: ask the school to check the student's cap, and withdraw plans above the new cap first.",
            )
        )
    numbers = [item.minutes for item in hw_set.items] + [
        hw_set.conservative_minutes,
        hw_set.basic_conservative_minutes,
    ]
    if (
        not all(math.isfinite(x) for x in numbers)
        or any(item.minutes <= 0 for item in hw_set.items)
        or min(numbers[-2:]) < 0
    ):
        out.append(
            Violation(
                "T10",
                "这套作业的用时估计不完整（有缺失、为零、为负或无穷大的分钟数），无法核定时间：请为每道题重新估算用时。",
                "The set's time estimates are incomplete (missing, zero, negative or infinite minutes), so the evening cannot be checked: re-estimate every item's minutes.",
            )
        )
        return out
    cap = min(own_cap, evening.cap_minutes)
    typical = sum(item.minutes for item in hw_set.items)
    basic_typical = sum(item.minutes for item in hw_set.items if item.tier == "basic")
    if hw_set.conservative_minutes + EPS < typical or hw_set.basic_conservative_minutes + EPS < basic_typical:
        out.append(
            Violation(
                "T10",
                f"这套作业的保守时间估计（{_m(hw_set.conservative_minutes)} 分钟）低于典型用时之和（{_m(typical)} 分钟），不能用来核定时间：请重新估算。",
                f"The set's conservative time bound ({_m(hw_set.conservative_minutes)} min) is below its typical total ({_m(typical)} min), so it cannot be used to check the evening: re-estimate it.",
            )
        )
    whole = max(hw_set.conservative_minutes, typical)
    basic = max(hw_set.basic_conservative_minutes, basic_typical)
    used = sum(evening.reserved.values())
    evening_left = cap - used
    subject_left = (
        evening.allowance_minutes - evening.reserved.get(hw_set.subject, 0.0)
        if evening.allowance_minutes is not None
        else evening_left
    )
    remaining = min(evening_left, subject_left)
    if whole <= remaining + EPS:
        return out
    over = whole - max(remaining, 0.0)
    subject = SUBJECTS.get(hw_set.subject, hw_set.subject)
    # When the subject's share is what binds, a message that asks for a cut names the share as well
    # as the evening's cap (a cut to the 30-minute maths share must not quote only the 60-minute cap).
    share_binds = evening.allowance_minutes is not None and subject_left < evening_left
    share_zh = (
        f"其中{subject}今晚的份额是 {_m(evening.allowance_minutes or 0)} 分钟，还剩 {_m(max(subject_left, 0))} 分钟；"
        if share_binds
        else ""
    )
    share_en = (
        f"{hw_set.subject}'s share tonight is {_m(evening.allowance_minutes or 0)} minutes, {_m(max(subject_left, 0))} left; "
        if share_binds
        else ""
    )
    if whole <= cap + EPS:
        if evening.allowance_minutes is not None and evening.allowance_minutes <= EPS:
            zh = f"班主任今晚没有给{subject}分配作业时间：请改到别的晚上，或请班主任调整今晚的分配。"
            en = f"The head teacher's split gives {hw_set.subject} no time tonight: choose another evening or ask the head teacher to change tonight's split."
        elif subject_left < evening_left:
            zh = f"{subject}今晚的份额是 {_m(evening.allowance_minutes or 0)} 分钟（整晚各科上限 {_m(cap)} 分钟），还剩 {_m(max(subject_left, 0))} 分钟，这套作业保守估计 {_m(whole)} 分钟：请删减 {_m(over)} 分钟，或请班主任调剂。"
            en = f"{hw_set.subject}'s share tonight is {_m(evening.allowance_minutes or 0)} minutes (the whole evening's cap {_m(cap)}), {_m(max(subject_left, 0))} left, and this set may take {_m(whole)}: cut {_m(over)} minutes or ask the head teacher to reallocate."
        else:
            zh = f"今晚已布置的其他作业占用了 {_m(used)} 分钟，只剩 {_m(max(evening_left, 0))} 分钟，这套作业保守估计 {_m(whole)} 分钟：请删减 {_m(over)} 分钟。"
            en = f"Homework already set tonight holds {_m(used)} minutes, leaving {_m(max(evening_left, 0))}; this set may take {_m(whole)}: cut {_m(over)} minutes."
        out.append(Violation("T5", zh, en))
    elif basic <= remaining + EPS:
        out.append(
            Violation(
                "C6",
                f"基础题可以完成，但加上拓展题（选做）后保守估计 {_m(whole)} 分钟，超过剩余的 {_m(remaining)} 分钟（{share_zh}整晚上限 {_m(cap)} 分钟）；选做题也要算在总量内：请删减 {_m(over)} 分钟的拓展题。",
                f"The basic tier fits, but with the optional extension the set may take {_m(whole)} minutes, over the {_m(remaining)} left ({share_en}the evening's cap {_m(cap)}); optional items count too: cut {_m(over)} minutes of extension items.",
            )
        )
    elif typical <= remaining + EPS:
        out.append(
            Violation(
                "T10",
                f"按平均用时这套作业是 {_m(typical)} 分钟，但这名学生保守估计要 {_m(whole)} 分钟，超过剩余的 {_m(remaining)} 分钟（{share_zh}整晚上限 {_m(cap)} 分钟）：请删减 {_m(over)} 分钟。",
                f"At typical pace the set takes {_m(typical)} minutes, but this student may need {_m(whole)}, over the {_m(remaining)} left ({share_en}the evening's cap {_m(cap)}): cut {_m(over)} minutes.",
            )
        )
    elif whole <= grade_cap + EPS:
        out.append(
            Violation(
                "T10",
                f"这名学生的个人上限是每晚 {_m(own_cap)} 分钟，{share_zh}这套作业保守估计 {_m(whole)} 分钟：请删减 {_m(over)} 分钟。",
                f"This student's own cap is {_m(own_cap)} minutes per evening; {share_en}the set may take {_m(whole)}: cut {_m(over)} minutes.",
            )
        )
    elif evening.day_type != "school_day":
        out.append(
            Violation(
                "T6",
                f"周末和节假日的作业不得多于上学日（{_m(grade_cap)} 分钟），{share_zh}这套作业保守估计 {_m(whole)} 分钟：请删减 {_m(over)} 分钟。",
                f"Weekends and holidays get no more homework than a school day ({_m(grade_cap)} min); {share_en}this set may take {_m(whole)}: cut {_m(over)} minutes.",
            )
        )
    else:
        out.append(
            Violation(
                _band_rule(grade),
                f"{grade}年级每晚各科作业合计不超过 {_m(grade_cap)} 分钟，{share_zh}这套作业保守估计 {_m(whole)} 分钟：请删减 {_m(over)} 分钟。",
                f"Grade {grade} homework across all subjects is capped at {_m(grade_cap)} minutes per evening; {share_en}this set may take {_m(whole)}: cut {_m(over)} minutes.",
            )
        )
    return out
