"""Scanned worksheets coming back (issue 16, C8: everything set is marked and fed back).

`import_scans` reads a pile of scans (multi-page PDFs from a school scanner, phone photos) page by
page (service.scanning.read, pure) and stores what is certain:
- each certain mark once per sheet and item (`scan_marks`): right / wrong / half-right become
  attempts with source "paper" (an event id made from the sheet and item, so a page scanned twice
  stores once), through the same code as the app's answers (service.store.attempts: a wrong one opens
  an error-book entry, R1); "not done" is remembered, not an attempt;
- a rescan that reads another mark than the one stored changes nothing: it waits in the review queue
  as a correction for the teacher to confirm;
- the minutes written in the time bubbles, per sheet; the student's evening report (R4) is the sum
  of their sheets' minutes that night (service.evenings.report_evening, archived like any report).
Nothing uncertain is guessed: an unclear box or time goes to the review queue (`scan_reviews`, with
the crop of the boxes as scanned); a page that cannot be read (no code, a forged or other student's
code, a torn corner, the same page twice with different marks) is listed with its place in the upload
and nothing of it is stored.

`reviews` lists a teacher's open queue; `resolve` settles one box with one click.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from service import evenings
from service.errors import Invalid, NotFound
from service.scanning import layout as L
from service.scanning import read as R
from service.scanning.sheets import SheetCode, SheetCodeError, verify
from service.store import tables as t
from service.store.attempts import Answer, record_answers, store_answers, withdraw_answer
from service.store.db import writing

SCORES = {"right": 1.0, "half": 0.5, "wrong": 0.0}
MAY_ALL: Callable[[str, str], bool] = lambda class_id, subject: True  # noqa: E731


@dataclass(frozen=True)
class Sheet:
    """A printed sheet as the database says it is now: whose, which night, its pages."""

    sheet: str
    student_id: str
    name: str
    class_id: str
    night: date
    subjects: dict[str, str]  # item -> subject
    pages: list[L.PageLayout]


@dataclass
class ScanSummary:
    pages: int = 0
    pages_read: int = 0
    unreadable: list[dict[str, str]] = field(default_factory=list)
    boxes: int = 0
    certain: int = 0
    attempts_stored: int = 0
    already_stored: int = 0
    not_done: int = 0
    error_book_opened: int = 0
    error_book_resolved: int = 0
    corrections: int = 0
    to_review: int = 0
    times_stored: int = 0
    evening_reports: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON values (a job's result is stored as JSON)."""
        return {k: (v if isinstance(v, list) else int(v)) for k, v in self.__dict__.items()}


class Sheets:
    """Sheets looked up once per upload, each page's code checked against the key and the items."""

    def __init__(self, db: Engine, key: str, may: Callable[[str, str], bool]) -> None:
        self.db, self.key, self.may = db, key, may
        self.found: dict[str, Sheet | None] = {}

    def sheet(self, code: SheetCode) -> Sheet:
        if code.sheet not in self.found:
            self.found[code.sheet] = self._load(code)
        sheet = self.found[code.sheet]
        if sheet is None:
            raise SheetCodeError(
                "the QR code names no handed-out set (discarded, deleted, or not this school's)",
                "二维码对应的作业不存在（已作废、已删除或不属于本校）",
            )
        return sheet

    def _load(self, code: SheetCode) -> Sheet | None:
        from service import plans  # the worksheet's own items, in its printed order

        with self.db.connect() as conn:
            row = conn.execute(
                select(t.plans.c.student_id, t.plans.c.night, t.students.c.class_id)
                .join(t.students, t.students.c.student_id == t.plans.c.student_id)
                .where(t.plans.c.plan_id == code.ref)
            ).first()
        if row is None:
            return None
        if code.kind == "p":
            pages = plans.worksheet_pages(db=self.db, night=row.night, plan_id=code.ref)
        else:
            pages = plans.worksheet_pages(db=self.db, night=row.night, student_id=row.student_id)
        if len(pages) != 1 or pages[0]["sheet"] != (code.kind, code.ref):
            return None
        page = pages[0]
        items = [L.SheetItem(i["item_id"], i["kind"], i["stem"]) for i in page["items"]]
        return Sheet(code.sheet, row.student_id, page["name"], row.class_id, row.night,
                     {i["item_id"]: i["subject"] for i in page["items"]}, L.paginate(items))  # fmt: skip

    def layout_of(self, code: SheetCode) -> L.PageLayout:
        sheet = self.sheet(code)
        if code.page > len(sheet.pages) or code.pages != len(sheet.pages):
            raise SheetCodeError(
                "the sheet's pages have changed since it was printed", "作业单打印后页数已改变"
            )
        page = sheet.pages[code.page - 1]
        verify(code, key=self.key, item_ids=page.item_ids)
        if not all(self.may(sheet.class_id, s) for s in set(sheet.subjects.values())):
            raise SheetCodeError(
                f"this sheet is of class {sheet.class_id}, which this account does not mark",
                f"这张作业单属于 {sheet.class_id}，不是本账号批改的班级或学科",
            )
        return page


