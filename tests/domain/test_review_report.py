"""service.review_report without HTTP: a class night built by hand (sets handed out, answers with
known results and times, an excused set, evening reports) and the 讲评 report's exact counts; counts
only, no student's result beside another's (R5); the points with most students at level D first
(R6), by the levels the teacher's page shows; a fixed number of queries however large the class."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, event, func, insert, select

from service import plans, records, review_report
from service.runtime import Services
from service.schemas import AttemptIn
from service.store import tables as t
from tests.domain.conftest import CLASS, NIGHT, students_of

T0 = datetime(2026, 11, 10, 19, 0, tzinfo=UTC)


@dataclass
class Night:
    students: list[str]  # a..g: a-d handed in, e and f did not, g was excused
    i1: str
    i2: str
    i3: str
    x: str  # the knowledge point of i1 and i3
    y: str  # the knowledge point of i2


def _single_point_items(engine: Engine) -> tuple[str, str, str, str, str]:
    """Three grade-5 maths items on one knowledge point each: i1 and i3 on point x, i2 on point y."""
    with engine.connect() as conn:
        one_point = (
            select(t.item_kps.c.item_id).group_by(t.item_kps.c.item_id).having(func.count() == 1).subquery()
        )
        rows = conn.execute(
            select(t.items.c.item_id, t.item_kps.c.kp_id)
            .join(t.item_kps, t.item_kps.c.item_id == t.items.c.item_id)
            .where(t.items.c.subject == "math", t.items.c.grade == 5,
                   t.items.c.item_id.in_(select(one_point.c.item_id)))
            .order_by(t.item_kps.c.kp_id, t.items.c.item_id)
        ).all()  # fmt: skip
    by_point: dict[str, list[str]] = {}
    for item_id, kp in rows:
        by_point.setdefault(kp, []).append(item_id)
    x = next(kp for kp, its in by_point.items() if len(its) >= 2)
    y = next(kp for kp in by_point if kp != x)
    return by_point[x][0], by_point[y][0], by_point[x][1], x, y


def _set(conn: object, plan_id: str, student: str, subject: str, status: str, items: list[str]) -> None:
    minutes = {0: 5.0, 1: 6.0, 2: 7.0}
    conn.execute(insert(t.plans).values(  # type: ignore[attr-defined]
        plan_id=plan_id, student_id=student, night=NIGHT, subject=subject, teacher_id="t-math", status=status,
        model_version="7", typical_minutes=sum(minutes[k] for k in range(len(items))) if subject == "math" else 20.0,
        conservative_minutes=25.0, created_at=T0 - timedelta(hours=10)))  # fmt: skip
    for k, item in enumerate(items):
        conn.execute(insert(t.plan_items).values(  # type: ignore[attr-defined]
            plan_id=plan_id, item_id=item, tier="basic", position=k, typical_minutes=minutes.get(k, 20.0),
            reason_zh="", reason_en=""))  # fmt: skip


def _answer(svc: Services, student: str, item: str, correct: bool, seconds: int | None, minute: int,
            night: object = NIGHT) -> None:  # fmt: skip
    one = AttemptIn(event_id=f"ev-{student}-{item}-{minute}", item_id=item, night=night,
                    submitted_at=T0 + timedelta(minutes=minute), correct=correct, seconds=seconds)  # fmt: skip
    records.record(db=svc.engine, student_id=student, answers=[one])


def build_night(svc: Services) -> Night:
    i1, i2, i3, x, y = _single_point_items(svc.engine)
    s = students_of(svc.engine)[:7]
    a, b, c, d, e, _f, g = s
    with svc.engine.begin() as conn:
        for k, student in enumerate(s):
            _set(
                conn, f"plan-{k}", student, "math", "exempted" if student == g else "published", [i1, i2, i3]
            )
        _set(conn, "plan-chinese", a, "chinese", "published", [])  # another subject's set: a's evening only
        for student, minutes in ((a, 50.0), (b, 70.0)):  # R4: the whole evening as reported
            conn.execute(insert(t.evening_reports).values(student_id=student, night=NIGHT, minutes=minutes,
                                                          reported_by=student, reported_at=T0 + timedelta(hours=3)))  # fmt: skip
    _answer(svc, a, i1, True, 60, 1)
    _answer(svc, a, i2, False, 120, 2)
    _answer(svc, a, i3, False, 180, 3)
    _answer(svc, b, i1, True, 120, 1)
    _answer(svc, b, i2, False, 60, 2)
    _answer(svc, b, i3, True, None, 3)  # no time given
    _answer(svc, c, i1, False, 180, 1)
    _answer(svc, c, i2, False, 30, 2)  # c never did i3
    _answer(svc, d, i1, True, 240, 1)
    _answer(svc, d, i1, False, 30, 9)  # a retry after the feedback: the first answer is the result
    _answer(svc, d, i2, True, 60, 2)
    _answer(svc, d, i3, True, 60, 3)
    _answer(svc, g, i1, False, 60, 1)  # excused, answered anyway: in no count
    _answer(svc, e, i1, True, 60, 1, night=NIGHT - timedelta(days=1))  # another night's: not tonight's
    return Night(s, i1, i2, i3, x, y)


def levels_for(night: Night) -> dict[str, dict[str, str]]:
    """Point x: three students of four at D; point y: one. (y has more wrong answers than x.)"""
    a, b, c, d, *_ = night.students
    return {a: {night.x: "D", night.y: "D"}, b: {night.x: "D", night.y: "A"}, c: {night.x: "D", night.y: "B"},
            d: {night.x: "A", night.y: "A"}}  # fmt: skip


def test_the_report_counts_exactly_what_came_back(svc: Services) -> None:
    night = build_night(svc)
    e, f = night.students[4:6]
    report = review_report.review_report(db=svc.engine, class_id=CLASS, subject="math", night=NIGHT,
                                         levels=levels_for(night))  # fmt: skip
    assert (report.students, report.set_to, report.handed_in, report.excused) == (45, 6, 4, 1)
    with svc.engine.connect() as conn:
        names = dict(conn.execute(select(t.students.c.student_id, t.students.c.display_name)).all())
    assert [(s.student_id, s.display_name) for s in report.not_handed_in] == [
        (e, names[e] or e), (f, names[f] or f)]  # fmt: skip
    counts = {x.item_id: (x.set_to, x.right, x.wrong, x.not_done) for x in report.items}
    assert counts == {night.i1: (6, 3, 1, 2), night.i2: (6, 1, 3, 2), night.i3: (6, 2, 1, 3)}
    assert [x.item_id for x in report.items] == [night.i1, night.i2, night.i3]  # the order the sets gave
    with svc.engine.connect() as conn:
        stems = dict(conn.execute(select(t.items.c.item_id, t.items.c.stem)).all())
        kp_names = dict(conn.execute(select(t.knowledge_points.c.kp_id, t.knowledge_points.c.name)).all())
    first = report.items[0]
    assert first.stem == stems[night.i1] and first.points == [kp_names[night.x]]  # text and names, not ids
    assert (first.estimated_minutes, first.reported_minutes, first.timed) == (
        5.0,
        2.5,
        4,
    )  # median of 1-4 min
    assert report.most_missed == [night.i2, night.i3, night.i1]  # most wrong, then most not done
    assert not report.typed_answers  # the answers of this night were not typed
    assert all(x.wrong_answers == [] for x in report.items)  # nothing typed in this night
    points = {p.kp_id: (p.right, p.wrong, p.not_done, p.levels, p.at_d_share) for p in report.points}
    assert points == {
        night.x: (5, 2, 5, {"A": 1, "B": 0, "C": 0, "D": 3}, 0.75),
        night.y: (1, 3, 2, {"A": 2, "B": 1, "C": 0, "D": 1}, 0.25),
    }
    assert [p.kp_id for p in report.points] == [night.x, night.y]  # R6: most at D first, not most wrong
    time = report.time
    assert (time.reports, time.reported_minutes, time.estimated_minutes) == (2, 60.0, 28.0)  # a: 18+20, b: 18
    assert (time.subject_estimated_minutes, time.subject_answered_minutes) == (18.0, 6.0)  # a and d timed all


def test_no_student_s_result_is_in_the_report_only_who_has_not_handed_in(svc: Services) -> None:
    night = build_night(svc)
    report = review_report.review_report(db=svc.engine, class_id=CLASS, subject="math", night=NIGHT,
                                         levels=levels_for(night))  # fmt: skip
    everyone = students_of(svc.engine)
    with svc.engine.connect() as conn:
        names = {n for n in conn.execute(select(t.students.c.display_name)).scalars() if n}
    rest = report.model_dump_json(exclude={"not_handed_in"})
    assert not [s for s in everyone if s in rest] and not [n for n in names if f'"{n}"' in rest]
    missing = {s.student_id for s in report.not_handed_in}
    assert missing == set(night.students[4:6])  # never anyone who handed in (R5: no one's results)


def test_points_with_most_students_at_d_come_first_for_any_levels(svc: Services) -> None:
    night = build_night(svc)
    rng = random.Random(16)
    for _ in range(30):
        levels = {s: {kp: rng.choice("ABCD") for kp in (night.x, night.y)} for s in night.students[:6]}
        report = review_report.review_report(db=svc.engine, class_id=CLASS, subject="math", night=NIGHT,
                                             levels=levels)  # fmt: skip
        shares = [p.at_d_share for p in report.points]
        assert shares == sorted(shares, reverse=True)
        for p in report.points:
            at = Counter(levels[s][p.kp_id] for s in levels)
            assert p.levels == {lv: at[lv] for lv in "ABCD"}
            assert p.at_d_share == round(at["D"] / len(levels), 3)


def test_the_levels_are_the_teacher_page_s_and_queries_do_not_grow_with_the_class(svc: Services) -> None:
    night = build_night(svc)
    model = svc.model()
    report = review_report.class_review(db=svc.engine, model=model, book=svc.book, class_id=CLASS,
                                        subject="math", night=NIGHT)  # fmt: skip
    mastery = plans.class_mastery(db=svc.engine, model=model, book=svc.book, class_id=CLASS, subject="math",
                                  night=NIGHT)  # fmt: skip
    for p in report.points:
        at = Counter(s.levels[p.kp_id] for s in mastery.levels if p.kp_id in s.levels)
        assert p.levels == {lv: at[lv] for lv in "ABCD"} and sum(p.levels.values()) > 0

    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    def queries() -> int:
        statements.clear()
        event.listen(svc.engine, "before_cursor_execute", count)
        try:
            review_report.review_report(db=svc.engine, class_id=CLASS, subject="math", night=NIGHT, levels={})
        finally:
            event.remove(svc.engine, "before_cursor_execute", count)
        return len(statements)

    few = queries()
    with svc.engine.begin() as conn:  # the rest of the class gets the set too
        for k, student in enumerate(students_of(svc.engine)[7:], start=100):
            _set(conn, f"plan-{k}", student, "math", "published", [night.i1, night.i2, night.i3])
    assert queries() == few == 5


def test_the_wrong_answers_typed_most_often_are_counted_once_answers_are_typed() -> None:
    """The part that reads typed answers (answer_marks.typed, the grader's normal form): the report's
    building step on rows as the query returns them, with a typed answer on each."""
    from collections import namedtuple
    from datetime import date

    Line = namedtuple("Line", "plan_id student_id status plan_minutes item_id position tier typical_minutes "
                              "stem kind submitted_at event_id correct seconds typed")  # fmt: skip
    Student = namedtuple("Student", "student_id display_name")
    Point = namedtuple("Point", "item_id kp_id name unit order")
    typed = {"s1": " 1/2 ", "s2": "0.2", "s3": "1/2", "s4": "2", "s5": "0.2", "s6": "1/2", "s7": None}
    lines = [
        Line(f"p-{s}", s, "published", 5.0, "q1", 0, "basic", 5.0, "½ + 0 = ?", "written", T0, f"e-{s}",
             s == "s4", 60, answer)
        for s, answer in typed.items()
    ]  # fmt: skip
    report = review_report._build(
        "c", "math", date(2026, 11, 10), [Student(s, None) for s in typed], lines,
        [Point("q1", "kp", "分数", "u1", 1)], {}, {}, {}, True,
    )  # fmt: skip
    (item,) = report.items
    assert (item.right, item.wrong, item.not_done) == (1, 6, 0)
    assert [(a.answer, a.students) for a in item.wrong_answers] == [("1/2", 3), ("0.2", 2)]  # blank: none
    assert report.typed_answers and report.most_missed == ["q1"]
