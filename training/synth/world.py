"""The synthetic school: `jianfu data sample --out DIR --seed N`.

Builds, deterministically (same seed → byte-identical files), two nine-year schools with different
policy options, classes in grades 2, 5 and 8, a curriculum, an item bank, teaching progress, a
school calendar, and 8 weeks of homework logs and error-book entries produced by hidden
ground-truth students (training.synth.truth). The contract files go in DIR; the ground truth in
DIR/ground_truth/, which training never reads.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from models.schema import SUBJECTS
from training.synth.checks import write_checks
from training.synth.curriculum import CURRICULUM, KPDef
from training.synth.items import GENERATORS
from training.synth.truth import GroundTruth, KPState, TrueItem, TrueStudent

CST = timezone(timedelta(hours=8))
TERM_START = date(2026, 9, 1)
TERM_END = date(2027, 1, 22)
LOG_START = date(2026, 9, 7)  # a Monday
LAST_YEAR = date(2026, 6, 15)
HOLIDAYS = {date(2026, 10, d): "国庆节" for d in range(1, 8)} | {date(2027, 1, 1): "元旦"}
MAKEUP_DAYS = {date(2026, 9, 27): "国庆调休上课", date(2026, 10, 10): "国庆调休上课"}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "子涵浩然一诺欣怡宇轩梓萱思远雨桐俊熙语嫣博文若曦明轩诗涵天佑可馨嘉懿晨阳佳琪铭泽梦瑶睿哲清妍沐辰安琪"
# Minutes per evening by grade band (national rules T1-T4); a school may tighten them.
NATIONAL_CAP = {1: 0, 2: 0, 3: 60, 4: 60, 5: 60, 6: 60, 7: 90, 8: 90, 9: 90}


@dataclass(frozen=True)
class ClassDef:
    class_id: str
    grade: int
    name: str
    size: int
    pace: float  # school days per new knowledge point, before subject adjustment


@dataclass(frozen=True)
class SchoolDef:
    school_id: str
    name: str
    region: str
    classes: tuple[ClassDef, ...]
    # Policy options (POLICY.md): T3 caps by grade, T8 subjects per evening, T9 written subjects.
    caps: dict[int, int] = field(default_factory=dict)
    max_subjects_g3_5: int | None = None
    written_subjects: tuple[str, ...] | None = None


SCHOOLS = (
    SchoolDef(
        "sch-east",
        "城东九年一贯制学校",
        "浙江省杭州市",
        (
            ClassDef("east-2-1", 2, "二年级1班", 40, 2.6),
            ClassDef("east-5-1", 5, "五年级1班", 45, 2.4),
            ClassDef("east-8-1", 8, "八年级1班", 48, 2.2),
        ),
        max_subjects_g3_5=2,
        written_subjects=("chinese", "math", "english"),
    ),
    SchoolDef(
        "sch-west",
        "城西实验学校",
        "浙江省杭州市",
        (
            ClassDef("west-2-1", 2, "二年级1班", 38, 2.9),
            ClassDef("west-5-1", 5, "五年级1班", 42, 2.7),
            ClassDef("west-8-1", 8, "八年级1班", 46, 2.5),
        ),
        caps={7: 80, 8: 80, 9: 120},
    ),
)
CLASS_SUBJECTS = {
    2: ("chinese", "math", "english", "pe"),
    5: ("chinese", "math", "english", "pe"),
    8: ("chinese", "math", "english", "science"),
}
NON_WRITTEN = {"oral", "reading", "practical", "physical"}


@dataclass
class KP:
    kp_id: str
    d: KPDef
    order: int
    prerequisites: tuple[str, ...]


@dataclass
class ItemRow:
    item_id: str
    kp: KP
    kind: str
    stem: str
    answer: str | None
    needs_parent: bool
    dup_group: str
    est_minutes: float | None


@dataclass
class World:
    kps: list[KP]
    items: list[ItemRow]
    truth: GroundTruth
    students: list[tuple[str, ClassDef, str, int | None]]  # id, class, display name, personal cap
    progress: dict[str, list[tuple[KP, date]]]  # class_id -> taught knowledge points
    attempts: list[tuple[Any, ...]] = field(default_factory=list)
    error_book: list[list[Any]] = field(default_factory=list)


def _streams(seed: int, n: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


def day_type(day: date) -> str:
    if day in HOLIDAYS:
        return "holiday"
    if day in MAKEUP_DAYS:
        return "school_day"
    return "weekend" if day.weekday() >= 5 else "school_day"


def _days(start: date, end: date) -> Iterable[date]:
    for n in range((end - start).days + 1):
        yield start + timedelta(days=n)


def build_curriculum(rng: np.random.Generator) -> list[KP]:
    kps: list[KP] = []
    by_group: dict[tuple[str, int], list[KP]] = defaultdict(list)
    for d in CURRICULUM:
        group = by_group[(d.subject, d.grade)]
        kp_id = f"{d.subject}-g{d.grade}-{len(group) + 1:02d}"
        prereqs: list[str] = []
        if group:
            prereqs.append(group[-1].kp_id)
            if len(group) > 2 and rng.random() < 0.3:
                prereqs.append(group[int(rng.integers(0, len(group) - 1))].kp_id)
        else:
            earlier = [k for (s, g), ks in by_group.items() if s == d.subject and g < d.grade for k in ks]
            prereqs += [k.kp_id for k in earlier[-2:]]
        kp = KP(kp_id, d, len(group) + 1, tuple(dict.fromkeys(prereqs)))
        group.append(kp)
        kps.append(kp)
    return kps


def build_items(kps: list[KP], rng: np.random.Generator, truth: GroundTruth, per_kp: int) -> list[ItemRow]:
    items: list[ItemRow] = []
    for kp in kps:
        current = kp.d.grade in CLASS_SUBJECTS
        target = per_kp if current else max(6, per_kp // 3)
        variants = GENERATORS[kp.d.gen]
        stems: set[str] = set()
        made = 0
        for attempt in range(target * 6):
            if made >= target:
                break
            v = attempt % len(variants)
            draft = variants[v](rng, kp.d)
            if draft.stem in stems:
                continue
            stems.add(draft.stem)
            made += 1
            item_id = f"{kp.kp_id}-{made:03d}"
            est = None
            if rng.random() < 0.7:
                est = max(0.5, round(draft.base_minutes * math.exp(rng.normal(0, 0.25)) * 2) / 2)
            items.append(
                ItemRow(
                    item_id,
                    kp,
                    draft.kind,
                    draft.stem,
                    draft.answer,
                    draft.needs_parent,
                    f"{kp.kp_id}-v{v + 1}",
                    est,
                )
            )
            kind_shift = -0.4 if draft.kind in NON_WRITTEN else 0.0
            truth.items[item_id] = TrueItem(
                item_id,
                (kp.kp_id,),
                kp.d.difficulty + kind_shift + 0.25 * v + float(rng.normal(0, 0.3)),
                draft.base_minutes * math.exp(float(rng.normal(0, 0.15))),
                0.25 if draft.kind in NON_WRITTEN else 0.05,
            )
    return items


def build_students(
    rng: np.random.Generator, kps: list[KP], truth: GroundTruth, schools: tuple[SchoolDef, ...] = SCHOOLS
) -> list[tuple[str, ClassDef, str, int | None]]:
    out = []
    used: set[str] = set()
    for school in schools:
        for cls in school.classes:
            for _ in range(cls.size):
                while True:
                    sid = "stu-" + "".join(f"{int(b):02x}" for b in rng.integers(0, 256, size=4))
                    if sid not in used:
                        used.add(sid)
                        break
                name = SURNAMES[int(rng.integers(0, len(SURNAMES)))] + "".join(
                    GIVEN[int(i)] for i in rng.integers(0, len(GIVEN), size=int(rng.integers(1, 3)))
                )
                cap: int | None = None
                if cls.grade >= 3 and rng.random() < 0.1:
                    cap = 45 if cls.grade <= 6 else 70
                out.append((sid, cls, name, cap))
                ability = float(rng.normal(0, 0.8))
                truth.students[sid] = TrueStudent(
                    sid,
                    ability,
                    float(np.exp(rng.normal(0, 0.3))),
                    float(np.exp(rng.normal(math.log(6), 0.35))),
                    float(np.exp(rng.normal(0, 0.3))),
                    float(rng.beta(2, 30)),
                )
                for kp in kps:
                    if kp.d.subject in CLASS_SUBJECTS[cls.grade] and kp.d.grade <= cls.grade:
                        truth.state[(sid, kp.kp_id)] = KPState(ability + float(rng.normal(0, 0.5)))
    return out


def build_progress(
    rng: np.random.Generator, kps: list[KP], schools: tuple[SchoolDef, ...] = SCHOOLS
) -> dict[str, list[tuple[KP, date]]]:
    """Which knowledge points each class has been taught, and when (up to the end of the logs)."""
    school_days = [d for d in _days(TERM_START, TERM_END) if day_type(d) == "school_day"]
    progress: dict[str, list[tuple[KP, date]]] = {}
    for school in schools:
        for cls in school.classes:
            rows: list[tuple[KP, date]] = []
            for subject in CLASS_SUBJECTS[cls.grade]:
                subject_kps = [k for k in kps if k.d.subject == subject and k.d.grade <= cls.grade]
                rows += [(k, LAST_YEAR) for k in subject_kps if k.d.grade < cls.grade]
                pace = (
                    cls.pace
                    * (1.6 if subject in {"pe", "science"} else 1.0)
                    * float(np.exp(rng.normal(0, 0.1)))
                )
                current = [k for k in subject_kps if k.d.grade == cls.grade]
                for n, kp in enumerate(current):
                    idx = round(n * pace) + 1
                    if idx < len(school_days):
                        rows.append((kp, school_days[idx]))
            progress[cls.class_id] = rows
    return progress


def school_cap(school: SchoolDef, grade: int) -> int:
    return min(NATIONAL_CAP[grade], school.caps.get(grade, NATIONAL_CAP[grade]))


def homework_nights(end: date, start: date = LOG_START) -> list[date]:
    """School days, Sundays before a school day (one weekend evening) and two light holiday evenings."""
    nights = []
    for day in _days(start, end):
        kind = day_type(day)
        if (
            (kind == "school_day" and day_type(day + timedelta(days=1)) != "holiday")
            or (
                kind == "weekend" and day.weekday() == 6 and day_type(day + timedelta(days=1)) == "school_day"
            )
            or (kind == "holiday" and day in {date(2026, 10, 3), date(2026, 10, 6)})
        ):
            nights.append(day)
    return nights


def subjects_tonight(school: SchoolDef, cls: ClassDef, night: date) -> list[str]:
    n = night.toordinal()
    if cls.grade <= 2:  # T1: one subject, no written work
        return [CLASS_SUBJECTS[2][n % 4]]
    if cls.grade <= 5 and school.max_subjects_g3_5 == 2:  # T8: 语文/数学 one, 英语/体育 one
        return [("chinese", "math")[n % 2], ("english", "pe")[(n // 2) % 2]]
    if cls.grade <= 6:
        return ["chinese", "math", "english"] + (["pe"] if n % 3 == 0 else [])
    return ["chinese", "math", "english", "science"]


def simulate(
    world: World, rng: np.random.Generator, weeks: int, schools: tuple[SchoolDef, ...] = SCHOOLS
) -> None:
    """Eight weeks (by default) of evenings: teachers set the same set for the class, plus
    error-book reviews; the hidden students do them; results go to the log and the error book."""
    end = LOG_START + timedelta(weeks=weeks) - timedelta(days=1)
    truth = world.truth
    items_by_kp: dict[str, list[ItemRow]] = defaultdict(list)
    item_index = {item.item_id: item for item in world.items}
    for item in world.items:
        if not item.needs_parent:
            items_by_kp[item.kp.kp_id].append(item)
    students_by_class: dict[str, list[str]] = defaultdict(list)
    for sid, cls, _, _ in world.students:
        students_by_class[cls.class_id].append(sid)
    open_errors: dict[str, dict[str, list[Any]]] = defaultdict(dict)  # student -> item -> entry row
    event_no = entry_no = 0
    nights = homework_nights(end)
    for school in schools:
        for cls in school.classes:
            taught = sorted(world.progress[cls.class_id], key=lambda p: (p[1], p[0].kp_id))
            used: set[str] = set()
            for night in nights:
                for sid in students_by_class[cls.class_id]:
                    for kp, on in taught:
                        if on == night or (on == LAST_YEAR and night == LOG_START):
                            truth.teach(sid, kp.kp_id)
                subjects = subjects_tonight(school, cls, night)
                share = (school_cap(school, cls.grade) or 20) / len(subjects) * 0.75
                for subject in subjects:
                    known = [kp for kp, on in taught if on <= night and kp.d.subject == subject]
                    if not known:
                        continue
                    latest = [kp for kp in known if kp.d.grade == cls.grade][-2:] or known[-2:]
                    pool = [i for kp in latest for i in items_by_kp[kp.kp_id]]
                    pool += [i for kp in known[:-2] for i in items_by_kp[kp.kp_id]][-60:]
                    if cls.grade <= 2:
                        pool = [i for i in pool if i.kind in NON_WRITTEN]
                    elif school.written_subjects and subject not in school.written_subjects:
                        pool = [i for i in pool if i.kind != "written"]
                    fresh = [i for i in pool if i.item_id not in used]
                    chosen: list[ItemRow] = []
                    minutes = 0.0
                    for idx in rng.permutation(len(fresh)):
                        item = fresh[int(idx)]
                        est = item.est_minutes or truth.items[item.item_id].base_minutes
                        if minutes + est <= share and item.kp.kp_id not in {c.kp.kp_id for c in chosen[1:]}:
                            chosen.append(item)
                            minutes += est
                        if len(chosen) >= 4:
                            break
                    used.update(i.item_id for i in chosen)
                    for sid in students_by_class[cls.class_id]:
                        if rng.random() < 0.03:
                            continue  # ill, or the set was not handed in
                        todo = list(chosen)
                        reviews = [
                            e for e in open_errors[sid].values()
                            if e[5] == subject and (night - e[3].date()).days >= 2
                        ]  # fmt: skip
                        if reviews and rng.random() < 0.5 and todo:
                            todo[-1] = item_index[reviews[0][2]]
                        clock = datetime.combine(night, time(18, 30), CST) + timedelta(
                            seconds=int(rng.integers(0, 5400))
                        )
                        paper = rng.random() < 0.3
                        for item in todo:
                            correct, seconds, slip = truth.answer(rng, sid, item.item_id, clock)
                            clock += timedelta(seconds=round(seconds) + int(rng.integers(5, 120)))
                            event_no += 1
                            event_id = f"ev{event_no:07d}"
                            shown_seconds = "" if paper and rng.random() < 0.3 else str(round(seconds))
                            world.attempts.append(
                                (event_id, sid, item.item_id, night.isoformat(), clock.isoformat(),
                                 "1" if correct else "0", shown_seconds, "", "paper" if paper else "app")
                            )  # fmt: skip
                            entry = open_errors[sid].get(item.item_id)
                            if entry is not None and correct:
                                entry[4] = clock
                                del open_errors[sid][item.item_id]
                            elif not correct and cls.grade >= 3 and entry is None:  # R1: from grade 3
                                entry_no += 1
                                kind = "careless" if slip else _error_type(rng, subject)
                                entry = [
                                    f"eb{entry_no:06d}",
                                    sid,
                                    item.item_id,
                                    clock,
                                    None,
                                    subject,
                                    kind,
                                    event_id,
                                ]
                                open_errors[sid][item.item_id] = entry
                                world.error_book.append(entry)


def _error_type(rng: np.random.Generator, subject: str) -> str:
    options = {
        "math": ("concept", "calculation", "reading"),
        "science": ("concept", "calculation", "reading"),
        "chinese": ("memory", "concept", "reading"),
        "english": ("memory", "concept", "reading"),
    }.get(subject, ("other",))
    return options[int(rng.integers(0, len(options)))]


# ---- writing ---------------------------------------------------------------------------------


def _write_csv(path: Path, header: list[str], rows: Iterable[Iterable[Any]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])


def _policy_toml(school: SchoolDef) -> str:
    lines = [
        f"# Policy options of {school.name} ({school.school_id}); rule IDs from POLICY.md.",
        f'school = "{school.school_id}"',
        'extends = "zhejiang"',
        "",
        "[caps]  # T2-T4: minutes per evening by grade; never above the regional cap",
    ]
    lines += [f'"{g}" = {c}' for g, c in sorted(school.caps.items())] or ["# national caps apply"]
    lines += ["", "[subjects]"]
    if school.max_subjects_g3_5:
        lines.append(f'max_per_evening = {{ "3-5" = {school.max_subjects_g3_5} }}  # T8')
    if school.written_subjects:
        lines.append(f"written_only_in = {json.dumps(list(school.written_subjects))}  # T9")
    return "\n".join(lines) + "\n"


REGION_POLICY = """# Regional policy of 浙江省 (the synthetic schools' region); rule IDs from POLICY.md.
region = "浙江省"
extends = "national"
# T3: a region may let grade 9 go above the national 90 minutes (one plan: grades 7-8 <= 90,
# grade 9 <= 120). Only a region may raise a value, and only the keys it lists here.
raises = ["caps.9"]

