"""Scanned worksheets (issue 16) without HTTP: the QR code's keyed check refuses forged and
other students' pages; a class's marked sheets, printed by the service's PDF and scanned (benchmarks.
scan_gen: real pages, pens, rotation, blur, a blank and a foreign page), read end to end into the
database — paper attempts, error-book entries, the evening's time — and a rescan stores nothing twice;
an unclear box waits in the review queue with its crop and one answer settles it; a changed mark on
a rescan is held as a correction until the teacher confirms it."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
from sqlalchemy import Engine, func, insert, select

from benchmarks.scan_gen import PrintedPage, _draw_mark, make_scans, mark_page, printed_pages, render
from service import plans, scans
from service.errors import NotFound
from service.scanning import layout as L
from service.scanning.sheets import SheetCodeError, encode, parse, verify
from service.settings import Settings
from service.store import tables as t
from service.web.pdf import worksheets_pdf
from tests.conftest import school_of_own

CLASS = "east-5-1"
NIGHT = date(2026, 11, 10)

NOW = datetime(2026, 11, 11, 8, 0, tzinfo=UTC)
KEY = "sheet-key-for-tests-" + "x" * 24


def test_a_code_made_without_the_key_or_for_another_student_is_refused() -> None:
    items = ["math-g5-01-001", "math-g5-01-002"]
    text = encode(key=KEY, kind="p", ref="plan-aaaa", page=1, pages=2, item_ids=items)
    verify(parse(text), key=KEY, item_ids=items)  # the genuine page
    with pytest.raises(SheetCodeError):  # forged: made with another key
        verify(parse(encode(key="forger" * 8, kind="p", ref="plan-aaaa", page=1, pages=2, item_ids=items)),
               key=KEY, item_ids=items)  # fmt: skip
    with pytest.raises(SheetCodeError):  # copied for another student: the plan id changed by hand
        verify(parse(text.replace("plan-aaaa", "plan-bbbb")), key=KEY, item_ids=items)
    with pytest.raises(SheetCodeError):  # the page number changed by hand
        verify(parse(text.replace(".1.2.", ".2.2.")), key=KEY, item_ids=items)
    with pytest.raises(SheetCodeError):  # the set changed after printing
        verify(parse(text), key=KEY, item_ids=items[:1])
    with pytest.raises(SheetCodeError):
        parse("https://example.org/notice")


@pytest.fixture
def school(request: pytest.FixtureRequest, samples_sqlite: str, tmp_path: Path) -> Iterator[Engine]:
    """The sample school in a SQLite file of the test's own."""
    engine = school_of_own(request, "sqlite", samples_sqlite, tmp_path)
    try:
        yield engine
    finally:
        engine.dispose()


def _sheets(engine: Engine, students: int) -> list[dict[str, Any]]:
    """Published maths sets for the first students of the class (nine grade-5 items each, of every
    kind, as a teacher might set by hand), as the worksheet page prints them."""
    with engine.begin() as conn:
        who = conn.execute(select(t.students.c.student_id).where(t.students.c.class_id == CLASS)
                           .order_by(t.students.c.student_id).limit(students)).scalars().all()  # fmt: skip
        pool = conn.execute(select(t.items.c.item_id, t.items.c.kind).where(t.items.c.grade == 5, t.items.c.subject == "math")
                            .order_by(t.items.c.item_id)).all()  # fmt: skip
        written = [i.item_id for i in pool if i.kind == "written"]
        other = [i.item_id for i in pool if i.kind != "written"]
        ids = []
        for k, student in enumerate(who):
            plan_id = f"plan-scan-test-{k:03d}"
            chosen = written[k * 6 : k * 6 + 6] + other[k * 3 : k * 3 + 3]
            conn.execute(insert(t.plans).values(plan_id=plan_id, student_id=student, night=NIGHT, subject="math",
                                                teacher_id="t-math", status="published", model_version="test",
                                                typical_minutes=27.0, conservative_minutes=35.0, created_at=NOW))  # fmt: skip
            conn.execute(insert(t.plan_items), [
                {"plan_id": plan_id, "item_id": item, "tier": "basic", "position": n, "typical_minutes": 3.0,
                 "reason_zh": "巩固", "reason_en": "practice"} for n, item in enumerate(chosen)])  # fmt: skip
            ids.append(plan_id)
    return [p for plan_id in ids for p in plans.worksheet_pages(db=engine, night=NIGHT, plan_id=plan_id)]