def read_files(
    paths: Sequence[Path], sheets: Sheets, *, progress: Callable[[int, int], None] | None = None,
    thresholds: R.Thresholds = R.Thresholds(),
) -> list[R.PageRead]:  # fmt: skip
    """Every page of every file, read (not stored)."""
    found: list[R.PageRead] = []
    for path in paths:
        for source, grey in R.page_images(path):
            found.append(R.read_page(grey, source=source, layout_of=sheets.layout_of, thresholds=thresholds))
            if progress is not None:
                progress(len(found), 0)
    return found


def import_scans(
    *, db: Engine, key: str, paths: Sequence[Path], by: str, now: datetime,
    may: Callable[[str, str], bool] = MAY_ALL, progress: Callable[[dict[str, Any]], None] | None = None,
    thresholds: R.Thresholds = R.Thresholds(),
) -> ScanSummary:  # fmt: skip
    """Read the pages of `paths` and store what is certain (see the module docstring). `by`: the
    account importing (recorded on evening reports and reviews); `may(class_id, subject)`: whether it
    marks that class's subject (a page of another is refused, listed and not stored)."""
    if now.tzinfo is None:
        raise Invalid("now needs a UTC offset", "now 需要带时区")
    for path in paths:
        if not path.is_file():
            raise Invalid(f"{path}: no such file", f"{path}：文件不存在")
    sheets = Sheets(db, key, may)
    tell = progress or (lambda counters: None)
    pages = read_files(paths, sheets, thresholds=thresholds,
                       progress=lambda n, _: tell({"phase": "reading", "pages_read": n}))  # fmt: skip
    summary = ScanSummary(pages=len(pages))
    by_page: dict[tuple[str, int], list[R.PageRead]] = {}
    for page in pages:
        if page.ok and page.code is not None:
            by_page.setdefault((page.code.sheet, page.code.page), []).append(page)
        else:
            summary.unreadable.append(
                {"source": page.source, "problem": page.problem_en, "problem_zh": page.problem_zh}
            )
    for (sheet_id, number), same in by_page.items():
        if len({tuple((b.item_id, b.mark, b.certain) for b in p.boxes) for p in same}) > 1:
            for p in same:  # two different copies of one page: a photocopy for another student?
                summary.unreadable.append({
                    "source": p.source,
                    "problem": f"page {number} of sheet {sheet_id} is in the upload more than once with "
                    "different marks (a copy?): none of them is stored",
                    "problem_zh": f"作业单 {sheet_id} 第 {number} 页在本次上传中出现多次且批改不同（复印件？）：都不保存",
                })  # fmt: skip
            continue
        _store_page(db, sheets, same[0], summary, by=by, now=now)
        summary.pages_read += 1
        tell({"phase": "storing", "pages_read": len(pages), "pages_stored": summary.pages_read})
    summary.unreadable.sort(key=lambda u: u["source"])
    return summary


