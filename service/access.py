"""Who may see and do what: the object-level rules, once, for the API's route dependencies and the
pages alike.

A student sees themself, a parent their child, a teacher the classes (and subjects) they teach, a
head teacher their classes, a school administrator their school, a district (教育局) its schools'
classes as a whole and never a student; the data team works on data, not on individuals' evenings. Someone else's object raises NotFound (its existence is not confirmed);
a role that may not do something at all raises NotAllowed.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from sqlalchemy import Engine, select

from service.auth import Principal
from service.errors import NotAllowed, NotFound
from service.store import tables as t
from service.store.queries import HANDED_OUT, ClassPlace, StudentPlace, read_class_place, read_student_place
from service.store.reads import Read, Reader, reader

COORDINATORS = ("head_teacher", "school_admin")
STAFF = ("teacher", *COORDINATORS)


StudentRef = StudentPlace  # where a student belongs: class, school, grade, policy, time zone
ClassRef = ClassPlace


class PlanRef(NamedTuple):
    plan_id: str
    status: str
    subject: str
    night: date
    student_id: str
    class_id: str
    display_name: str | None


PLAN = Read("""
    SELECT p.plan_id, p.status, p.subject, p.night, p.student_id, s.class_id, s.display_name
    FROM plans p JOIN students s ON s.student_id = p.student_id
    WHERE p.plan_id = :plan_id