def _pdf(sheets: list[dict[str, Any]], key: str = KEY) -> tuple[bytes, list[PrintedPage], dict[str, str]]:
    settings = Settings()
    pdf = worksheets_pdf(
        {"pages": sheets, "night": NIGHT}, "zh", settings.pdf_font, settings.pdf_cjk_font, key
    )
    return pdf, *printed_pages(sheets)


def _paper(engine: Engine) -> list[Any]:
    """The attempts scans stored (the samples hold paper attempts of their own, with other ids)."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(t.attempts).where(
                    t.attempts.c.source == "paper", t.attempts.c.event_id.like("paper-%")
                )
            ).all()
        )


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_marked_scans_become_attempts_error_book_and_evening_time_and_a_rescan_stores_nothing_twice(
    school: Engine, tmp_path: Path
) -> None:
    sheets = _sheets(school, 3)
    pdf, printed, kinds = _pdf(sheets)
    files, truths = make_scans(pdf, printed, kinds, tmp_path / "scan", condition="flatbed_300dpi", seed=3)
    student_of = {f"{s['sheet'][0]}.{s['sheet'][1]}": s["student_id"] for s in sheets}

    summary = scans.import_scans(db=school, key=KEY, paths=files, by="t-math", now=NOW)

    assert summary.pages == len(printed) + 2
    assert sorted(u["source"] for u in summary.unreadable) == sorted(
        x["source"] for x in truths if x["sheet"] in ("blank", "foreign"))  # fmt: skip
    assert summary.pages_read == len(printed)
    marks = {(s, i): m for x in truths if x["sheet"] not in ("blank", "foreign") for i, m in x["marks"].items()
             for s in [x["sheet"]]}  # fmt: skip
    paper = _paper(school)
    # every attempt stored is what the teacher marked: right is correct, wrong and half are not
    by_item = {(r.student_id, r.item_id): r for r in paper}
    for (sheet, item), mark in marks.items():
        found = by_item.get((student_of[sheet], item))
        if found is not None:
            assert mark in ("right", "wrong", "half")
            assert (
                found.correct == (mark == "right")
                and found.score == {"right": 1.0, "half": 0.5, "wrong": 0.0}[mark]
            )
            assert found.night == NIGHT
    answered = sum(1 for m in marks.values() if m != "not_done")
    assert summary.attempts_stored == len(paper) and len(paper) + summary.to_review >= answered
    assert len(paper) >= 0.9 * answered  # a clean 300 dpi scan: nearly every box is certain
    # a wrong (or half-right) paper answer opens an error-book entry, as the app's do (R1, grade 5)
    with school.connect() as conn:
        book = {(r.student_id, r.item_id) for r in conn.execute(
            select(t.error_book.c.student_id, t.error_book.c.item_id).where(t.error_book.c.resolved_at.is_(None)))}  # fmt: skip
        reports = dict(
            ((r.student_id, r.night), r.minutes) for r in conn.execute(select(t.evening_reports)).all()
        )  # fmt: skip
    assert {(r.student_id, r.item_id) for r in paper if not r.correct} <= book
    assert summary.error_book_opened >= 1
    # the evening's time is the minutes written on the sheet (R4)
    times = {student_of[x["sheet"]]: x["minutes"] for x in truths if x.get("minutes") is not None}
    assert summary.evening_reports >= 1
    for student, minutes in times.items():
        if (student, NIGHT) in reports:
            assert reports[(student, NIGHT)] == minutes

    before = (
        _count(school, t.attempts),
        _count(school, t.error_book),
        _count(school, t.scan_reviews),
    )
    again = scans.import_scans(db=school, key=KEY, paths=files, by="t-math", now=NOW)
    assert again.attempts_stored == 0 and again.corrections == 0 and again.times_stored == 0
    assert (
        _count(school, t.attempts),
        _count(school, t.error_book),
        _count(school, t.scan_reviews),
    ) == before


def test_a_forged_page_is_refused_and_nothing_of_it_is_stored(school: Engine, tmp_path: Path) -> None:
    sheets = _sheets(school, 1)
    pdf, printed, kinds = _pdf(sheets, key="a-forger-s-own-key-" + "f" * 20)
    files, _ = make_scans(pdf, printed, kinds, tmp_path / "forged", condition="flatbed_300dpi", seed=5,
                          extra_pages=False)  # fmt: skip
    summary = scans.import_scans(db=school, key=KEY, paths=files, by="t-math", now=NOW)
    assert summary.pages_read == 0 and len(summary.unreadable) == len(printed)
    assert all("check fails" in u["problem"] and "校验失败" in u["problem_zh"] for u in summary.unreadable)
    assert _paper(school) == [] and _count(school, t.scan_reviews) == 0


def _scan(img: Any, path: Path) -> Path:
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return path


def test_an_unclear_box_waits_for_one_click_and_a_changed_mark_waits_as_a_correction(
    school: Engine, tmp_path: Path
) -> None:
    sheet = _sheets(school, 1)[:1]
    pdf, printed, _ = _pdf(sheet)
    page = printed[0].layout
    first, second = page.slots[0], page.slots[1]
    dpi, s = 200, 200 / 25.4
    rng = random.Random(7)

    def marked(first_marks: list[str], second_mark: str) -> Any:
        img = render(pdf, dpi)[0]
        for m in first_marks:
            _draw_mark(img, rng, first.marks[m], "fill", s)
        _draw_mark(img, rng, second.marks[second_mark], "fill", s)
        return img

    # item 1 has two boxes filled: nothing is guessed, it waits for the teacher
    one = scans.import_scans(db=school, key=KEY, paths=[_scan(marked(["right", "wrong"], "right"), tmp_path / "a.jpg")],
                             by="t-math", now=NOW)  # fmt: skip
    assert one.pages_read == 1 and one.attempts_stored == 1 and one.to_review >= 1
    queue = scans.reviews(db=school, class_ids=[CLASS])
    box = next(r for r in queue if r["kind"] == "box" and r["item_id"] == first.item_id)
    assert box["name"] and box["stem"] and box["number"] == 1 and "right" in box["choices"]
    crop, class_id = scans.review_crop(db=school, review_id=box["review_id"])
    assert crop.startswith(b"\x89PNG") and class_id == CLASS
    assert scans.reviews(db=school, class_ids=["east-5-2"]) == []  # another class's teacher sees none of it

    scans.resolve(db=school, review_id=box["review_id"], answer="wrong", by="t-math", now=NOW)
    stored = {r.item_id: r for r in _paper(school)}
    assert stored[first.item_id].correct is False and stored[second.item_id].correct is True
    with school.connect() as conn:
        assert conn.execute(
            select(t.error_book.c.entry_id).where(t.error_book.c.item_id == first.item_id)
        ).first()
    assert all(r["review_id"] != box["review_id"] for r in scans.reviews(db=school, class_ids=[CLASS]))

    # a rescan where item 2 now reads wrong: stored nothing, held as a correction
    two = scans.import_scans(db=school, key=KEY, paths=[_scan(marked(["wrong"], "wrong"), tmp_path / "b.jpg")],
                             by="t-math", now=NOW)  # fmt: skip
    assert two.attempts_stored == 0 and two.corrections == 1
    assert len(_paper(school)) == 2
    correction = next(r for r in scans.reviews(db=school, class_ids=[CLASS]) if r["kind"] == "correction")
    assert (correction["item_id"], correction["stored_mark"], correction["read_mark"]) == (
        second.item_id,
        "right",
        "wrong",
    )
    scans.resolve(db=school, review_id=correction["review_id"], answer="confirm", by="t-math", now=NOW)
    latest = [r for r in _paper(school) if r.item_id == second.item_id]
    assert [r.correct for r in latest] == [False]  # the misread answer replaced by the corrected one
    with school.connect() as conn:
        assert conn.execute(
            select(t.scan_marks.c.mark, t.scan_marks.c.event_id).where(t.scan_marks.c.item_id == second.item_id)
        ).one() == ("wrong", latest[0].event_id)  # fmt: skip
    with pytest.raises(NotFound):
        scans.resolve(db=school, review_id="rv-none", answer="right", by="t-math", now=NOW)
    again = scans.resolve(db=school, review_id=box["review_id"], answer="right", by="t-math", now=NOW)
    assert again["already"] and len(_paper(school)) == 2  # a second click changes nothing


def test_marking_a_page_draws_where_the_layout_reads() -> None:
    """The generator's truth and the reader agree on a clean page (no database): a guard on the
    layout being the one source for drawing and reading."""
    from service.scanning import read as R

    items = [
        L.SheetItem(f"i-{k}", "written" if k % 2 else "oral", "计算：" + "12 + 30 = ？" * (k % 3 + 1))
        for k in range(9)
    ]
    pages = L.paginate(items)
    assert len(pages) >= 2 and pages[-1].time is not None and all(p.time is None for p in pages[:-1])
    s = R.PX_PER_MM
    for page in pages:
        img = np.full((int(L.PAGE_H * s), int(L.PAGE_W * s), 3), 255, np.uint8)
        for slot in page.slots:  # the printed borders, as the PDF draws them (0.3 mm)
            for b in slot.marks.values():
                cv2.rectangle(img, (round(b.x * s), round(b.y * s)), (round((b.x + b.w) * s), round((b.y + b.h) * s)),
                              (0, 0, 0), 2)  # fmt: skip
        truth = mark_page(img, random.Random(page.page), page, {i.item_id: i.kind for i in items}, s * 25.4)
        grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        reads = [R.read_slot(grey, slot, R.Thresholds()) for slot in page.slots]
        assert all(r.certain and r.mark == truth["marks"][r.item_id] for r in reads)
        if page.time is not None:
            time = R.read_time(grey, page.time, R.Thresholds())
            assert time.certain and time.minutes == truth["minutes"]


def _one_page(school: Engine, tmp_path: Path) -> tuple[Any, Any, Callable[[str, str, str], Path]]:
    """One student's sheet (its first page's layout) and a scanner of it marked as asked."""
    sheet = _sheets(school, 1)[:1]
    pdf, printed, _ = _pdf(sheet)
    page = printed[0].layout
    rng = random.Random(11)

    def scanned(first_mark: str, second_mark: str, name: str) -> Path:
        img = render(pdf, 200)[0]
        _draw_mark(img, rng, page.slots[0].marks[first_mark], "fill", 200 / 25.4)
        _draw_mark(img, rng, page.slots[1].marks[second_mark], "fill", 200 / 25.4)
        return _scan(img, tmp_path / name)

    return sheet[0], page, scanned


def test_a_confirmed_correction_replaces_the_misread_attempt_and_the_entry_it_opened(
    school: Engine, tmp_path: Path
) -> None:
    """Wrong read first, right on the rescan, confirmed: one attempt (right) is left, and the error-book
    entry the misread wrong answer opened is gone (it had no other cause), in one transaction."""
    sheet, page, scanned = _one_page(school, tmp_path)
    item = page.slots[0].item_id
    first = scans.import_scans(
        db=school, key=KEY, paths=[scanned("wrong", "right", "a.jpg")], by="t-math", now=NOW
    )
    assert first.attempts_stored == 2
    (old,) = [r for r in _paper(school) if r.item_id == item]
    assert old.correct is False
    with school.connect() as conn:
        opened = conn.execute(
            select(t.error_book.c.entry_id).where(t.error_book.c.event_id == old.event_id)
        ).all()
    assert len(opened) == 1  # the wrong paper answer opened an entry (R1, grade 5)

    later = datetime(2026, 11, 12, 8, 0, tzinfo=UTC)
    rescan = scans.import_scans(
        db=school, key=KEY, paths=[scanned("right", "right", "b.jpg")], by="t-math", now=later
    )
    assert rescan.corrections == 1 and len(_paper(school)) == 2  # nothing changed yet
    correction = next(r for r in scans.reviews(db=school, class_ids=[CLASS]) if r["kind"] == "correction")
    scans.resolve(db=school, review_id=correction["review_id"], answer="confirm", by="t-math", now=later)

    (now_stored,) = [r for r in _paper(school) if r.item_id == item]
    assert now_stored.correct is True and now_stored.event_id != old.event_id
    with school.connect() as conn:
        assert conn.execute(select(t.attempts).where(t.attempts.c.event_id == old.event_id)).first() is None
        assert (
            conn.execute(select(t.error_book).where(t.error_book.c.entry_id == opened[0].entry_id)).first()
            is None
        )
        assert conn.execute(
            select(t.scan_marks.c.mark, t.scan_marks.c.event_id).where(t.scan_marks.c.item_id == item)
        ).one() == ("right", now_stored.event_id)  # fmt: skip
    assert sheet["student_id"] == now_stored.student_id


def test_two_clicks_at_once_on_one_review_store_it_once(school: Engine, tmp_path: Path) -> None:
    """A double click: both requests read the review open at the same moment; one settles it, the
    other answers `already`, and the box is stored once (no error from the second)."""
    sheet = _sheets(school, 1)[:1]
    pdf, printed, _ = _pdf(sheet)
    page = printed[0].layout
    img, rng = render(pdf, 200)[0], random.Random(5)
    for slot in page.slots:  # every box unclear: two marks filled
        for mark in ("right", "wrong"):
            _draw_mark(img, rng, slot.marks[mark], "fill", 200 / 25.4)
    found = scans.import_scans(
        db=school, key=KEY, paths=[_scan(img, tmp_path / "a.jpg")], by="t-math", now=NOW
    )
    boxes = [r for r in scans.reviews(db=school, class_ids=[CLASS]) if r["kind"] == "box"]
    assert found.attempts_stored == 0 and len(boxes) == len(page.slots)

    def twice(review_id: str) -> list[Any]:
        barrier, answers = threading.Barrier(2), list[Any]()

        def click() -> None:
            barrier.wait()
            try:
                answers.append(
                    scans.resolve(db=school, review_id=review_id, answer="wrong", by="t-math", now=NOW)
                )
            except Exception as e:
                answers.append(e)

        threads = [threading.Thread(target=click) for _ in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return answers

    for box in boxes:
        answers = twice(box["review_id"])
        assert all(isinstance(a, dict) for a in answers), answers
        assert sorted(a["already"] for a in answers) == [False, True]
        assert len([r for r in _paper(school) if r.item_id == box["item_id"]]) == 1


def test_a_time_review_is_shown_to_and_settled_by_those_who_mark_every_subject_on_the_sheet(
    school: Engine,
) -> None:
    """The minutes on a maths sheet: its maths teacher and the head teacher see and settle them; the
    class's Chinese teacher neither sees nor may settle them (a 404, as for any review not theirs)."""
    from service.auth import Principal

    (sheet,) = _sheets(school, 1)
    with school.begin() as conn:
        conn.execute(insert(t.scan_reviews).values(
            review_id="rv-time-1", kind="time", sheet=f"{sheet['sheet'][0]}.{sheet['sheet'][1]}", item_id=None,
            student_id=sheet["student_id"], class_id=CLASS, subject="", night=NIGHT, number=0,
            fills={"tens": [], "units": []}, crop=b"\x89PNG", created_at=NOW, read_mark=None, stored_mark=None))  # fmt: skip

    def who(name: str, role: str, subject: str) -> Principal:
        return Principal(user_id=name, username=name, role=role, classes={CLASS: frozenset({subject})})

    def sees(p: Principal) -> bool:
        classes, subjects = scans.review_scope(db=school, who=p)
        return any(
            r["review_id"] == "rv-time-1"
            for r in scans.reviews(db=school, class_ids=classes, subjects=subjects)
        )

    maths, chinese, head = (
        who("t-m", "teacher", "math"),
        who("t-c", "teacher", "chinese"),
        who("h", "head_teacher", ""),
    )
    assert sees(maths) and sees(head) and not sees(chinese)
    with pytest.raises(NotFound):
        scans.may_review(db=school, who=chinese, review_id="rv-time-1")
    scans.may_review(db=school, who=head, review_id="rv-time-1")
    scans.may_review(db=school, who=maths, review_id="rv-time-1")  # no 404 in their own queue
    done = scans.resolve(db=school, review_id="rv-time-1", answer="25", by="t-m", now=NOW)
    assert done["already"] is False


