"""`jianfu check SET.json`: a set and its context as one JSON file, read into the verifier's inputs.

Every problem with the file is named by its JSON path (`$.set.items[2].tier`) and nothing is
checked until the whole file reads cleanly. The format (data_samples/checks/ has examples):

    {"policy": "../policies/sch-east.toml",      # relative to this file, or "national"
     "night": "2026-10-13", "day_type": "school_day",
     "class": {"class_id": ..., "grade": 5, "kp_grades": {kp: grade}, "taught": {kp: "YYYY-MM-DD"}},
     "student": {"student_id": ..., "personal_cap_minutes": null, "exempt": false,
                 "recent": {item_id: "YYYY-MM-DD"}},
     "evening": {"cap_minutes": 60, "reserved": {subject: minutes}, "allowance_minutes": 30},
     "set": {"subject": "math", "slot": "evening", "conservative_minutes": 24.5,
             "basic_conservative_minutes": 15.0,
             "items": [{"item_id": ..., "tier": "basic", "kind": "written", "kp_ids": [...],
                        "minutes": 3.0, "needs_parent": false, "dup_group": ..., "review": false}]}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from models.schema import DAY_TYPES, ITEM_KINDS, SUBJECTS
from service.policy.policy import NATIONAL, Policy, PolicyError, load_policy
from service.policy.verifier import (
    SLOTS,
    TIERS,
    ClassContext,
    EveningState,
    HomeworkSet,
    SetItem,
    StudentContext,
)


class CheckFileError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class CheckRequest:
    hw_set: HomeworkSet
    student: StudentContext
    klass: ClassContext
    evening: EveningState
    policy: Policy


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[str] = []
        self.missing: set[str] = set()

    def bad(self, where: str, reason: str) -> None:
        if where not in self.missing:  # a missing key is said once
            self.problems.append(f"{self.path}: {where}: {reason}")

    def obj(self, data: Any, where: str, keys: set[str], required: set[str]) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.bad(where, "should be an object")
            return {}
        for key in sorted(set(data) - keys):
            self.bad(f"{where}.{key}", f"unknown key (known: {', '.join(sorted(keys))})")
        for key in sorted(required - set(data)):
            self.bad(f"{where}.{key}", "missing")
            self.missing.add(f"{where}.{key}")
        return data

    def text(self, data: dict[str, Any], key: str, where: str, choices: Any = None) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value:
            self.bad(f"{where}.{key}", f"should be a non-empty string, got {value!r}")
            return ""
        if choices is not None and value not in choices:
            self.bad(f"{where}.{key}", f"{value!r} is not one of {', '.join(choices)}")
        return value

    def number(self, value: Any, where: str, *, whole: bool = False, optional: bool = False) -> Any:
        if value is None and optional:
            return None
        ok = isinstance(value, int) if whole else isinstance(value, int | float)
        if isinstance(value, bool) or not ok or value < 0:
            kind = "a whole number" if whole else "a number"
            self.bad(where, f"should be {kind} >= 0, got {value!r}")
            return 0
        return value

    def flag(self, data: dict[str, Any], key: str, where: str) -> bool:
        value = data.get(key, False)
        if not isinstance(value, bool):
            self.bad(f"{where}.{key}", f"should be true or false, got {value!r}")
            return False
        return value

    def day(self, value: Any, where: str) -> date:
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            self.bad(where, f"should be a date YYYY-MM-DD, got {value!r}")
            return date.min

    def mapping(self, data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.bad(f"{where}.{key}", "should be an object")
            return {}
        return value


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a number JSON allows", name, 0)


def read_check(path: Path) -> CheckRequest:
    """The verifier's inputs from a check file, or CheckFileError naming every problem."""
    r = _Reader(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"), parse_constant=_no_constant)
    except OSError as exc:
        raise CheckFileError([f"{path}: cannot be read: {exc}"]) from None
    except json.JSONDecodeError as exc:
        raise CheckFileError(
            [f"{path}: line {exc.lineno} column {exc.colno}: not valid JSON: {exc.msg}"]
        ) from None
    top = r.obj(
        data,
        "$",
        {"policy", "night", "day_type", "class", "student", "evening", "set", "note"},
        {"policy", "night", "class", "student", "evening", "set"},
    )
    night = r.day(top.get("night"), "$.night")
    day_type = top.get("day_type", "school_day")
    if day_type not in DAY_TYPES:
        r.bad("$.day_type", f"{day_type!r} is not one of {', '.join(DAY_TYPES)}")

    c = r.obj(
        top.get("class", {}), "$.class", {"class_id", "grade", "kp_grades", "taught"}, {"class_id", "grade"}
    )
    grade = r.number(c.get("grade"), "$.class.grade", whole=True)
    if isinstance(grade, int) and not 1 <= grade <= 12:
        r.bad("$.class.grade", f"should be within 1-12, got {grade}")
    kp_grades = {
        k: r.number(v, f"$.class.kp_grades.{k}", whole=True)
        for k, v in r.mapping(c, "kp_grades", "$.class").items()
    }
    taught = {k: r.day(v, f"$.class.taught.{k}") for k, v in r.mapping(c, "taught", "$.class").items()}
    klass = ClassContext(r.text(c, "class_id", "$.class"), grade, kp_grades, taught)

    s = r.obj(
        top.get("student", {}),
        "$.student",
        {"student_id", "personal_cap_minutes", "exempt", "recent", "tonight"},
        {"student_id"},
    )
    tonight = []
    raw_tonight = s.get("tonight", [])
    if not isinstance(raw_tonight, list):
        r.bad("$.student.tonight", "should be a list")
        raw_tonight = []
    for k, raw in enumerate(raw_tonight):
        where = f"$.student.tonight[{k}]"
        e = r.obj(raw, where, {"item_id", "dup_group", "kp_ids"}, {"item_id", "kp_ids"})
        points = e.get("kp_ids", [])
        if not isinstance(points, list) or not all(isinstance(x, str) for x in points):
            r.bad(f"{where}.kp_ids", f"should be a list of knowledge point ids, got {points!r}")
            points = []
        group = e.get("dup_group")
        tonight.append(
            (r.text(e, "item_id", where), group if isinstance(group, str) else None, tuple(points))
        )
    student = StudentContext(
        r.text(s, "student_id", "$.student"),
        r.number(s.get("personal_cap_minutes"), "$.student.personal_cap_minutes", whole=True, optional=True),
        r.flag(s, "exempt", "$.student"),
        {k: r.day(v, f"$.student.recent.{k}") for k, v in r.mapping(s, "recent", "$.student").items()},
        tuple(tonight),
    )

    e = r.obj(
        top.get("evening", {}), "$.evening", {"cap_minutes", "reserved", "allowance_minutes"}, {"cap_minutes"}
    )
    reserved = {}
    for subject, minutes in r.mapping(e, "reserved", "$.evening").items():
        if subject not in SUBJECTS:
            r.bad(f"$.evening.reserved.{subject}", f"unknown subject (known: {', '.join(SUBJECTS)})")
        reserved[subject] = float(r.number(minutes, f"$.evening.reserved.{subject}"))
    allowance = r.number(e.get("allowance_minutes"), "$.evening.allowance_minutes", optional=True)
    evening = EveningState(
        night,
        day_type,
        float(r.number(e.get("cap_minutes"), "$.evening.cap_minutes")),
        reserved,
        None if allowance is None else float(allowance),
    )

    hw = r.obj(
        top.get("set", {}),
        "$.set",
        {"subject", "slot", "conservative_minutes", "basic_conservative_minutes", "items"},
        {"subject", "conservative_minutes", "basic_conservative_minutes", "items"},
    )
    items = []
    raw_items = hw.get("items", [])
    if not isinstance(raw_items, list):
        r.bad("$.set.items", "should be a list")
        raw_items = []
    for k, raw in enumerate(raw_items):
        where = f"$.set.items[{k}]"
        i = r.obj(
            raw,
            where,
            {"item_id", "tier", "kind", "kp_ids", "minutes", "needs_parent", "dup_group", "review", "stem"},
            {"item_id", "tier", "kind", "kp_ids", "minutes"},
        )
        kps = i.get("kp_ids", [])
        if not isinstance(kps, list) or not kps or not all(isinstance(x, str) and x for x in kps):
            r.bad(f"{where}.kp_ids", f"should be a non-empty list of knowledge point ids, got {kps!r}")
            kps = []
        minutes = r.number(i.get("minutes"), f"{where}.minutes")
        if minutes == 0 and i.get("minutes") == 0:
            r.bad(f"{where}.minutes", "should be above 0")
        group = i.get("dup_group")
        if group is not None and not isinstance(group, str):
            r.bad(f"{where}.dup_group", f"should be a string or null, got {group!r}")
            group = None
        items.append(
            SetItem(
                r.text(i, "item_id", where),
                r.text(i, "tier", where, TIERS),
                r.text(i, "kind", where, tuple(ITEM_KINDS)),
                tuple(kps),
                float(minutes),
                r.flag(i, "needs_parent", where),
                group,
                r.flag(i, "review", where),
            )
        )
    hw_set = HomeworkSet(
        r.text(hw, "subject", "$.set", tuple(SUBJECTS)),
        tuple(items),
        float(r.number(hw.get("conservative_minutes"), "$.set.conservative_minutes")),
        float(r.number(hw.get("basic_conservative_minutes"), "$.set.basic_conservative_minutes")),
        r.text(hw, "slot", "$.set", SLOTS) if "slot" in hw else "evening",
    )

    policy = None
    name = top.get("policy")
    if not isinstance(name, str) or not name:
        r.bad("$.policy", f"should be a policy file path or 'national', got {name!r}")
    else:
        policy_path = NATIONAL if name == "national" else (path.parent / name)
        try:
            policy = load_policy(policy_path)
        except PolicyError as exc:
            r.problems.extend(f"{path}: $.policy: {p}" for p in exc.problems)
    if r.problems or policy is None:
        raise CheckFileError(r.problems)
    return CheckRequest(hw_set, student, klass, evening, policy)