def _event_id(sheet: str, item_id: str, n: int = 0) -> str:
    digest = hashlib.sha256(f"{sheet}|{item_id}|{n}".encode()).hexdigest()[:32]
    return f"paper-{digest}"


def _store_page(
    db: Engine, sheets: Sheets, page: R.PageRead, summary: ScanSummary, *, by: str, now: datetime
) -> None:
    assert page.code is not None
    sheet = sheets.sheet(page.code)
    with db.connect() as conn:
        stored = dict(conn.execute(
            select(t.scan_marks.c.item_id, t.scan_marks.c.mark).where(t.scan_marks.c.sheet == sheet.sheet)
        ).all())  # fmt: skip
        open_reviews = {
            (r.kind, r.item_id): r.review_id
            for r in conn.execute(
                select(t.scan_reviews.c.kind, t.scan_reviews.c.item_id, t.scan_reviews.c.review_id).where(
                    t.scan_reviews.c.sheet == sheet.sheet, t.scan_reviews.c.resolved_at.is_(None)
                )
            )
        }
        stored_minutes = conn.execute(
            select(t.scan_times.c.minutes).where(t.scan_times.c.sheet == sheet.sheet)
        ).scalar()
    answers: list[Answer] = []
    marks: list[dict[str, Any]] = []
    reviews: list[dict[str, Any]] = []
    for box in page.boxes:
        summary.boxes += 1
        summary.certain += box.certain
        old = stored.get(box.item_id)
        base = {"sheet": sheet.sheet, "item_id": box.item_id, "student_id": sheet.student_id,
                "class_id": sheet.class_id, "subject": sheet.subjects[box.item_id], "night": sheet.night,
                "number": box.number, "fills": box.fills, "created_at": now}  # fmt: skip
        if not box.certain:
            if old is None and ("box", box.item_id) not in open_reviews:
                reviews.append({**base, "kind": "box", "crop": R.png(box.crop)})
            continue
        assert box.mark is not None
        if old is None:
            event = None
            if box.mark in SCORES:
                event = _event_id(sheet.sheet, box.item_id)
                answers.append(_answer(event, box.item_id, sheet.night, now, box.mark))
            else:
                summary.not_done += 1
            marks.append({"sheet": sheet.sheet, "item_id": box.item_id, "student_id": sheet.student_id,
                          "night": sheet.night, "mark": box.mark, "event_id": event, "scanned_at": now})  # fmt: skip
        elif old == box.mark:
            summary.already_stored += 1
        elif ("correction", box.item_id) not in open_reviews:
            reviews.append({**base, "kind": "correction", "read_mark": box.mark, "stored_mark": old,
                            "crop": R.png(box.crop)})  # fmt: skip
            summary.corrections += 1
    if answers:
        result = record_answers(db, sheet.student_id, answers)
        summary.attempts_stored += result["stored"]
        summary.already_stored += result["already_stored"]
        summary.error_book_opened += result["error_book_opened"]
        summary.error_book_resolved += result["error_book_resolved"]
    time_changed = False
    with writing(db) as conn:
        if marks:  # after the attempts: a crash between leaves a rescan to find them stored (same event ids)
            conn.execute(insert(t.scan_marks), marks)
        answered = [m["item_id"] for m in marks]
        for kind_item, review_id in open_reviews.items():
            if kind_item[0] == "box" and kind_item[1] in answered:  # now read clearly: settled by the rescan
                conn.execute(update(t.scan_reviews).where(t.scan_reviews.c.review_id == review_id)
                             .values(resolved_at=now, resolved_by=by, resolution="rescanned"))  # fmt: skip
        time = page.time
        if time is not None:
            if time.certain and time.minutes is not None and stored_minutes is None:
                conn.execute(insert(t.scan_times).values(sheet=sheet.sheet, student_id=sheet.student_id,
                                                         night=sheet.night, minutes=time.minutes, scanned_at=now))  # fmt: skip
                summary.times_stored += 1
                time_changed = True
            elif (
                (not time.certain or time.minutes != stored_minutes)
                and ("time", None) not in open_reviews
                and (stored_minutes is None or time.certain)
            ):
                reviews.append({"sheet": sheet.sheet, "item_id": None, "student_id": sheet.student_id,
                                "class_id": sheet.class_id, "subject": "", "night": sheet.night, "number": 0,
                                "fills": {"tens": time.tens, "units": time.units}, "created_at": now, "kind": "time",
                                "read_mark": None if time.minutes is None else str(time.minutes),
                                "stored_mark": None if stored_minutes is None else str(stored_minutes),
                                "crop": R.png(time.crop)})  # fmt: skip
        for review in reviews:
            conn.execute(insert(t.scan_reviews).values(review_id=f"rv-{uuid.uuid4().hex[:16]}", **review))
    summary.to_review += sum(1 for r in reviews if r["kind"] != "correction")
    if time_changed:
        _report_time(db, student_id=sheet.student_id, night=sheet.night, by=by, now=now)
        summary.evening_reports += 1


