"""`jianfu bench scan`: scanned worksheets read back (issue 16).

A class of 45 students (sch-east's east-5-1 in data_samples) gets its maths set planned by the
planner and published for one night (or `--school`: a database where that is already done); every
student's sheet is printed as the service prints it (the PDF of service.web.pdf: writing gets its
room, so the planner's all-written sets run to 1-3 pages a student, 109 pages for the class), and
every page is marked and degraded by
benchmarks.scan_gen in three conditions — a flatbed scanner at 300 and at 150 dpi (one multi-page PDF,
pages shuffled, some upside down, a blank and a foreign page mixed in) and phone photos (perspective,
shadows, blur, noise, JPEG 40-90) — and read back by the service's reader (service.scans.read_files:
rendering, QR, straightening, boxes; storing is tested end to end in tests/test_scans.py).

Per condition: boxes (item boxes on the sheets' pages), read_correct_share (of boxes read as certain,
the share read right), wrong_certain (certain but wrong), uncertain_share, pages_misattributed (a page
read as another sheet or page, or a blank/foreign page read as a sheet), pages_unread (sheet pages not
read: listed for a person), times (certain, wrong-certain), pages_per_second (reading only, one process).
Targets: 0 misattributed; wrong-certain <= 1 in 2,000 boxes; uncertain <= 3 % flatbed, <= 8 % phone;
>= 5 pages/s.
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from benchmarks.scan_gen import CONDITIONS, PrintedPage, make_scans, printed_pages

NIGHT = date(2026, 11, 10)
NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
CLASS = "east-5-1"
SUBJECTS = ("math",)
SAMPLES = Path(__file__).resolve().parent.parent / "data_samples"
KEY = "bench-sheet-key-" + "k" * 32


def school(folder: Path) -> Any:
    """The sample school in a SQLite file with the class's sets for the night published."""
    from models.bundle import Bundle  # noqa: F401  (the planner's models)
    from service import plans
    from service.policy.policy import PolicyBook
    from service.runtime import Services
    from service.settings import Settings
    from service.store.db import make_engine, upgrade
    from service.store.importer import import_files
    from training.loaders.contract import load
    from training.pipeline import fit_bundle

    engine = make_engine(f"sqlite:///{folder / 'school.db'}")
    upgrade(engine)
    report = import_files(engine, [SAMPLES])
    assert report.ok, report.problems.lines()
    bundle = fit_bundle(load(SAMPLES), "bench-scan")

    class Served:
        version = "bench"

        def __init__(self) -> None:
            self.bundle = bundle

    class Models:
        ready = True

        def current(self) -> Served:
            return Served()

    settings = Settings(data_dir=folder / "var", jwt_secret="k" * 40, policy_dir=SAMPLES / "policies")
    svc = Services(settings, engine, PolicyBook(settings.policy_dir), Models(), settings.signing_key())  # type: ignore[arg-type]
    for subject in SUBJECTS:
        plans.plan_class(db=engine, model=svc.model(), book=svc.book, class_id=CLASS, subject=subject, night=NIGHT,
                         focus_kps=[], teacher_id="bench", now=NOW)  # fmt: skip
        plans.publish_class(db=engine, class_id=CLASS, subject=subject, night=NIGHT, now=NOW)
    return engine


def printed_sheets(engine: Any, key: str) -> tuple[bytes, list[PrintedPage], dict[str, str], int]:
    """The class's maths sheets as one PDF (one student after another), what each of its pages is
    (every page of every student's sheet: 1-3 a student), the items' kinds, and how many students."""
    from service import plans
    from service.settings import Settings
    from service.web.pdf import worksheets_pdf

    sheets = plans.worksheet_pages(db=engine, night=NIGHT, class_id=CLASS, subject="math")
    settings = Settings()
    pdf = worksheets_pdf(
        {"pages": sheets, "night": NIGHT}, "zh", settings.pdf_font, settings.pdf_cjk_font, key
    )
    printed, kinds = printed_pages(sheets)  # make_scans checks they are the PDF's pages, one for one
    return pdf, printed, kinds, len(sheets)


def score(reads: list[Any], truths: list[dict[str, Any]]) -> dict[str, Any]:
    boxes = certain = correct = uncertain = misattributed = unread = 0
    times = times_certain = times_wrong = 0
    for page, truth in zip(reads, truths, strict=True):
        if truth["sheet"] in ("blank", "foreign"):
            misattributed += page.code is not None and page.ok
            continue
        if not page.ok or page.code is None:
            unread += 1
            boxes += len(truth["marks"])
            uncertain += len(truth["marks"])  # a person reads the page: every box counts as not read
            continue
        if (page.code.sheet, page.code.page) != (truth["sheet"], truth["page"]):
            misattributed += 1
            continue
        for box in page.boxes:
            boxes += 1
            if box.certain:
                certain += 1
                correct += box.mark == truth["marks"][box.item_id]
            else:
                uncertain += 1
        if truth.get("minutes") is not None and page.time is not None:
            times += 1
            times_certain += page.time.certain
            times_wrong += page.time.certain and page.time.minutes != truth["minutes"]
    return {
        "pages": len(truths), "boxes": boxes, "certain": certain,
        "read_correct_share": round(correct / certain, 6) if certain else 0.0,
        "wrong_certain": certain - correct, "uncertain_share": round(uncertain / boxes, 6) if boxes else 0.0,
        "pages_misattributed": misattributed, "pages_unread": unread,
        "times": times, "times_certain": times_certain, "times_wrong_certain": times_wrong,
    }  # fmt: skip


def run(*, seed: int = 16, school_db: Path | None = None) -> dict[str, Any]:
    """`school_db`: a SQLite file where the class's maths sets for NIGHT are already published (a
    copy is used); else one is made (importing data_samples, training the planner's models)."""
    import shutil

    from service import scans
    from service.store.db import make_engine

    with tempfile.TemporaryDirectory(prefix="jianfu-bench-scan-") as tmp:
        folder = Path(tmp)
        if school_db is not None:
            shutil.copy(school_db, folder / "school.db")
            engine = make_engine(f"sqlite:///{folder / 'school.db'}")
        else:
            engine = school(folder)
        pdf, printed, kinds, students = printed_sheets(engine, KEY)
        result: dict[str, Any] = {
            "students": students, "sheet_pages": len(printed), "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg()[0], "conditions": {},
        }  # fmt: skip
        for n, condition in enumerate(CONDITIONS):
            files, truths = make_scans(
                pdf, printed, kinds, folder / condition, condition=condition, seed=seed + n
            )
            sheets = scans.Sheets(engine, KEY, scans.MAY_ALL)
            started = time.perf_counter()
            reads = scans.read_files(files, sheets)
            elapsed = time.perf_counter() - started
            result["conditions"][condition] = {**score(reads, truths), "seconds": round(elapsed, 2),
                                               "pages_per_second": round(len(truths) / elapsed, 2)}  # fmt: skip
        engine.dispose()
    c = result["conditions"]
    result["targets"] = {
        "misattributed_0": all(r["pages_misattributed"] == 0 for r in c.values()),
        "wrong_certain_per_2000": all(r["wrong_certain"] * 2000 <= r["boxes"] for r in c.values()),
        "uncertain_flatbed_3pct": all(r["uncertain_share"] <= 0.03 for k, r in c.items() if k != "phone"),
        "uncertain_phone_8pct": c["phone"]["uncertain_share"] <= 0.08,
        "pages_per_second_5": all(r["pages_per_second"] >= 5 for r in c.values()),
    }
    return result
