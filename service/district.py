"""A district (教育局): its schools' homework over a period, for monitoring (监测) and the
half-monthly report — share of classes within the cap by estimated and by reported time (R4), how
often and by how much reported evenings went over it, tiering coverage, the share of non-written
kinds (C7), exemptions (T12), and every class's weekly notice (R3).

Classes are the smallest unit: no figure here is about one student. A class with fewer students
than the threshold (settings.district_min_class_size) is not shown on its own: it is merged into its
school's "other classes", whose figures are withheld too if fewer students than the threshold stand
behind them. A school below the threshold as a whole is withheld the same way. The school's and the
district's totals are over the shown units only (their `withheld_classes` says how many classes are
left out): a total that still held a withheld class would give its figures away by subtraction
(school total minus the classes listed).

The evenings are judged as the head teacher's burden monitoring judges them (service.evenings: the
same caps, the same planned and reported minutes, the same over-cap test), and the notices are the
head teacher's notices (service.evenings.weekly_notice). Plain functions with keyword-only
arguments, called by the API's routes, the pages and the CLI after their permission checks.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, delete, distinct, func, insert, select

from service.errors import Invalid, NotFound
from service.evenings import MAX_BURDEN_DAYS, over_cap, reported_minutes, school_today, weekly_notice
from service.policy.budget import evening_cap
from service.policy.policy import PolicyBook
from service.schemas import (
    DistrictNotices,
    DistrictSchool,
    DistrictSummary,
    DistrictUnit,
    UnitFigures,
)
from service.store import tables as t
from service.store.db import writing
from service.store.queries import DEFAULT_POLICY, HANDED_OUT

HALF_MONTH_DAYS = 15


@dataclass(frozen=True)
class SchoolRow:
    school_id: str
    name: str
    timezone: str


@dataclass(frozen=True)
class ClassRow:
    class_id: str
    school_id: str
    grade: int
    name: str
    policy: str | None
    students: int


def save_district(*, db: Engine, district_id: str, name: str, schools: Sequence[str]) -> list[str]:
    """Create or replace a district and the schools it oversees (a school belongs to one district:
    it moves here from another). All or nothing; an unknown school is refused by name."""
    wanted = sorted(set(schools))
    if not wanted:
        raise Invalid("a district needs at least one school", "教育局至少要管理一所学校")
    with writing(db) as conn:
        known = set(
            conn.execute(select(t.schools.c.school_id).where(t.schools.c.school_id.in_(wanted))).scalars()
        )
        missing = [s for s in wanted if s not in known]
        if missing:
            raise NotFound(
                "school", missing[0], en=f"no school {missing[0]!r}", zh=f"没有学校 {missing[0]!r}"
            )
        found = conn.execute(
            select(t.districts.c.district_id).where(t.districts.c.district_id == district_id)
        ).first()
        if found is None:
            conn.execute(insert(t.districts).values(district_id=district_id, name=name))
        else:
            conn.execute(
                t.districts.update().where(t.districts.c.district_id == district_id).values(name=name)
            )
        conn.execute(delete(t.district_schools).where(
            (t.district_schools.c.district_id == district_id) | t.district_schools.c.school_id.in_(wanted)
        ))  # fmt: skip
        conn.execute(
            insert(t.district_schools), [{"school_id": s, "district_id": district_id} for s in wanted]
        )
    return wanted


def district_name(*, db: Engine, district_id: str) -> str:
    with db.connect() as conn:
        name = conn.execute(
            select(t.districts.c.name).where(t.districts.c.district_id == district_id)
        ).scalar()
    if name is None:
        raise NotFound("district", district_id)
    return str(name)


def district_schools(*, db: Engine, district_id: str) -> list[SchoolRow]:
    """The schools a district oversees, by id."""
    with db.connect() as conn:
        rows = conn.execute(
            select(t.schools.c.school_id, t.schools.c.name, t.schools.c.timezone)
            .join(t.district_schools, t.district_schools.c.school_id == t.schools.c.school_id)
            .where(t.district_schools.c.district_id == district_id)
            .order_by(t.schools.c.school_id)
        ).all()
    return [SchoolRow(*r) for r in rows]


def default_period(*, db: Engine, district_id: str, now: datetime | None = None) -> tuple[date, date]:
    """The last half month by the schools' local dates: the 15 evenings ending today (where the
    schools are in different time zones, the earliest of their todays, so no school's evening that
    has not begun is counted)."""
    now = now or datetime.now(UTC)
    schools = district_schools(db=db, district_id=district_id)
    end = min((school_today(s.timezone, now) for s in schools), default=now.date())
    return end - timedelta(days=HALF_MONTH_DAYS - 1), end


def _check_period(start: date, end: date) -> None:
    if end < start or (end - start).days > MAX_BURDEN_DAYS:
        raise Invalid(
            f"'to' must be on or after 'from', at most {MAX_BURDEN_DAYS} days later",
            f"结束日期必须不早于开始日期，且最多相隔 {MAX_BURDEN_DAYS} 天",
        )


def _classes(db: Engine, district_id: str) -> list[ClassRow]:
    size = select(t.students.c.class_id, func.count().label("n")).group_by(t.students.c.class_id).subquery()
    with db.connect() as conn:
        rows = conn.execute(
            select(t.classes.c.class_id, t.classes.c.school_id, t.classes.c.grade, t.classes.c.name,
                   t.schools.c.policy, func.coalesce(size.c.n, 0))
            .join(t.schools, t.schools.c.school_id == t.classes.c.school_id)
            .join(t.district_schools, t.district_schools.c.school_id == t.classes.c.school_id)
            .outerjoin(size, size.c.class_id == t.classes.c.class_id)
            .where(t.district_schools.c.district_id == district_id)
            .order_by(t.classes.c.school_id, t.classes.c.grade, t.classes.c.class_id)
        ).all()  # fmt: skip
    return [ClassRow(r[0], r[1], int(r[2]), r[3], r[4], int(r[5])) for r in rows]


@dataclass
class _Tally:
    """One class's evenings, counted (never kept per student past the counting)."""

    classes: int = 0
    with_sets: int = 0
    with_reports: int = 0
    within_estimated: int = 0
    within_reported: int = 0
    evenings_estimated: int = 0
    over_estimated: int = 0
    evenings_reported: int = 0
    over_reported: int = 0
    over_minutes: float = 0.0
    nights_over: set[date] = field(default_factory=set)
    sets: int = 0
    sets_both: int = 0
    items: int = 0
    non_written: int = 0
    exemptions: int = 0

    def add(self, other: _Tally) -> None:
        for name in ("classes", "with_sets", "with_reports", "within_estimated", "within_reported", "evenings_estimated", "over_estimated",
                     "evenings_reported", "over_reported", "over_minutes", "sets", "sets_both", "items",
                     "non_written", "exemptions"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.nights_over |= other.nights_over

    def figures(self) -> UnitFigures:
        share = lambda part, whole: round(part / whole, 3) if whole else None  # noqa: E731
        return UnitFigures(
            classes=self.classes,
            classes_with_sets=self.with_sets,
            classes_with_reports=self.with_reports,
            classes_within_cap_estimated=self.within_estimated,
            classes_within_cap_reported=self.within_reported,
            evenings_estimated=self.evenings_estimated,
            evenings_over_cap_estimated=self.over_estimated,
            evenings_reported=self.evenings_reported,
            evenings_over_cap_reported=self.over_reported,
            nights_over_cap_reported=len(self.nights_over),
            over_cap_mean_minutes=round(self.over_minutes / self.over_reported, 1)
            if self.over_reported
            else None,
            sets=self.sets,
            sets_both_tiers=self.sets_both,
            items=self.items,
            non_written_items=self.non_written,
            exemptions=self.exemptions,
            share_within_cap_estimated=share(self.within_estimated, self.with_sets),
            share_within_cap_reported=share(self.within_reported, self.with_reports),
            tiering_share=share(self.sets_both, self.sets),
            non_written_share=share(self.non_written, self.items),
        )


def _tallies(db: Engine, book: PolicyBook, district_id: str, classes: list[ClassRow], start: date,
             end: date) -> dict[str, _Tally]:  # fmt: skip
    """Each class's evenings over the period, counted as the head teacher's burden counts them: each
    student's cap (evening_cap with their personal cap), planned minutes of the sets handed out, the
    reported (else recorded) minutes, the same over-cap test."""
    in_district = (
        select(t.students.c.student_id)
        .join(t.classes, t.classes.c.class_id == t.students.c.class_id)
        .join(t.district_schools, t.district_schools.c.school_id == t.classes.c.school_id)
        .where(t.district_schools.c.district_id == district_id)
    )
    place = {c.class_id: c for c in classes}
    with db.connect() as conn:
        students = conn.execute(
            select(t.students.c.student_id, t.students.c.class_id, t.students.c.personal_cap_minutes).where(
                t.students.c.student_id.in_(in_district)
            )
        ).all()
        planned: dict[tuple[str, date], float] = defaultdict(float)
        for sid, night, minutes in conn.execute(
            select(t.plans.c.student_id, t.plans.c.night, func.sum(t.plans.c.typical_minutes))
            .where(t.plans.c.student_id.in_(in_district), t.plans.c.night >= start, t.plans.c.night <= end,
                   t.plans.c.status.in_(HANDED_OUT))
            .group_by(t.plans.c.student_id, t.plans.c.night)
        ):  # fmt: skip
            planned[(sid, night)] += float(minutes)
        reported = reported_minutes(conn, in_district, start, end)
        sets_of_class = (
            select(t.plans.c.plan_id, t.students.c.class_id)
            .join(t.students, t.students.c.student_id == t.plans.c.student_id)
            .where(t.plans.c.student_id.in_(in_district), t.plans.c.night >= start, t.plans.c.night <= end,
                   t.plans.c.status.in_(HANDED_OUT))
            .subquery()
        )  # fmt: skip
        tiers = (
            select(sets_of_class.c.class_id, sets_of_class.c.plan_id,
                   func.count(distinct(t.plan_items.c.tier)).label("tiers"))
            .join(t.plan_items, t.plan_items.c.plan_id == sets_of_class.c.plan_id)
            .group_by(sets_of_class.c.class_id, sets_of_class.c.plan_id)
            .subquery()
        )  # fmt: skip
        sets = {
            c: (int(n), int(both or 0))
            for c, n, both in conn.execute(
                select(
                    tiers.c.class_id, func.count(), func.sum(case((tiers.c.tiers >= 2, 1), else_=0))
                ).group_by(tiers.c.class_id)
            )
        }
        kinds = {
            c: (int(n), int(other or 0))
            for c, n, other in conn.execute(
                select(sets_of_class.c.class_id, func.count(),
                       func.sum(case((t.items.c.kind != "written", 1), else_=0)))
                .join(t.plan_items, t.plan_items.c.plan_id == sets_of_class.c.plan_id)
                .join(t.items, t.items.c.item_id == t.plan_items.c.item_id)
                .group_by(sets_of_class.c.class_id)
            )
        }  # fmt: skip
        exempt: dict[str, int] = dict(
            conn.execute(
                select(t.students.c.class_id, func.count())
                .join(t.exemptions, t.exemptions.c.student_id == t.students.c.student_id)
                .where(t.students.c.student_id.in_(in_district), t.exemptions.c.night >= start,
                       t.exemptions.c.night <= end)
                .group_by(t.students.c.class_id)
            ).all()
        )  # fmt: skip
    cap_of: dict[str, float] = {}
    class_of: dict[str, str] = {}
    for sid, class_id, personal in students:
        c = place[class_id]
        cap_of[sid] = evening_cap(book(c.policy or DEFAULT_POLICY), c.grade, personal)
        class_of[sid] = class_id
    tally = {c.class_id: _Tally(classes=1) for c in classes}
    for (sid, _night), minutes in planned.items():
        one = tally[class_of[sid]]
        one.evenings_estimated += 1
        one.over_estimated += over_cap(minutes, cap_of[sid])
    for (sid, night), minutes in reported.items():
        one = tally[class_of[sid]]
        one.evenings_reported += 1
        if over_cap(minutes, cap_of[sid]):
            one.over_reported += 1
            one.over_minutes += minutes - cap_of[sid]
            one.nights_over.add(night)
    for class_id, one in tally.items():
        # A class is judged on the evenings it has: one with no set (or no report) is not "within".
        one.with_sets, one.with_reports = int(one.evenings_estimated > 0), int(one.evenings_reported > 0)
        one.within_estimated = int(one.with_sets and one.over_estimated == 0)
        one.within_reported = int(one.with_reports and one.over_reported == 0)
        one.sets, one.sets_both = sets.get(class_id, (0, 0))
        one.items, one.non_written = kinds.get(class_id, (0, 0))
        one.exemptions = int(exempt.get(class_id, 0))
    return tally


def summary(
    *, db: Engine, book: PolicyBook, district_id: str, start: date, end: date, min_class_size: int
) -> DistrictSummary:
    """The district's figures over the period: the district's totals, each school's, and each
    class's (small classes merged into "other classes", withheld below the threshold). The totals
    are over the shown units only, so no total minus the units listed gives a withheld unit away."""
    _check_period(start, end)
    name = district_name(db=db, district_id=district_id)
    schools = district_schools(db=db, district_id=district_id)
    classes = _classes(db, district_id)
    tally = _tallies(db, book, district_id, classes, start, end)
    whole, withheld_all = _Tally(), 0
    out_schools, over_units, over_schools = [], [], []
    by_school: dict[str, list[ClassRow]] = defaultdict(list)
    for c in classes:
        by_school[c.school_id].append(c)
    for school in schools:
        mine = by_school.get(school.school_id, [])
        school_tally, small, small_tally = _Tally(), [], _Tally()
        units = []
        for c in mine:
            if c.students < min_class_size:
                small.append(c)
                small_tally.add(tally[c.class_id])
                continue
            units.append(DistrictUnit(unit_id=c.class_id, name=c.name, grade=c.grade, classes=1,
                                      students=c.students, suppressed=False, figures=tally[c.class_id].figures()))  # fmt: skip
            school_tally.add(tally[c.class_id])
            if tally[c.class_id].over_reported:
                over_units.append(c.class_id)
        withheld = 0
        if small:
            count = sum(c.students for c in small)
            hidden = count < min_class_size
            if hidden:  # left out of every total too, not only unlisted
                withheld = len(small)
            else:
                school_tally.add(small_tally)
            units.append(DistrictUnit(
                unit_id=f"{school.school_id}/other", name="其他班级 / other classes", grade=None, classes=len(small),
                students=None if hidden else count, suppressed=hidden, figures=None if hidden else small_tally.figures(),
            ))  # fmt: skip
            if not hidden and small_tally.over_reported:
                over_units.append(f"{school.school_id}/other")
        # A school below the threshold as a whole has every class withheld (so nothing in its tally).
        hidden_school = sum(c.students for c in mine) < min_class_size
        whole.add(school_tally)
        withheld_all += withheld
        if school_tally.over_reported and not hidden_school:
            over_schools.append(school.school_id)
        out_schools.append(DistrictSchool(school_id=school.school_id, name=school.name, classes=len(mine),
                                          suppressed=hidden_school, withheld_classes=withheld,
                                          figures=None if hidden_school else school_tally.figures(), units=units))  # fmt: skip
    return DistrictSummary(district_id=district_id, name=name, start=start, end=end, min_class_size=min_class_size,
                           figures=whole.figures(), withheld_classes=withheld_all, schools=out_schools,
                           over_cap_units=over_units, over_cap_schools=over_schools)  # fmt: skip


def notices(
    *, db: Engine, book: PolicyBook, district_id: str, week_of: date, min_class_size: int,
    now: datetime | None = None,
) -> DistrictNotices:  # fmt: skip
    """Every class's weekly notice (R3) of the week holding `week_of`: the head teacher's notice, as
    the families see it (class averages). A class below the threshold is withheld here: an average
    of a handful of children says too much about each."""
    district_name(db=db, district_id=district_id)
    monday = week_of - timedelta(days=week_of.weekday())
    shown, withheld = [], []
    for c in _classes(db, district_id):
        if c.students < min_class_size:
            withheld.append(c.class_id)
            continue
        shown.append(weekly_notice(db=db, book=book, class_id=c.class_id, week_of=monday, now=now))
    return DistrictNotices(district_id=district_id, week_of=monday, notices=shown, withheld=withheld)


def weeks_of(start: date, end: date) -> list[date]:
    """The Mondays of the weeks a period touches."""
    monday = start - timedelta(days=start.weekday())
    out = []
    while monday <= end:
        out.append(monday)
        monday += timedelta(days=7)
    return out


def totals_note(withheld: int) -> str:
    """What a total is over: the shown classes only (a withheld class is in no total)."""
    return f"合计只含列出的班级；{withheld} 个班级人数不足，未计入 / totals over shown classes only; {withheld} classes withheld"


def summary_rows(found: DistrictSummary) -> tuple[list[str], list[list[Any]]]:
    """The summary as a table (one row per school, its units after it): the CSV and Excel downloads
    and the report's sheet. Chinese headers; shares as fractions."""
    header = ["学校", "班级", "年级", "班级数", "人数", "按预计时长未超时班级占比", "按实际时长未超时班级占比",
              "实际超时晚数", "超时天数", "平均超时分钟", "分层作业占比", "非书面作业占比", "免写次数", "说明"]  # fmt: skip
    rows: list[list[Any]] = []

    def line(school: str, unit: str, grade: int | None, classes: int, students: int | None,
             f: UnitFigures | None, note: str) -> list[Any]:  # fmt: skip
        if f is None:
            return [
                school,
                unit,
                grade,
                classes,
                students,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                note,
            ]
        return [school, unit, grade, classes, students, f.share_within_cap_estimated, f.share_within_cap_reported,
                f.evenings_over_cap_reported, f.nights_over_cap_reported, f.over_cap_mean_minutes, f.tiering_share,
                f.non_written_share, f.exemptions, note]  # fmt: skip

    rows.append(line(found.name, "全区合计", None, found.figures.classes, None, found.figures,
                     totals_note(found.withheld_classes)))  # fmt: skip
    for s in found.schools:
        note = (
            "人数不足，不单列"
            if s.suppressed
            else totals_note(s.withheld_classes)
            if s.withheld_classes
            else ""
        )
        rows.append(line(s.name, "全校合计", None, s.classes, None, s.figures, note))
        for u in s.units:
            rows.append(line(s.name, u.name, u.grade, u.classes, u.students, u.figures,
                             "人数不足，不单列" if u.suppressed else ""))  # fmt: skip
    return header, rows


def summary_csv(found: DistrictSummary) -> str:
    """The summary's table as CSV text (Chinese headers, as summary_rows)."""
    header, rows = summary_rows(found)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue()


def district_of(districts: Iterable[str], wanted: str | None) -> str:
    """The district a district account's page is about: the one asked for if theirs, else the first."""
    mine = sorted(districts)
    if not mine:
        raise NotFound("district", wanted or "")
    return wanted if wanted in mine else mine[0]