[caps]
"9" = 120
"""


def build_world(
    seed: int, *, weeks: int = 8, items_per_kp: int = 34, schools: tuple[SchoolDef, ...] = SCHOOLS
) -> World:
    """The whole synthetic world in memory, its hidden students as they are at the end of the logs
    (deterministic: the same seed gives the same world as `generate` writes)."""
    rng_kp, rng_items, rng_students, rng_progress, rng_sim = _streams(seed, 5)
    truth = GroundTruth()
    kps = build_curriculum(rng_kp)
    items = build_items(kps, rng_items, truth, items_per_kp)
    students = build_students(rng_students, kps, truth, schools)
    progress = build_progress(rng_progress, kps, schools)
    world = World(kps, items, truth, students, progress)
    simulate(world, rng_sim, weeks, schools)
    return world


GRADE_ZH = {2: "二", 5: "五", 8: "八"}
SMALL_CLASS = 6  # a class this small in every third school of a district (the district's figures merge it)


def district_schools(count: int, seed: int, students: int | None = None) -> tuple[SchoolDef, ...]:
    """A district of `count` schools (deterministic in `seed`): the two sample schools first (the
    rule checks are built on sch-east), then schools whose policies vary as theirs do (two subjects
    per evening and written work only in the core subjects; lower caps; the national defaults),
    each with a class of grades 2, 5 and 8, and in every third school a small class of
    SMALL_CLASS students. With `students`, the classes are sized to about that many in all."""
    if count < 2:
        raise ValueError("a district sample has at least 2 schools (the two sample schools come first)")
    rng = np.random.default_rng([seed, 19])
    extra = count - len(SCHOOLS)
    small = sum(1 for k in range(extra) if k % 3 == 2)
    if students is not None:
        fixed = sum(c.size for s in SCHOOLS for c in s.classes) + small * SMALL_CLASS
        per_class = max(10, round((students - fixed) / max(1, extra * 3)))
    out = list(SCHOOLS)
    for k in range(extra):
        number = k + len(SCHOOLS) + 1
        school_id = f"sch-{number:03d}"
        classes = []
        for grade in (2, 5, 8):
            size = per_class if students is not None else int(rng.integers(36, 49))
            classes.append(ClassDef(f"s{number:03d}-{grade}-1", grade, f"{GRADE_ZH[grade]}年级1班", size,
                                    round(float(rng.uniform(2.2, 2.9)), 2)))  # fmt: skip
        if k % 3 == 2:
            classes.append(ClassDef(f"s{number:03d}-5-2", 5, "五年级2班", SMALL_CLASS, 2.5))
        variant = k % 3
        out.append(SchoolDef(
            school_id, f"示范区第{number}学校", "浙江省杭州市", tuple(classes),
            caps={7: 80, 8: 80, 9: 120} if variant == 1 else {},
            max_subjects_g3_5=2 if variant == 0 else None,
            written_subjects=("chinese", "math", "english") if variant == 0 else None,
        ))  # fmt: skip
    return tuple(out)


def log_end(weeks: int = 8) -> date:
    return LOG_START + timedelta(weeks=weeks) - timedelta(days=1)


def generate(
    out: Path, seed: int, *, weeks: int = 8, items_per_kp: int = 34, schools: tuple[SchoolDef, ...] = SCHOOLS,
    district: str | None = None,
) -> dict[str, int]:  # fmt: skip
    """Write a whole synthetic world into `out`; return how many records of each kind. With
    `district` (its name), also district.json: the district overseeing all the schools (for
    `jianfu districts add --file`)."""
    world = build_world(seed, weeks=weeks, items_per_kp=items_per_kp, schools=schools)
    kps, items, truth, students, progress = (
        world.kps,
        world.items,
        world.truth,
        world.students,
        world.progress,
    )
    end = log_end(weeks)

    out.mkdir(parents=True, exist_ok=True)
    (out / "policies").mkdir(exist_ok=True)
    (out / "policies" / "zhejiang.toml").write_text(REGION_POLICY, encoding="utf-8")
    _write_csv(
        out / "schools.csv",
        ["school_id", "name", "region", "policy", "timezone"],
        [(s.school_id, s.name, s.region, s.school_id, "Asia/Shanghai") for s in schools],
    )
    for school in schools:
        (out / "policies" / f"{school.school_id}.toml").write_text(_policy_toml(school), encoding="utf-8")
    _write_csv(
        out / "knowledge_points.csv",
        ["kp_id", "subject", "grade", "unit", "order", "name", "prerequisites"],
        [
            (k.kp_id, k.d.subject, k.d.grade, k.d.unit, k.order, k.d.name, ";".join(k.prerequisites))
            for k in kps
        ],
    )
    _write_csv(
        out / "items.csv",
        ["item_id", "subject", "kp_ids", "grade", "kind", "stem", "needs_parent", "dup_group", "est_minutes", "answer"],
        [
            (i.item_id, i.kp.d.subject, i.kp.kp_id, i.kp.d.grade, i.kind, i.stem, int(i.needs_parent),
             i.dup_group, "" if i.est_minutes is None else f"{i.est_minutes:g}", i.answer)
            for i in items
        ],
    )  # fmt: skip
    _write_csv(
        out / "classes.csv",
        ["class_id", "school_id", "grade", "name", "subjects"],
        [
            (c.class_id, s.school_id, c.grade, c.name, ";".join(CLASS_SUBJECTS[c.grade]))
            for s in schools
            for c in s.classes
        ],
    )
    _write_csv(
        out / "students.csv",
        ["student_id", "class_id", "display_name", "personal_cap_minutes"],
        [(sid, cls.class_id, name, cap) for sid, cls, name, cap in students],
    )
    _write_csv(
        out / "teaching_progress.csv",
        ["class_id", "subject", "kp_id", "taught_on"],
        [
            (class_id, kp.d.subject, kp.kp_id, on.isoformat())
            for class_id, rows in progress.items()
            for kp, on in sorted(rows, key=lambda r: (r[1], r[0].kp_id))
            if on <= end
        ],
    )
    _write_csv(
        out / "calendar.csv",
        ["school_id", "day", "day_type", "note"],
        [
            (s.school_id, d.isoformat(), day_type(d), HOLIDAYS.get(d) or MAKEUP_DAYS.get(d))
            for s in schools
            for d in _days(TERM_START, TERM_END)
        ],
    )
    _write_csv(
        out / "attempts.csv",
        [
            "event_id",
            "student_id",
            "item_id",
            "night",
            "submitted_at",
            "correct",
            "seconds",
            "score",
            "source",
        ],
        world.attempts,
    )
    _write_csv(
        out / "error_book.csv",
        ["entry_id", "student_id", "item_id", "created_at", "error_type", "resolved_at", "event_id"],
        [
            (e[0], e[1], e[2], e[3].isoformat(), e[6], e[4].isoformat() if e[4] else None, e[7])
            for e in world.error_book
        ],
    )
    truth.write(out / "ground_truth")
    write_checks(out, world)
    if district is not None:
        (out / "district.json").write_text(
            json.dumps({"district_id": "d-sample", "name": district, "schools": [s.school_id for s in schools]},
                       ensure_ascii=False, indent=2) + "\n", encoding="utf-8",
        )  # fmt: skip
    return {
        "schools": len(schools),
        "knowledge_points": len(kps),
        "items": len(items),
        "classes": sum(len(s.classes) for s in schools),
        "students": len(students),
        "attempts": len(world.attempts),
        "error_book": len(world.error_book),
    }


assert set(CLASS_SUBJECTS[8]) <= set(SUBJECTS)