def test_one_scan_import_at_a_time_per_school_whoever_starts_it(school: Engine, tmp_path: Path) -> None:
    """Two markers of one school importing the same pile: the second waits (Conflict naming the
    first job) instead of storing the same sheets side by side."""
    from service.auth import Principal
    from service.errors import Conflict
    from service.jobs import JobRunner

    with school.connect() as conn:
        other = conn.execute(select(t.classes.c.class_id).where(
            t.classes.c.school_id == select(t.classes.c.school_id).where(t.classes.c.class_id == CLASS).scalar_subquery(),
            t.classes.c.class_id != CLASS).limit(1)).scalar_one()  # fmt: skip
    runner = JobRunner(school, tmp_path / "jobs")
    first = scans.begin_scan(
        jobs=runner, db=school, who=Principal("u-1", "u-1", "teacher", classes={CLASS: frozenset({"math"})})
    )
    with pytest.raises(Conflict) as refused:
        scans.begin_scan(
            jobs=runner,
            db=school,
            who=Principal("u-2", "u-2", "teacher", classes={other: frozenset({"math"})}),
        )
    assert refused.value.extra["job_id"] == first.job_id


def test_withdrawing_a_right_answer_opens_again_the_entry_it_resolved(school: Engine) -> None:
    """The other half of undoing a misread answer (service.store.attempts.withdraw_answer): a right
    answer that resolved an error-book entry is taken back, so the entry is open again; taking back
    the wrong answer that opened it then removes it (nothing else caused it)."""
    from service.store.attempts import Answer, record_answers, withdraw_answer
    from service.store.db import writing

    with school.connect() as conn:
        student = conn.execute(
            select(t.students.c.student_id).where(t.students.c.class_id == CLASS).limit(1)
        ).scalar_one()
        booked = select(t.error_book.c.item_id).where(t.error_book.c.student_id == student)
        item = conn.execute(select(t.items.c.item_id).where(t.items.c.grade == 5, t.items.c.item_id.not_in(booked))
                            .order_by(t.items.c.item_id.desc()).limit(1)).scalar_one()  # fmt: skip
    wrong_at, right_at = datetime(2026, 11, 20, 19, 0, tzinfo=UTC), datetime(2026, 11, 21, 19, 0, tzinfo=UTC)
    record_answers(school, student, [Answer("ev-w", item, NIGHT, wrong_at, False, None, 0.0, "app")])
    record_answers(school, student, [Answer("ev-r", item, NIGHT, right_at, True, None, 1.0, "paper")])

    def entry() -> Any:
        with school.connect() as conn:
            return conn.execute(select(t.error_book).where(t.error_book.c.event_id == "ev-w")).first()

    assert entry().resolved_at == right_at
    with writing(school) as conn:
        assert withdraw_answer(conn, "ev-r")
    assert entry().resolved_at is None  # open again: the right answer was never given
    with writing(school) as conn:
        assert withdraw_answer(conn, "ev-w") and not withdraw_answer(conn, "ev-none")
    assert entry() is None


