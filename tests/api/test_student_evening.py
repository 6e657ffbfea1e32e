"""The student's and parent's evening through the API (issues 16 and 17): a typed answer graded on
the server (right or wrong at once, the key never sent, marked "graded" in the log; self-report
marked so; empty and too long refused with a clear 422); a done item shows its result; a parent's
excuse keeps its reason, can be undone that evening, and the head teacher's evening and the weekly
notice count nothing for it; 作业熔断 stops an evening whose time is up, records what is left as not
done because time ran out (censored, no error-book entry, no wrong answer), once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from service.evenings import school_today
from service.grading import gradable
from service.store import tables as t
from tests.api.conftest import NIGHT, Caller, World


def _publish(teacher: Caller, night: object = NIGHT) -> dict[str, Any]:
    body = {"subject": "math", "night": str(night)}
    planned = teacher.post("/v1/classes/east-5-1/plans", json=body)
    assert planned.status_code == 200, planned.text
    assert teacher.post("/v1/classes/east-5-1/publish", json=body).status_code == 200
    return planned.json()  # type: ignore[no-any-return]


def _items(world: World, ids: list[str]) -> dict[str, Any]:
    with world.engine.connect() as conn:
        return {r.item_id: r for r in conn.execute(select(t.items).where(t.items.c.item_id.in_(ids)))}


def _answer(event: str, item: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": event, "item_id": item, "night": str(NIGHT),
            "submitted_at": f"{NIGHT}T19:00:00+08:00", "seconds": 120, **fields}  # fmt: skip


def test_a_typed_answer_is_graded_on_the_server_and_the_key_never_reaches_the_student(
    world: World, teacher: Caller, student: Caller
) -> None:
    _publish(teacher)
    url = f"/v1/students/{world.student}/tonight"
    tonight = student.get(url, params={"night": str(NIGHT)}).json()
    rows = _items(world, [i["item_id"] for i in tonight["items"]])
    assert all("answer" not in i for i in tonight["items"])  # the key is not in tonight
    graded = [i for i in tonight["items"] if gradable(rows[i["item_id"]].kind, rows[i["item_id"]].answer)]
    assert len(graded) >= 2, "the setup: maths written items with keys tonight"
    assert all(i["graded"] for i in graded) and not any(i["done"] for i in tonight["items"])
    right, wrong = graded[0], graded[1]
    key = rows[right["item_id"]].answer
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in key)
    attempts = f"/v1/students/{world.student}/attempts"
    r = student.post(attempts, json={"attempts": [_answer("typed-1", right["item_id"], answer=fullwidth),
                                                  _answer("typed-2", wrong["item_id"], answer="不知道")]})  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert {g["event_id"]: g["correct"] for g in body["graded"]} == {"typed-1": True, "typed-2": False}
    assert "answer" not in str(body["graded"])
    book = student.get(f"/v1/students/{world.student}/error-book").json()
    assert wrong["item_id"] in {e["item_id"] for e in book}  # a wrong typed answer is in the error book (R1)
    assert right["item_id"] not in {e["item_id"] for e in book}
    again = student.post(
        attempts, json={"attempts": [_answer("typed-1", right["item_id"], answer="wrong now")]}
    )
    assert again.json()["already_stored"] == 1 and again.json()["graded"][0]["correct"] is True  # stored once

    after = {i["item_id"]: i for i in student.get(url, params={"night": str(NIGHT)}).json()["items"]}
    assert after[right["item_id"]]["done"] and after[right["item_id"]]["result"] == "right"
    assert after[wrong["item_id"]]["result"] == "wrong"
    with world.engine.connect() as conn:
        marks = dict(
            conn.execute(
                select(t.answer_marks.c.event_id, t.answer_marks.c.answer_source).where(
                    t.answer_marks.c.student_id == world.student
                )
            ).all()
        )
        typed = conn.execute(
            select(t.answer_marks.c.typed).where(t.answer_marks.c.event_id == "typed-2")
        ).scalar()
    assert marks == {"typed-1": "graded", "typed-2": "graded"} and typed == "不知道"

    # a self-report (the app says right or wrong) is marked so in the log
    third = graded[2]["item_id"] if len(graded) > 2 else tonight["items"][-1]["item_id"]
    r = student.post(attempts, json={"attempts": [_answer("said-1", third, correct=True)]})
    assert r.status_code == 200 and r.json()["graded"] == []
    with world.engine.connect() as conn:
        source = conn.execute(
            select(t.answer_marks.c.answer_source).where(t.answer_marks.c.event_id == "said-1")
        ).scalar()
    assert source == "self_report"


def test_an_answer_that_cannot_be_graded_is_refused_clearly_and_nothing_is_stored(
    world: World, teacher: Caller, student: Caller
) -> None:
    _publish(teacher)
    item = student.get(f"/v1/students/{world.student}/tonight", params={"night": str(NIGHT)}).json()["items"][
        0
    ]
    attempts = f"/v1/students/{world.student}/attempts"
    with world.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(t.attempts)).scalar_one()
        oral = conn.execute(
            select(t.items.c.item_id).where(t.items.c.kind == "oral", t.items.c.grade == 5).limit(1)
        ).scalar_one()
    for typed, words in (("", "empty"), ("   ", "empty"), ("9" * 101, "too long"), ("9" * 5000, "at most")):
        ok = _answer("good-1", item["item_id"], answer=item["item_id"][:3])
        r = student.post(attempts, json={"attempts": [ok, _answer("bad-1", item["item_id"], answer=typed)]})
        assert r.status_code == 422, (typed[:10], r.text)
        assert words in r.text and r.json()["errors"][0]["pointer"] == "/attempts/1/answer"
    r = student.post(attempts, json={"attempts": [_answer("ghost-1", "no-such-item", answer="12")]})
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/attempts/0/item_id"
    r = student.post(attempts, json={"attempts": [_answer("oral-1", oral, answer="12")]})
    assert r.status_code == 422 and "not graded on the server" in r.text
    both = _answer("both-1", item["item_id"], answer="1", correct=True)
    assert student.post(attempts, json={"attempts": [both]}).status_code == 422
    assert student.post(attempts, json={"attempts": [_answer("none-1", item["item_id"])]}).status_code == 422
    with world.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.attempts)).scalar_one() == before


def test_a_parent_s_excuse_has_a_reason_is_undone_that_evening_and_counts_nowhere(
    world: World, teacher: Caller, student: Caller, parent: Caller, head_teacher: Caller
) -> None:
    _publish(teacher)
    exemptions = f"/v1/students/{world.student}/exemptions"
    r = parent.post(exemptions, json={"night": str(NIGHT), "note": "发烧"})
    assert r.status_code == 201 and r.json()["note"] == "发烧" and r.json()["excused"] is True

    evening = head_teacher.get(f"/v1/classes/east-5-1/evenings/{NIGHT}").json()
    mine = next(s for s in evening["students"] if s["student_id"] == world.student)
    other = next(s for s in evening["students"] if s["student_id"] == world.other_student)
    assert mine["exempt"] and mine["reserved_minutes"] == {} and mine["planned_minutes"] == {}
    assert sum(other["planned_minutes"].values()) > 0  # the others' evenings still count

    notice = head_teacher.get("/v1/classes/east-5-1/notice", params={"week_of": str(NIGHT)}).json()
    day = next(d for d in notice["days"] if d["night"] == str(NIGHT))
    r = parent.delete(exemptions, params={"night": str(NIGHT)})
    assert r.status_code == 409 and "today" in r.text  # NIGHT is long past: undone only that evening
    with world.engine.connect() as conn:  # the notice without the excuse: this student's minutes count again
        conn.execute(t.exemptions.delete().where(t.exemptions.c.student_id == world.student))
        conn.commit()
    unexcused = head_teacher.get("/v1/classes/east-5-1/notice", params={"week_of": str(NIGHT)}).json()
    day_with = next(d for d in unexcused["days"] if d["night"] == str(NIGHT))
    assert day_with["total_minutes"] > day["total_minutes"]

    today = school_today("Asia/Shanghai", datetime.now(UTC))
    assert parent.post(exemptions, json={"night": str(today), "note": "太累"}).status_code == 201
    url = f"/v1/students/{world.student}/tonight"
    assert student.get(url).json()["excused"] is True
    assert student.delete(exemptions, params={"night": str(today)}).status_code == 403  # a parent's to undo
    r = parent.delete(exemptions, params={"night": str(today)})
    assert r.status_code == 200 and r.json()["excused"] is False and r.json()["recorded"] is True
    assert student.get(url).json()["excused"] is False


def test_an_evening_whose_time_is_up_stops_with_what_is_left_censored_not_wrong(
    world: World, teacher: Caller, student: Caller, parent: Caller
) -> None:
    _publish(teacher)
    tonight = student.get(f"/v1/students/{world.student}/tonight", params={"night": str(NIGHT)}).json()
    first = tonight["items"][0]["item_id"]
    r = student.post(f"/v1/students/{world.student}/attempts",
                     json={"attempts": [_answer("before-stop", first, correct=True)]})  # fmt: skip
    assert r.status_code == 200
    with world.engine.connect() as conn:
        book_before = conn.execute(
            select(func.count()).where(t.error_book.c.student_id == world.student)
        ).scalar_one()
    stops = f"/v1/students/{world.student}/evening-stops"
    r = parent.post(stops, json={"night": str(NIGHT)})  # NIGHT's bedtime is long past
    assert r.status_code == 201, r.text
    stop = r.json()
    assert stop["reason"] == "bedtime" and stop["recorded"] is True
    assert first not in stop["items_left"] and len(stop["items_left"]) == len(tonight["items"]) - 1
    again = student.post(stops, json={"night": str(NIGHT)}).json()
    assert again["recorded"] is False and again["items_left"] == sorted(stop["items_left"])  # once
    with world.engine.connect() as conn:
        outs = conn.execute(
            select(t.time_outs.c.item_id, t.time_outs.c.censored).where(
                t.time_outs.c.student_id == world.student
            )
        ).all()
        book_after = conn.execute(
            select(func.count()).where(t.error_book.c.student_id == world.student)
        ).scalar_one()
        tonight_answers = conn.execute(
            select(t.attempts.c.item_id).where(
                t.attempts.c.student_id == world.student, t.attempts.c.night == NIGHT
            )
        ).all()
    assert sorted(i for i, _ in outs) == sorted(stop["items_left"]) and all(c for _, c in outs)
    assert book_after == book_before and [tuple(r) for r in tonight_answers] == [
        (first,)
    ]  # never counted against the student
    after = student.get(f"/v1/students/{world.student}/tonight", params={"night": str(NIGHT)}).json()
    assert after["stopped"] == "bedtime"
    assert {i["item_id"] for i in after["items"] if i["timed_out"]} == set(stop["items_left"])

    teacher_stop = teacher.post(stops, json={"night": str(NIGHT)})
    assert teacher_stop.status_code == 403


def test_the_error_book_is_grouped_by_subject_and_point_with_questions_own_grade_and_subjects_only(
    world: World, student: Caller, teacher: Caller, head_teacher: Caller
) -> None:
    with world.engine.connect() as conn:
        higher = conn.execute(
            select(t.items.c.item_id).where(t.items.c.grade == 8, t.items.c.subject == "math").limit(1)
        ).scalar_one()
        mine = conn.execute(
            select(t.items.c.item_id)
            .where(t.items.c.grade == 5, t.items.c.subject == "math", t.items.c.kind == "written")
            .order_by(t.items.c.item_id)
            .limit(1)
        ).scalar_one()
    wrong = [_answer("book-1", higher, correct=False), _answer("book-2", mine, correct=False)]
    assert student.post(f"/v1/students/{world.student}/attempts", json={"attempts": wrong}).status_code == 200
    flat = {e["item_id"] for e in student.get(f"/v1/students/{world.student}/error-book").json()}
    assert {higher, mine} <= flat  # the setup: both are in the book

    r = student.get(f"/v1/students/{world.student}/error-book/points")
    assert r.status_code == 200, r.text
    book = r.json()
    entries = {
        e["item_id"]: (s["subject"], p, e)
        for s in book["subjects"]
        for p in s["points"]
        for e in p["entries"]
    }
    assert mine in entries and higher not in entries  # another grade's item is left out
    with world.engine.connect() as conn:
        names = dict(conn.execute(select(t.knowledge_points.c.kp_id, t.knowledge_points.c.name)).all())
        stems = dict(conn.execute(select(t.items.c.item_id, t.items.c.stem)).all())
        grades = dict(conn.execute(select(t.items.c.item_id, t.items.c.grade)).all())
    subject, point, entry = entries[mine]
    assert subject == "math" and point["name"] == names[point["kp_id"]] != point["kp_id"]
    assert entry["stem"] == stems[mine] and entry["right_since"] is None
    assert all(grades[i] == 5 for i in entries) and book["open_entries"] >= 1

    english = world.sign_in("t-english").get(f"/v1/students/{world.student}/error-book/points").json()
    assert {s["subject"] for s in english["subjects"]} <= {"english"}  # a subject teacher: their subject
    assert mine in str(head_teacher.get(f"/v1/students/{world.student}/error-book/points").json())

    right = _answer("book-3", mine, correct=True, submitted_at=f"{NIGHT}T20:00:00+08:00")
    assert (
        student.post(f"/v1/students/{world.student}/attempts", json={"attempts": [right]}).status_code == 200
    )
    after = student.get(f"/v1/students/{world.student}/error-book/points").json()
    again = {e["item_id"]: e for s in after["subjects"] for p in s["points"] for e in p["entries"]}
    assert again[mine]["right_since"] is not None  # a record: right since, kept on the page
    open_only = student.get(
        f"/v1/students/{world.student}/error-book/points", params={"include_resolved": "false"}
    )
    assert mine not in str(open_only.json())
