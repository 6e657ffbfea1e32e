"""Policy as data: the national defaults (national.toml), a region's file and a school's file,
merged into one `Policy`. A file may only tighten what it extends; a region may raise a key above
the national value only by naming it under `raises` (T3: "never above the regional cap unless the
region's policy file says so"). A school can never loosen. Every problem is reported at load with
the file, the key and the reason, and nothing is loaded.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from models.schema import SUBJECTS

NATIONAL = Path(__file__).with_name("national.toml")
KINDS = ("written", "oral", "reading", "practical", "physical")


class PolicyError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _band(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")
    a, b = int(lo), int(hi or lo)
    if not 1 <= a <= b <= 12:
        raise ValueError(f"grade band {text!r} is not within 1-12")
    return a, b


@dataclass
class Policy:
    """The effective rules for one school (every field already merged and checked)."""

    name: str
    caps: dict[int, int]  # grade -> minutes per evening (T1-T4)
    noon_assignment: bool  # T7
    weekend_above_school_day: bool  # T6
    max_subjects: dict[tuple[int, int], int]  # grade band -> subjects per evening (T1, T8)
    written_only_in: tuple[str, ...]  # T9; empty = all
    kinds: dict[tuple[int, int], tuple[str, ...]]  # T1
    max_per_dup_group: int  # C4
    max_per_kp: int  # C4
    repeat_days: int  # C4
    needs_parent_allowed: bool  # C5
    allocation_weights: dict[str, float] = field(default_factory=dict)  # default split of an evening
    bedtimes: dict[tuple[int, int], int] = field(default_factory=dict)  # grade band -> minutes after midnight
    sources: list[str] = field(default_factory=list)  # the files, national first

    def cap(self, grade: int) -> int:
        return self.caps[grade]

    def bedtime(self, grade: int) -> str | None:
        """The latest local time homework may run to (the earliest of the grade's bands), "HH:MM"."""
        times = [at for (a, b), at in self.bedtimes.items() if a <= grade <= b]
        return _clock(min(times)) if times else None

    def subjects_per_evening(self, grade: int) -> int | None:
        limits = [n for (a, b), n in self.max_subjects.items() if a <= grade <= b]
        return min(limits) if limits else None

    def allowed_kinds(self, grade: int) -> tuple[str, ...]:
        allowed = set(KINDS)
        for (a, b), kinds in self.kinds.items():
            if a <= grade <= b:
                allowed &= set(kinds)
        return tuple(k for k in KINDS if k in allowed)


# How each key may change from the file it extends: "lower" (a smaller number is tighter),
# "higher", "false" (may only be false), "subset" (fewer allowed is tighter).
_KEYS: dict[str, dict[str, str]] = {
    "caps": {str(g): "lower" for g in range(1, 13)},
    "days": {"noon_assignment": "false", "weekend_above_school_day": "false", "bedtime": "bands-earlier"},
    "subjects": {"max_per_evening": "bands-lower", "written_only_in": "written-subset"},
    "kinds": {},  # grade bands -> kinds, "subset"
    "items": {
        "max_per_dup_group": "lower",
        "max_per_kp": "lower",
        "repeat_days": "higher",
        "needs_parent_allowed": "false",
    },
    "allocation": {"weights": "weights"},  # not a rule: a school's default split (班主任协调)
}
_TOP = {"name", "school", "region", "extends", "raises"}


def load_policy(path: Path) -> Policy:
    """The effective policy of a school (or region) file, with everything it extends."""
    chain = _chain(path)
    problems: list[str] = []
    raw = _read(chain[0], problems)
    if chain[0] != NATIONAL:
        problems.append(f"{chain[0]}: the chain of `extends` must end at national")
    merged = _normalise(raw, chain[0], problems)
    for child in chain[1:]:
        data = _read(child, problems)
        is_region = "region" in data and "school" not in data
        raises = set(data.get("raises", []))
        if raises and not is_region:
            problems.append(
                f"{child}: key 'raises': only a region's file may raise a value; a school may only tighten"
            )
        if is_region and data.get("extends") != "national":
            problems.append(f"{child}: key 'extends': a region's file extends the national one directly")
        for key in sorted(raises):
            if not key.startswith("caps."):
                problems.append(
                    f"{child}: key 'raises': {key!r} cannot be raised; a region may raise only minutes caps (T3), never switch a rule off"
                )
        raises = {key for key in raises if key.startswith("caps.")}
        merged = _merge(merged, _normalise(data, child, problems), child, raises, problems)
    if problems:
        raise PolicyError(problems)
    return _policy(merged, [str(p) for p in chain])


def _chain(path: Path) -> list[Path]:
    chain = [path]
    seen = {path.resolve()}
    while True:
        try:
            parent = tomllib.loads(chain[0].read_text(encoding="utf-8")).get("extends")
        except (OSError, tomllib.TOMLDecodeError):
            break  # _read reports it
        if not parent:
            break
        candidate = NATIONAL if parent == "national" else chain[0].with_name(f"{parent}.toml")
        if candidate.resolve() in seen:
            raise PolicyError(
                [f"{chain[0]}: key 'extends': {parent!r} leads back to a file already in the chain"]
            )
        if not candidate.exists():
            raise PolicyError([f"{chain[0]}: key 'extends': no policy file {candidate}"])
        seen.add(candidate.resolve())
        chain.insert(0, candidate)
    return chain


def _read(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        problems.append(f"{path}: cannot be read: {exc}")
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path}: not valid TOML: {exc}")
    return {}


def _normalise(data: dict[str, Any], path: Path, problems: list[str]) -> dict[str, Any]:
    """Check names and types; values keyed by section and key."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in _TOP:
            continue
        if key not in _KEYS:
            problems.append(
                f"{path}: key {key!r}: unknown key (known: {', '.join(sorted(_TOP | set(_KEYS)))})"
            )
            continue
        if not isinstance(value, dict):
            problems.append(f"{path}: key {key!r}: should be a table [{key}]")
            continue
        for name, item in value.items():
            where = f"{path}: key '{key}.{name}'"
            rule = "subset" if key == "kinds" else _KEYS[key].get(name)
            if rule is None:
                problems.append(f"{where}: unknown key")
                continue
            checked = _check_value(rule, item, where, problems)
            if checked is not None:
                out[f"{key}.{name}"] = checked
    return out


def _check_value(rule: str, value: Any, where: str, problems: list[str]) -> Any:
    if rule in ("lower", "higher"):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{where}: should be a whole number, got {value!r}")
        elif value < 0:
            problems.append(f"{where}: cannot be negative, got {value}")
        else:
            return value
    elif rule == "false":
        if not isinstance(value, bool):
            problems.append(f"{where}: should be true or false, got {value!r}")
        else:
            return value
    elif rule == "bands-lower":
        if not isinstance(value, dict):
            problems.append(f'{where}: should be a table of grade bands, e.g. {{ "3-5" = 2 }}')
            return None
        out = {}
        for band, n in value.items():
            try:
                span = _band(band)
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
                continue
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                problems.append(f"{where}: {band!r} should be a whole number of subjects >= 1, got {n!r}")
                continue
            out[span] = n
        return out
    elif rule == "bands-earlier":
        if not isinstance(value, dict):
            problems.append(f'{where}: should be a table of grade bands, e.g. {{ "1-6" = "21:20" }}')
            return None
        times = {}
        for band, text in value.items():
            try:
                span = _band(band)
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
                continue
            hours, _, minutes = str(text).partition(":")
            if not (isinstance(text, str) and hours.isdigit() and minutes.isdigit() and int(hours) < 24
                    and int(minutes) < 60 and len(minutes) == 2):  # fmt: skip
                problems.append(f'{where}: {band!r} should be a time of day like "21:20", got {text!r}')
                continue
            times[span] = int(hours) * 60 + int(minutes)
        return times
    elif rule == "weights":
        if not isinstance(value, dict):
            problems.append(
                f"{where}: should be a table of subject weights, e.g. {{ math = 2, chinese = 2 }}"
            )
            return None
        unknown = [s for s in value if s not in SUBJECTS]
        bad = [s for s, w in value.items() if isinstance(w, bool) or not isinstance(w, int | float) or w < 0]
        if unknown:
            problems.append(
                f"{where}: unknown subject(s) {', '.join(unknown)} (known: {', '.join(SUBJECTS)})"
            )
        if bad:
            problems.append(f"{where}: weights should be numbers >= 0 ({', '.join(bad)})")
        if unknown or bad:
            return None
        return {s: float(w) for s, w in value.items()}
    elif rule in ("subset", "written-subset"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{where}: should be a list of names, got {value!r}")
            return None
        if rule == "subset":
            unknown = [v for v in value if v not in KINDS]
            if unknown:
                problems.append(
                    f"{where}: unknown item kind(s) {', '.join(unknown)} (known: {', '.join(KINDS)})"
                )
                return None
        return tuple(value)
    return None


def _merge(
    parent: dict[str, Any], child: dict[str, Any], path: Path, raises: set[str], problems: list[str]
) -> dict[str, Any]:
    merged = dict(parent)
    for key, value in child.items():
        section, _, name = key.partition(".")
        rule = "subset" if section == "kinds" else _KEYS[section][name]
        old = parent.get(key)
        where = f"{path}: key {key!r}"
        if old is None or key in raises or rule == "weights":
            merged[key] = value
            continue
        if rule == "lower" and value > old:
            problems.append(
                f"{where}: {value} is above the {old} of the policy it extends; a file may only tighten"
            )
        elif rule == "higher" and value < old:
            problems.append(
                f"{where}: {value} is below the {old} of the policy it extends; a file may only tighten"
            )
        elif rule == "false" and value and not old:
            problems.append(f"{where}: cannot be turned on; the policy it extends forbids it")
        elif rule == "bands-lower":
            combined = dict(old)
            for span, n in value.items():
                combined[span] = min(n, old.get(span, n))  # a band may be added; an existing one only lowered
                if span in old and n > old[span]:
                    problems.append(f"{where}: {span[0]}-{span[1]} = {n} is above the {old[span]} it extends")
            value = combined
        elif rule == "bands-earlier":
            combined = dict(old)
            for span, at in value.items():
                combined[span] = min(at, old.get(span, at))  # a bedtime may only come earlier
                if span in old and at > old[span]:
                    problems.append(
                        f"{where}: {span[0]}-{span[1]} is later than the {_clock(old[span])} it extends"
                    )
            value = combined
        elif rule == "written-subset" and old and not value:
            problems.append(
                f"{where}: an empty list lets every subject set written work; the policy it extends allows only {', '.join(old)}"
            )
        elif (rule == "written-subset" and old and not set(value) <= set(old)) or (
            rule == "subset" and not set(value) <= set(old)
        ):
            problems.append(
                f"{where}: adds {', '.join(sorted(set(value) - set(old)))}, which the policy it extends does not allow"
            )
        merged[key] = value
    return merged


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _policy(merged: dict[str, Any], sources: list[str]) -> Policy:
    kinds = {_band(k.partition(".")[2]): v for k, v in merged.items() if k.startswith("kinds.")}
    return Policy(
        name=sources[-1],
        caps={g: merged[f"caps.{g}"] for g in range(1, 13)},
        noon_assignment=merged["days.noon_assignment"],
        weekend_above_school_day=merged["days.weekend_above_school_day"],
        bedtimes=merged.get("days.bedtime", {}),
        max_subjects=merged.get("subjects.max_per_evening", {}),
        written_only_in=merged.get("subjects.written_only_in", ()),
        kinds=kinds,
        max_per_dup_group=merged["items.max_per_dup_group"],
        max_per_kp=merged["items.max_per_kp"],
        repeat_days=merged["items.repeat_days"],
        needs_parent_allowed=merged["items.needs_parent_allowed"],
        allocation_weights=merged.get("allocation.weights", {}),
        sources=sources,
    )


class PolicyOf(Protocol):
    """Where a school's rules come from: its policy's name (`schools.policy`) -> the effective
    Policy. The service's is a PolicyBook; a test may pass any function of a name."""

    def __call__(self, name: str, /) -> Policy: ...


class PolicyBook:
    """The policies of a deployment: `name` -> `<directory>/<name>.toml` ("national" is built in),
    each loaded once. A school's `policy` column names its file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._loaded: dict[str, Policy] = {}

    def __call__(self, name: str) -> Policy:
        if name not in self._loaded:
            path = NATIONAL if name == "national" else self.directory / f"{name}.toml"
            if not path.exists():
                raise PolicyError([f"{path}: no policy file named {name!r} in {self.directory}"])
            self._loaded[name] = load_policy(path)
        return self._loaded[name]
