"""Sample check files for `jianfu check` (data_samples/checks/): one valid set and, for every HARD
rule a set can break, a set that breaks exactly that rule, built from the synthetic school's own
classes, item bank and teaching progress.

The minutes in these files stand for one student's typical minutes per item and the conservative
bound of the whole set (what the duration model gives the service); here they are set by hand so
that each file says one thing. R5 (no ranking) is not a property of a homework set, so it has no
file; its tests are in the service.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

NIGHT = date(2026, 10, 13)  # a Tuesday, a school day
SATURDAY = date(2026, 10, 17)


@dataclass(frozen=True)
class _Bank:
    kp_grade: dict[str, int]
    kp_subject: dict[str, str]
    items: list[Any]  # ItemRow
    progress: dict[str, list[tuple[Any, date]]]
    students: list[tuple[str, Any, str, int | None]]


def _taught(bank: _Bank, class_id: str, subject: str) -> dict[str, str]:
    return {
        kp.kp_id: on.isoformat() for kp, on in sorted(bank.progress[class_id], key=lambda r: (r[1], r[0].kp_id))
        if kp.d.subject == subject
    }  # fmt: skip


def _items(
    bank: _Bank, class_id: str, subject: str, kinds: tuple[str, ...], n: int, *, night: date = NIGHT,
    needs_parent: bool = False, grade: int | None = None, taught: bool = True,
) -> list[Any]:  # fmt: skip
    """n items of the subject on distinct knowledge points (latest taught first) and distinct groups."""
    dates = {kp.kp_id: on for kp, on in bank.progress[class_id] if kp.d.subject == subject}
    if grade is not None:
        pool = [i for i in bank.items if i.kp.d.subject == subject and i.kp.d.grade == grade]
    elif taught:
        pool = [i for i in bank.items if i.kp.kp_id in dates and dates[i.kp.kp_id] <= night]
    else:
        pool = [i for i in bank.items if i.kp.kp_id in dates and dates[i.kp.kp_id] > night]
    pool = [i for i in pool if i.kind in kinds and i.needs_parent == needs_parent]
    pool.sort(key=lambda i: (-dates.get(i.kp.kp_id, date.min).toordinal(), i.item_id))
    out: list[Any] = []
    seen_kps: set[str] = set()
    for item in pool:
        if item.kp.kp_id not in seen_kps:
            out.append(item)
            seen_kps.add(item.kp.kp_id)
        if len(out) == n:
            return out
    raise ValueError(f"the bank has no {n} {kinds} items of {subject} for {class_id}")


def _entry(item: Any, tier: str, minutes: float) -> dict[str, Any]:
    return {
        "item_id": item.item_id,
        "tier": tier,
        "kind": item.kind,
        "kp_ids": [item.kp.kp_id],
        "minutes": minutes,
        "needs_parent": item.needs_parent,
        "dup_group": item.dup_group,
        "review": False,
        "stem": item.stem,
    }


def _case(
    bank: _Bank, class_id: str, grade: int, policy: str, subject: str, entries: list[dict[str, Any]], *,
    night: date = NIGHT, cap: float, reserved: dict[str, float] | None = None, allowance: float | None = None,
    exempt: bool = False, factor: float = 1.5, whole: float | None = None, note: str,
) -> dict[str, Any]:  # fmt: skip
    student = next(s for s in bank.students if s[1].class_id == class_id and s[3] is None)
    typical = sum(e["minutes"] for e in entries)
    basic = sum(e["minutes"] for e in entries if e["tier"] == "basic")
    kp_grades = {kp: g for kp, g in sorted(bank.kp_grade.items()) if bank.kp_subject[kp] == subject}
    return {
        "note": note,
        "policy": f"../policies/{policy}.toml" if policy != "national" else "national",
        "night": night.isoformat(),
        "day_type": "weekend" if night.weekday() >= 5 else "school_day",
        "class": {
            "class_id": class_id,
            "grade": grade,
            "kp_grades": kp_grades,
            "taught": _taught(bank, class_id, subject),
        },
        "student": {"student_id": student[0], "personal_cap_minutes": None, "exempt": exempt, "recent": {}},
        "evening": {"cap_minutes": cap, "reserved": reserved or {}, "allowance_minutes": allowance},
        "set": {
            "subject": subject,
            "slot": "evening",
            "conservative_minutes": round(whole if whole is not None else typical * factor, 1),
            "basic_conservative_minutes": round(basic * factor, 1),
            "items": entries,
        },
    }


def build_checks(world: Any) -> dict[str, dict[str, Any]]:
    """File name -> content, for data_samples/checks/."""
    bank = _Bank(
        {k.kp_id: k.d.grade for k in world.kps},
        {k.kp_id: k.d.subject for k in world.kps},
        world.items,
        world.progress,
        world.students,
    )
    g5 = "east-5-1"
    math5 = _items(bank, g5, "math", ("written", "practical"), 6)
    basic = [_entry(math5[0], "basic", 3.0), _entry(math5[1], "basic", 3.5), _entry(math5[2], "basic", 4.0)]
    extension = [_entry(math5[3], "extension", 4.0)]
    # Tonight in 五年级1班: 语文 already holds 20 of the 60 minutes; 数学 has a share of 30.
    evening: dict[str, Any] = {"cap": 60.0, "reserved": {"chinese": 20.0}, "allowance": 30.0}

    def grade5(note: str, entries: list[dict[str, Any]] | None = None, **kw: Any) -> dict[str, Any]:
        args = evening | kw
        return _case(bank, g5, 5, "sch-east", "math", entries or basic + extension, note=note, **args)

    heavy = [_entry(i, "basic", 11.0) for i in math5]  # six items, 66 typical minutes for this student
    checks: dict[str, dict[str, Any]] = {
        "valid.json": grade5(
            "A valid tiered maths set: 14.5 typical minutes, 21.8 by the conservative bound."
        ),
    }
    oral2 = _items(bank, "east-2-1", "math", ("oral", "practical"), 2)
    written2 = _items(bank, "east-2-1", "math", ("written",), 1)
    checks["violates-T1.json"] = _case(
        bank, "east-2-1", 2, "sch-east", "math",
        [_entry(oral2[0], "basic", 3.0), _entry(oral2[1], "basic", 3.0), _entry(written2[0], "basic", 3.0)],
        cap=20.0, note="Grade 2 gets a written item (T1: no written homework in grades 1-2).",
    )  # fmt: skip
    checks["violates-T2.json"] = grade5(
        "A grade-5 set of 99 conservative minutes on an empty 60-minute evening.",
        heavy, reserved={}, allowance=None,
    )  # fmt: skip
    math8 = _items(bank, "east-8-1", "math", ("written",), 6)
    checks["violates-T3.json"] = _case(
        bank, "east-8-1", 8, "sch-east", "math", [_entry(i, "basic", 17.0) for i in math8],
        cap=90.0, factor=1.2, note="A grade-8 set of 122 conservative minutes on a 90-minute evening.",
    )  # fmt: skip
    senior = _case(
        bank, "east-8-1", 8, "national", "math", [_entry(i, "basic", 22.0) for i in math8],
        cap=120.0, factor=1.2, note="A grade-11 class (hypothetical: the synthetic school is a nine-year school) gets 158 minutes; the cap is 120.",
    )  # fmt: skip
    senior["class"]["class_id"] = "senior-11-1"
    senior["class"]["grade"] = 11
    checks["violates-T4.json"] = senior
    checks["violates-T5.json"] = grade5(
        "语文 already holds 45 of tonight's 60 minutes; this maths set needs 21.8.",
        reserved={"chinese": 45.0}, allowance=None,
    )  # fmt: skip
    checks["violates-T6.json"] = grade5(
        "A Saturday set of 99 conservative minutes: more than a school day's 60.",
        heavy, night=SATURDAY, reserved={}, allowance=None,
    )  # fmt: skip
    noon = grade5("The valid set, set for the noon break.")
    noon["set"]["slot"] = "noon"
    checks["violates-T7.json"] = noon
    checks["violates-T8.json"] = grade5(
        "语文 and 英语 already set homework tonight; at this school grades 3-5 get two subjects per evening.",
        reserved={"chinese": 10.0, "english": 10.0},
    )  # fmt: skip
    science = _items(bank, "east-8-1", "science", ("practical", "reading"), 2)
    science_written = _items(bank, "east-8-1", "science", ("written",), 1)
    checks["violates-T9.json"] = _case(
        bank, "east-8-1", 8, "sch-east", "science",
        [_entry(science[0], "basic", 5.0), _entry(science[1], "extension", 5.0), _entry(science_written[0], "basic", 4.0)],
        cap=90.0, note="A written science item at a school where only 语文, 数学 and 英语 set take-home written work.",
    )  # fmt: skip
    checks["violates-T10.json"] = grade5(
        "At typical pace 50 minutes, but this student's conservative bound is 70, over the 60 left.",
        [_entry(i, "basic", 10.0) for i in math5[:5]], reserved={}, allowance=None, whole=70.0, factor=1.4,
    )  # fmt: skip
    checks["violates-T11.json"] = grade5(
        "The ledger's cap for this student was raised to 75 minutes (the rules give 60).", cap=75.0
    )
    checks["violates-T12.json"] = grade5(
        "A parent signed tonight's exemption; the set still has written items.", exempt=True
    )
    later = _items(bank, g5, "math", ("written",), 1, grade=8)
    checks["violates-C1.json"] = grade5(
        "An extension item on a grade-8 knowledge point, for grade 5.",
        [*basic, _entry(later[0], "extension", 4.0)],
    )
    ahead = _items(bank, g5, "math", ("written",), 1, taught=False)
    checks["violates-C2.json"] = grade5(
        "An extension item on a knowledge point this class is only taught later.",
        [*basic, _entry(ahead[0], "extension", 4.0)],
    )  # fmt: skip
    checks["violates-C4.json"] = grade5(
        "The same item twice in one set.", [*basic, _entry(math5[0], "extension", 3.0)]
    )
    pe = _items(bank, g5, "pe", ("physical",), 1)
    pe_parent = _items(bank, g5, "pe", ("physical",), 1, needs_parent=True)
    checks["violates-C5.json"] = _case(
        bank, g5, 5, "sch-east", "pe", [_entry(pe[0], "basic", 10.0), _entry(pe_parent[0], "extension", 8.0)],
        cap=60.0, reserved={"chinese": 20.0}, allowance=30.0, factor=1.3,
        note="An exercise that needs a parent to take part and sign (C5).",
    )  # fmt: skip
    checks["violates-C6.json"] = grade5(
        "The basic tier fits, but three long optional extension items take the set to 72 minutes on a 60-minute evening.",
        basic + [_entry(i, "extension", 12.0) for i in math5[3:6]], reserved={}, allowance=None, whole=72.0,
    )  # fmt: skip
    return checks


def write_checks(out: Path, world: Any) -> None:
    folder = out / "checks"
    folder.mkdir(exist_ok=True)
    for name, content in build_checks(world).items():
        (folder / name).write_text(json.dumps(content, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