""")
CHILD_IN_CLASS = Read(
    "SELECT student_id FROM students WHERE class_id = :class_id AND student_id = :student_id"
)
FIRST_CLASS_OF_SCHOOL = Read("SELECT MIN(class_id) FROM classes WHERE school_id = :school_id")
CLASS_OF_STUDENT = Read("SELECT class_id FROM students WHERE student_id = :student_id")


def require(who: Principal, *roles: str) -> None:
    if who.role not in roles:
        raise NotAllowed(
            f"a {who.role} account cannot do this (it needs: {', '.join(roles)})",
            f"{who.role} 账号不能做这件事（需要：{'、'.join(roles)}）",
        )


def student_ref(db: Engine, student_id: str, read: Reader | None = None) -> StudentRef | None:
    if read is None:
        with reader(db) as fresh:
            return student_ref(db, student_id, fresh)
    return read_student_place(read, student_id)


def class_ref(db: Engine, class_id: str) -> ClassRef | None:
    with reader(db) as read:
        return read_class_place(read, class_id)


def see_student(
    db: Engine, who: Principal, student_id: str, *, subject: str | None = None, read: Reader | None = None
) -> StudentRef:
    """The student if this account may see them: themself, their child, their class's teacher (of
    `subject` if given) or head teacher, their school's administrator. (`read`: a reader the caller
    holds already.)"""
    row = student_ref(db, student_id, read)
    if row is None or not (
        (who.role in ("student", "parent") and student_id in who.students)
        or (who.role in ("teacher", "head_teacher") and who.teaches(row.class_id, subject))
        or (who.role == "school_admin" and row.school_id in who.schools)
    ):
        raise NotFound("student", student_id)
    return row


def subjects_of(who: Principal, student: StudentRef) -> frozenset[str] | None:
    """The subjects of a student's records (answers, error book) this account acts on: a subject
    teacher only the subjects they teach the student's class; anyone else who may see the student,
    every subject (None)."""
    if who.role != "teacher":
        return None
    subjects = who.classes.get(student.class_id, frozenset())
    return None if "" in subjects else subjects


def see_class(db: Engine, who: Principal, class_id: str, *, subject: str | None = None) -> ClassRef:
    """The class if this account teaches it (the subject, if given), heads it, or runs its school."""
    row = class_ref(db, class_id)
    if row is None or not (
        (who.role in ("teacher", "head_teacher") and who.teaches(class_id, subject))
        or (who.role == "school_admin" and row.school_id in who.schools)
    ):
        raise NotFound("class", class_id)
    return row


def see_plan(db: Engine, who: Principal, plan_id: str) -> PlanRef:
    """A plan of a class and subject this teacher teaches."""
    require(who, "teacher")
    with reader(db) as read:
        row = read.first(PLAN, plan_id=plan_id)
    if row is None:
        raise NotFound("plan", plan_id)
    found = PlanRef(*row)
    if isinstance(found.night, str):  # SQLite keeps dates as text
        found = found._replace(night=date.fromisoformat(found.night))
    if not who.teaches(found.class_id, found.subject):
        raise NotFound("plan", plan_id)
    return found


class ItemRef(NamedTuple):
    item_id: str
    subject: str
    grade: int
    answer_key: bool  # the caller may read the item's answer: a teacher of its subject, not a family


def see_item(db: Engine, who: Principal, item_id: str) -> ItemRef:
    """An item of the bank, if this account has a reason to read it: a student or parent, an item set
    for their child (published or done) or in the child's error book; a teacher, an item of a subject
    they teach at or below the grade of a class they teach it in (with its answer); a head teacher, an
    item at or below the grade of a class they head; a school's administrator, an item set to a
    student of their school (neither with the answer: that is for the subject's teachers). The data
    team works on data, not on items (403)."""
    require(who, "student", "parent", "teacher", *COORDINATORS)
    with db.connect() as conn:
        item = conn.execute(
            select(t.items.c.subject, t.items.c.grade).where(t.items.c.item_id == item_id)
        ).first()
        if item is None:
            raise NotFound("item", item_id)
        if who.role in ("student", "parent"):
            mine = sorted(who.students)
            handed = select(t.plans.c.student_id).join(t.plan_items, t.plan_items.c.plan_id == t.plans.c.plan_id).where(
                t.plan_items.c.item_id == item_id, t.plans.c.student_id.in_(mine), t.plans.c.status.in_(HANDED_OUT)
            )  # fmt: skip
            # In the child's error book: only an item of the child's grade or below, in a subject of
            # their class. Answers name any item id of the bank, and a wrong one opens an entry: without
            # this, posting a wrong answer would open any item (another grade's, say) to reading.
            noted = (
                select(t.error_book.c.student_id)
                .join(t.students, t.students.c.student_id == t.error_book.c.student_id)
                .join(t.classes, t.classes.c.class_id == t.students.c.class_id)
                .join(t.class_subjects, t.class_subjects.c.class_id == t.classes.c.class_id)
                .where(
                    t.error_book.c.item_id == item_id, t.error_book.c.student_id.in_(mine),
                    t.classes.c.grade >= item.grade, t.class_subjects.c.subject == item.subject,
                )
            )  # fmt: skip
            if conn.execute(handed.union_all(noted).limit(1)).first() is None:
                raise NotFound("item", item_id)
            return ItemRef(item_id, item.subject, item.grade, answer_key=False)
        if who.role == "school_admin":
            set_here = (
                select(t.plans.c.plan_id)
                .join(t.plan_items, t.plan_items.c.plan_id == t.plans.c.plan_id)
                .join(t.students, t.students.c.student_id == t.plans.c.student_id)
                .join(t.classes, t.classes.c.class_id == t.students.c.class_id)
                .where(t.plan_items.c.item_id == item_id, t.classes.c.school_id.in_(sorted(who.schools)))
                .limit(1)
            )
            if conn.execute(set_here).first() is None:
                raise NotFound("item", item_id)
            return ItemRef(item_id, item.subject, item.grade, answer_key=False)
        grade_of = dict(
            conn.execute(
                select(t.classes.c.class_id, t.classes.c.grade).where(
                    t.classes.c.class_id.in_(sorted(who.classes))
                )
            ).all()
        )
        # a school's own item (a teacher's, a workbook exercise): for that school's staff only
        owner = conn.execute(
            select(t.school_items.c.school_id).where(t.school_items.c.item_id == item_id)
        ).scalar()
        if owner is not None:
            schools = set(
                conn.execute(
                    select(t.classes.c.school_id).where(t.classes.c.class_id.in_(sorted(who.classes)))
                ).scalars()
            )
            if owner not in schools:
                raise NotFound("item", item_id)
    subject = item.subject if who.role == "teacher" else None
    if not any(grade >= item.grade for c, grade in grade_of.items() if who.teaches(c, subject)):
        raise NotFound("item", item_id)
    return ItemRef(item_id, item.subject, item.grade, answer_key=who.role == "teacher")


def see_notice(db: Engine, who: Principal, class_id: str) -> ClassRef | None:
    """The weekly public notice is for the class's families and staff (it holds no individual data)."""
    if who.role in ("student", "parent"):
        with reader(db) as read:
            if not any(
                read.first(CHILD_IN_CLASS, class_id=class_id, student_id=s) for s in sorted(who.students)
            ):
                raise NotFound("class", class_id)
        return None
    require(who, *STAFF)
    return see_class(db, who, class_id)


def see_worksheets(
    db: Engine, who: Principal, *, class_id: str, subject: str, student_id: str | None
) -> None:
    """One student's sheet (their whole evening, every subject): the student, their parents, their
    head teacher, the school's administrator — not a teacher of only some subjects, who prints the
    class's sheet of their subject. A whole class's: its teachers (a subject teacher only their
    subject's), its head teacher, the school's administrator."""
    if student_id:
        student = see_student(db, who, student_id)
        if subjects_of(who, student) is not None:
            raise NotAllowed(
                "one student's sheet holds every subject of their evening: print your subject's sheet "
                "for the class instead",
                "单个学生的作业单包含当晚所有学科：请打印本班您所教学科的作业单",
            )
        return
    if who.role not in STAFF:
        raise NotAllowed("whole-class worksheets are for the class's teachers", "全班作业单只给本班老师")
    see_class(db, who, class_id, subject=subject if who.role == "teacher" else None)


def see_district(who: Principal, district_id: str) -> str:
    """The district, if this is one of its accounts (a district's figures are for its bureau only:
    no school's or class's account reaches them, and a district account no student's data)."""
    require(who, "district")
    if district_id not in who.districts:
        raise NotFound("district", district_id)
    return district_id


def first_class(db: Engine, who: Principal) -> str:
    """The first class this account may see: taught or headed, of the school it runs, or its child's."""
    if who.classes:
        return sorted(who.classes)[0]
    with reader(db) as read:
        found = [read.first(FIRST_CLASS_OF_SCHOOL, school_id=s) for s in sorted(who.schools)]
        found += [read.first(CLASS_OF_STUDENT, student_id=s) for s in sorted(who.students)]
    return min((row[0] for row in found if row and row[0]), default="")


def child_of(who: Principal, wanted: str | None) -> str:
    """The student a student's or parent's page is about: the one asked for if theirs, else the first."""
    mine = sorted(who.students)
    if not mine:
        raise NotAllowed("this page is for a student or a parent", "这个页面是给学生或家长的")
    return wanted if wanted in who.students else mine[0]