def test_a_scanner_s_pages_are_read_from_their_jpeg_as_from_rendering(
    school: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scanner's PDF page (one JPEG covering the page) is decoded straight from the PDF, not rendered
    (the reader's speed): the page image is the rendered one's size, and every page reads the same."""
    from service.scanning import read as R

    sheets = _sheets(school, 2)
    pdf, printed, kinds = _pdf(sheets)
    files, truths = make_scans(pdf, printed, kinds, tmp_path / "scan", condition="flatbed_300dpi", seed=9)
    document = pdfium.PdfDocument(str(files[0]))
    direct = R._scanned_jpeg(document[0], R.RENDER_DPI)
    rendered = document[0].render(scale=R.RENDER_DPI / 72, grayscale=True).to_numpy()
    document.close()
    assert direct is not None and direct.shape == rendered.shape[:2]
    assert R._scanned_jpeg(pdfium.PdfDocument(pdf)[0], R.RENDER_DPI) is None  # a printed page is rendered

    def read() -> list[Any]:
        pages = scans.read_files(files, scans.Sheets(school, KEY, scans.MAY_ALL))
        return [(p.source, p.ok, p.code, [(b.item_id, b.mark, b.certain) for b in p.boxes],
                 p.time and (p.time.minutes, p.time.certain)) for p in pages]  # fmt: skip

    fast = read()
    monkeypatch.setattr(R, "_scanned_jpeg", lambda page, dpi: None)
    assert read() == fast
    assert sum(1 for f in fast if f[1]) == len(printed) == len(truths) - 2