def _answer(event: str, item_id: str, night: date, now: datetime, mark: str) -> Answer:
    return Answer(event, item_id, night, now, mark == "right", None, SCORES[mark], "paper")


def _report_time(db: Engine, *, student_id: str, night: date, by: str, now: datetime) -> None:
    """The evening's real time (R4): the minutes of every sheet of the student's that night."""
    with db.connect() as conn:
        minutes = conn.execute(
            select(t.scan_times.c.minutes).where(t.scan_times.c.student_id == student_id, t.scan_times.c.night == night)
        ).scalars().all()  # fmt: skip
    evenings.report_evening(db=db, student_id=student_id, night=night, minutes=float(sum(minutes)),
                            reported_by=by, now=now)  # fmt: skip


# -- the review queue ------------------------------------------------------------------------


def reviews(
    *, db: Engine, class_ids: Sequence[str] | None, subjects: dict[str, set[str]] | None = None
) -> list[dict[str, Any]]:
    """Open reviews (oldest first) of these classes (None: every class), with the student's name and
    the item's text; `subjects`: per class, the only subjects shown (a subject teacher's)."""
    query = (
        select(t.scan_reviews.c.review_id, t.scan_reviews.c.kind, t.scan_reviews.c.sheet, t.scan_reviews.c.item_id,
               t.scan_reviews.c.student_id, t.scan_reviews.c.class_id, t.scan_reviews.c.subject, t.scan_reviews.c.night,
               t.scan_reviews.c.number, t.scan_reviews.c.read_mark, t.scan_reviews.c.stored_mark,
               t.scan_reviews.c.fills, t.students.c.display_name, t.items.c.stem, t.items.c.kind.label("item_kind"))
        .join(t.students, t.students.c.student_id == t.scan_reviews.c.student_id)
        .outerjoin(t.items, t.items.c.item_id == t.scan_reviews.c.item_id)
        .where(t.scan_reviews.c.resolved_at.is_(None))
        .order_by(t.scan_reviews.c.created_at, t.scan_reviews.c.class_id, t.scan_reviews.c.student_id, t.scan_reviews.c.number)
    )  # fmt: skip
    if class_ids is not None:
        query = query.where(t.scan_reviews.c.class_id.in_(sorted(class_ids)))
    with db.connect() as conn:
        rows = [r._asdict() for r in conn.execute(query)]
    if subjects is not None:
        rows = [r for r in rows if not subjects.get(r["class_id"]) or "" in subjects[r["class_id"]]
                or _needs(db, r["kind"], r["sheet"], r["subject"]) <= subjects[r["class_id"]]]  # fmt: skip
    for r in rows:
        r["name"] = r.pop("display_name") or r["student_id"]
        r["choices"] = (
            [m for m in L.MARKS if m != "half" or r["item_kind"] in L.HALF_KINDS] if r["item_id"] else []
        )
    return rows


