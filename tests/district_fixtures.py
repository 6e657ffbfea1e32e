"""A district over the sample schools, for the district tests: district d-east oversees sch-east (its
three sample classes and two small classes of 4 and 3 students, east-s-a and east-s-b), d-west
oversees sch-west. In class east-5-1 over the period: four sets handed out on NIGHT (two with both
tiers), one student planned over the cap, two reported evenings over the cap and one within, one
exemption. The period has no logged answers (the sample's logs end on 2026-11-01), so every
reported minute is one of these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, insert, select

from service.district import save_district
from service.store import tables as t

START, END = date(2026, 11, 2), date(2026, 11, 16)
NIGHT = date(2026, 11, 10)
CLASS = "east-5-1"
SMALL = {"east-s-a": 4, "east-s-b": 3}


@dataclass(frozen=True)
class DistrictWorld:
    students: list[str]  # east-5-1's students without a personal cap, by id
    small_students: list[str]
    names: list[str]  # every student's display name in the district
    items: dict[str, str]  # item id -> kind, of the items set
    over_reported: list[tuple[str, date, float]]  # (student, night, minutes over)


def build(engine: Engine) -> DistrictWorld:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with engine.begin() as conn:
        students = list(
            conn.execute(
                select(t.students.c.student_id)
                .where(t.students.c.class_id == CLASS, t.students.c.personal_cap_minutes.is_(None))
                .order_by(t.students.c.student_id)
            ).scalars()
        )
        written = list(
            conn.execute(
                select(t.items.c.item_id)
                .where(t.items.c.subject == "math", t.items.c.grade == 5, t.items.c.kind == "written")
                .order_by(t.items.c.item_id)
                .limit(3)
            ).scalars()
        )
        other = list(
            conn.execute(
                select(t.items.c.item_id, t.items.c.kind)
                .where(t.items.c.subject == "math", t.items.c.grade <= 5, t.items.c.kind != "written")
                .order_by(t.items.c.item_id)
                .limit(1)
            ).all()
        )
        small_students = []
        for class_id, size in SMALL.items():
            conn.execute(insert(t.classes).values(class_id=class_id, school_id="sch-east", grade=5, name=f"小班{class_id[-1]}"))  # fmt: skip
            for n in range(size):
                sid = f"stu-{class_id[-1]}{n:07d}"
                small_students.append(sid)
                conn.execute(insert(t.students).values(student_id=sid, class_id=class_id, display_name=f"小名{class_id[-1]}{n}"))  # fmt: skip
        # Four math sets on NIGHT (cap 60 for grade 5): students 0 and 1 get both tiers, 2 basic
        # only, 3 basic only and 70 minutes planned (over the cap by estimate).
        sets = [
            (students[0], [(written[0], "basic"), (written[1], "extension")], 30.0),
            (students[1], [(written[0], "basic"), (other[0][0], "extension")], 35.0),
            (students[2], [(written[2], "basic")], 20.0),
            (students[3], [(written[0], "basic"), (other[0][0], "basic")], 70.0),
        ]
        for n, (sid, items, minutes) in enumerate(sets):
            plan_id = f"plan-d-{n}"
            conn.execute(insert(t.plans).values(
                plan_id=plan_id, student_id=sid, night=NIGHT, subject="math", teacher_id="usr-x",
                status="published", model_version="7", typical_minutes=minutes, conservative_minutes=minutes,
                created_at=now,
            ))  # fmt: skip
            for pos, (item_id, tier) in enumerate(items):
                conn.execute(insert(t.plan_items).values(
                    plan_id=plan_id, item_id=item_id, tier=tier, position=pos, typical_minutes=minutes / len(items),
                    reason_zh="测试", reason_en="test",
                ))  # fmt: skip
        # A draft never counts (only sets handed out do).
        conn.execute(insert(t.plans).values(
            plan_id="plan-d-draft", student_id=students[4], night=NIGHT, subject="math", teacher_id="usr-x",
            status="draft", model_version="7", typical_minutes=200.0, conservative_minutes=200.0, created_at=now,
        ))  # fmt: skip
        reports = [(students[0], NIGHT, 80.0), (students[1], NIGHT + timedelta(days=1), 75.0),
                   (students[2], NIGHT, 50.0), (small_students[0], NIGHT, 120.0)]  # fmt: skip
        for sid, night, minutes in reports:
            conn.execute(insert(t.evening_reports).values(
                student_id=sid, night=night, minutes=minutes, reported_by="usr-p", reported_at=now,
            ))  # fmt: skip
        conn.execute(insert(t.exemptions).values(student_id=students[5], night=NIGHT, recorded_by="usr-p", recorded_at=now))  # fmt: skip
        names = [n for n in conn.execute(select(t.students.c.display_name)).scalars() if n]
    save_district(db=engine, district_id="d-east", name="城东教育局", schools=["sch-east"])
    save_district(db=engine, district_id="d-west", name="城西教育局", schools=["sch-west"])
    kinds = {w: "written" for w in written} | {other[0][0]: other[0][1]}
    over = [(students[0], NIGHT, 20.0), (students[1], NIGHT + timedelta(days=1), 15.0)]
    return DistrictWorld(students, small_students, names, kinds, over)