def review_crop(*, db: Engine, review_id: str) -> tuple[bytes, str]:
    """(PNG, class id) of a review's crop."""
    with db.connect() as conn:
        row = conn.execute(select(t.scan_reviews.c.crop, t.scan_reviews.c.class_id)
                           .where(t.scan_reviews.c.review_id == review_id)).first()  # fmt: skip
    if row is None:
        raise NotFound("review", review_id)
    return bytes(row.crop), row.class_id


def may_review(*, db: Engine, who: Any, review_id: str) -> None:
    """NotFound unless this account may settle the review (and so sees it in its queue): a box's or a
    correction's if it marks the item's subject in that class; a time's (the sheet's, every subject
    on it) if it marks every subject on the sheet — a head teacher, the school's administrator, a
    teacher of all those subjects — as importing the sheet asks (Sheets.layout_of)."""
    with db.connect() as conn:
        row = conn.execute(select(t.scan_reviews.c.class_id, t.scan_reviews.c.subject, t.scan_reviews.c.kind,
                                  t.scan_reviews.c.sheet).where(t.scan_reviews.c.review_id == review_id)).first()  # fmt: skip
    if row is None:
        raise NotFound("review", review_id)
    may = may_mark(db=db, who=who)
    if not all(may(row.class_id, s) for s in _needs(db, row.kind, row.sheet, row.subject)):
        raise NotFound("review", review_id)


def _needs(db: Engine, kind: str, sheet: str, subject: str) -> set[str]:
    """The subjects one must mark to settle a review: the item's; for a time, every subject on the
    sheet ({""}: every subject, when the sheet's plans are gone)."""
    if kind != "time":
        return {subject}
    from service.store.queries import HANDED_OUT

    letter, _, ref = sheet.partition(".")
    with db.connect() as conn:
        plan = conn.execute(select(t.plans.c.student_id, t.plans.c.night, t.plans.c.subject)
                            .where(t.plans.c.plan_id == ref)).first()  # fmt: skip
        if plan is None:
            return {""}
        if letter == "p":
            return {plan.subject}
        found = conn.execute(select(t.plans.c.subject).where(
            t.plans.c.student_id == plan.student_id, t.plans.c.night == plan.night,
            t.plans.c.status.in_(HANDED_OUT))).scalars()  # fmt: skip
        return set(found) or {""}


def resolve(*, db: Engine, review_id: str, answer: str, by: str, now: datetime) -> dict[str, Any]:
    """Settle one review with the teacher's one click: a box's mark (right / wrong / half / not_done),
    a correction's "confirm" or "keep", or a time's minutes (digits). Stores as a certain scan would;
    a confirmed correction replaces the misread attempt (and what it did to the error book) with the
    corrected one, in one transaction. A second click, even at the same moment, changes nothing."""
    try:
        return _resolve(db=db, review_id=review_id, answer=answer, by=by, now=now)
    except IntegrityError:  # lost a race (another click, a rescan) that stored the same: look again
        return _resolve(db=db, review_id=review_id, answer=answer, by=by, now=now)


def _resolve(*, db: Engine, review_id: str, answer: str, by: str, now: datetime) -> dict[str, Any]:
    with db.connect() as conn:
        row = conn.execute(select(t.scan_reviews).where(t.scan_reviews.c.review_id == review_id)).first()
    if row is None:
        raise NotFound("review", review_id)
    already = {"review_id": review_id, "resolution": row.resolution, "already": True}
    if row.resolved_at is not None:
        return already
    if row.kind == "time":
        if not answer.isdigit() or not 0 <= int(answer) <= 720:
            raise Invalid(f"/answer: minutes are a whole number from 0 to 720, not {answer!r}",
                          f"/answer：分钟数应为 0 到 720 的整数，而不是 {answer!r}")  # fmt: skip
        with writing(db) as conn:
            if not _close(conn, review_id, by, now, answer):
                return already  # settled meanwhile (a double click)
            found = conn.execute(
                select(t.scan_times.c.sheet).where(t.scan_times.c.sheet == row.sheet)
            ).first()
            values = {"minutes": int(answer), "scanned_at": now}
            if found is None:
                conn.execute(
                    insert(t.scan_times).values(
                        sheet=row.sheet, student_id=row.student_id, night=row.night, **values
                    )
                )
            else:
                conn.execute(update(t.scan_times).where(t.scan_times.c.sheet == row.sheet).values(**values))
        _report_time(db, student_id=row.student_id, night=row.night, by=by, now=now)
        return {"review_id": review_id, "resolution": answer, "already": False}
    if row.kind == "correction":
        if answer not in ("confirm", "keep"):
            raise Invalid(f"/answer: a correction is confirmed or kept, not {answer!r}",
                          f"/answer：更正只能确认（confirm）或保留原记录（keep），而不是 {answer!r}")  # fmt: skip
        mark = row.read_mark if answer == "confirm" else None
    else:
        if answer not in L.MARKS:
            raise Invalid(f"/answer: one of {', '.join(L.MARKS)}, not {answer!r}",
                          f"/answer：应为 {', '.join(L.MARKS)} 之一，而不是 {answer!r}")  # fmt: skip
        mark = answer
    marks = t.scan_marks
    with writing(db) as conn:
        if not _close(conn, review_id, by, now, answer):
            return already  # settled meanwhile (a double click): nothing else is written
        stored = conn.execute(
            select(marks.c.mark, marks.c.event_id).where(marks.c.sheet == row.sheet, marks.c.item_id == row.item_id)
        ).first()  # fmt: skip
        if mark is not None and (stored is None or mark != stored.mark):
            answered_at = now
            if stored is not None and stored.event_id is not None:  # the misread answer goes
                answered_at = (
                    conn.execute(
                        select(t.attempts.c.submitted_at).where(t.attempts.c.event_id == stored.event_id)
                    ).scalar()
                    or now
                )
                withdraw_answer(conn, stored.event_id)
            event = None
            if mark in SCORES:
                n = conn.execute(select(t.scan_reviews.c.review_id).where(
                    t.scan_reviews.c.sheet == row.sheet, t.scan_reviews.c.item_id == row.item_id)).all()  # fmt: skip
                event = _event_id(row.sheet, row.item_id, len(n) if stored is not None else 0)
                store_answers(
                    conn, row.student_id, [_answer(event, row.item_id, row.night, answered_at, mark)]
                )
            values = {"mark": mark, "event_id": event, "scanned_at": now}
            if stored is None:
                conn.execute(insert(marks).values(sheet=row.sheet, item_id=row.item_id,
                                                  student_id=row.student_id, night=row.night, **values))  # fmt: skip
            else:
                conn.execute(update(marks).where(marks.c.sheet == row.sheet,
                                                 marks.c.item_id == row.item_id).values(**values))  # fmt: skip
    return {"review_id": review_id, "resolution": answer, "already": False}


def _close(conn: Any, review_id: str, by: str, now: datetime, answer: str) -> bool:
    """Mark the review settled, first in its transaction; False if it already was (another click got
    there first: on PostgreSQL this waits for that click's transaction, then finds the row settled)."""
    done = conn.execute(update(t.scan_reviews).where(t.scan_reviews.c.review_id == review_id, t.scan_reviews.c.resolved_at.is_(None))
                        .values(resolved_at=now, resolved_by=by, resolution=answer[:16]))  # fmt: skip
    return bool(done.rowcount)


# -- who may, and the background job -----------------------------------------------------------

SCAN = "scan"
SCAN_SUFFIXES = (".pdf", ".jpg", ".jpeg", ".png")


def may_mark(*, db: Engine, who: Any) -> Callable[[str, str], bool]:
    """Whose sheets an account may scan in: a teacher their classes' subjects, a head teacher their
    classes, a school's administrator its school's classes."""
    from service import access

    def may(class_id: str, subject: str) -> bool:
        if who.role in ("teacher", "head_teacher"):
            return bool(who.teaches(class_id, subject if who.role == "teacher" else None))
        if who.role == "school_admin":
            found = access.class_ref(db, class_id)
            return found is not None and found.school_id in who.schools
        return False

    return may


def review_scope(*, db: Engine, who: Any) -> tuple[list[str], dict[str, set[str]] | None]:
    """(classes, subjects per class or None) whose review queue an account sees."""
    if who.role == "school_admin":
        with db.connect() as conn:
            ids = conn.execute(
                select(t.classes.c.class_id).where(t.classes.c.school_id.in_(sorted(who.schools)))
            )
            return list(ids.scalars()), None
    every = who.role == "head_teacher"  # every subject of their classes, as may_mark says
    return sorted(who.classes), {c: set() if every else set(s) for c, s in who.classes.items()}


def upload_path(*, folder: Path, field: str, filename: str | None, taken: set[str]) -> Path:
    """Where an uploaded scan goes in the job's folder: a plain file name ending .pdf, .jpg, .jpeg or
    .png, once; anything else is refused naming the field."""
    name = filename or ""
    if field != "files" or not name.strip(". ") or len(name) > 200 or any(c in name for c in "/\\:\x00"):
        raise Invalid(f"body /files: {name[:64]!r} is not a plain file name sent as 'files'",
                      f"请求体 /files：{name[:64]!r} 不是以 files 字段上传的普通文件名")  # fmt: skip
    if not name.lower().endswith(SCAN_SUFFIXES) or name.lower() in taken:
        raise Invalid(f"body /files: {name!r}: send scanner PDFs or photos (.pdf, .jpg, .png), each once",
                      f"请求体 /files：{name!r}：请上传扫描仪 PDF 或照片（.pdf、.jpg、.png），每个文件一次")  # fmt: skip
    taken.add(name.lower())
    return folder / name


def job_view(job: Any) -> dict[str, Any]:
    problems = job.problems or {}
    return {"job_id": job.job_id, "state": job.state, "files": job.params.get("files", []),
            "progress": job.progress or {}, "detail": problems.get("detail"), "detail_zh": problems.get("detail_zh"),
            "result": job.result, "created_at": job.created_at, "finished_at": job.finished_at}  # fmt: skip


def begin_scan(*, jobs: Any, db: Engine, who: Any) -> Any:
    """A queued scan job of this account, with a folder for its files: one at a time per school (two
    markers importing one pile would otherwise store the same sheets side by side), Conflict naming
    the job that holds it. The school: the account's, or its classes' if it has exactly one; else
    every school (an account across schools waits for, and holds, all)."""
    return jobs.create(kind=SCAN, owner_id=who.user_id, school_id=scan_school(db=db, who=who),
                       params={"files": []})  # fmt: skip


def scan_school(*, db: Engine, who: Any) -> str:
    from service import access
    from service.jobs import EVERY_SCHOOL

    schools = set(who.schools)
    for class_id in who.classes:
        found = access.class_ref(db, class_id)
        if found is not None:
            schools.add(found.school_id)
    return next(iter(schools)) if len(schools) == 1 else EVERY_SCHOOL


def run_scan(*, jobs: Any, db: Engine, job: Any, paths: Sequence[Path], key: str, who: Any) -> dict[str, Any]:
    """Start reading and storing the job's files in the background; the job's progress counts pages."""
    may = may_mark(db=db, who=who)

    def work(progress: Any) -> dict[str, Any]:
        progress.update(phase="reading", pages_read=0)
        summary = import_scans(db=db, key=key, paths=paths, by=who.user_id, now=datetime.now().astimezone(),
                               may=may, progress=lambda c: progress.update(**c))  # fmt: skip
        return summary.as_dict()

    jobs.submit(job.job_id, work, files=[p.name for p in paths])
    found = jobs.find(job.job_id)
    return job_view(found if found is not None else job)


def scan_job(*, jobs: Any, who: Any, job_id: str) -> dict[str, Any]:
    """A scan job's state, progress and result: only for the account that started it."""
    job = jobs.find(job_id)
    if job is None or job.kind != SCAN or job.owner_id != who.user_id:
        raise NotFound("scan", job_id, zh=f"没有找到扫描任务 {job_id}")
    return job_view(job)
