"""The district's figures (service.district): counted as the head teacher's burden counts them,
classes the smallest unit, small classes merged or withheld, the report as a signed PDF and workbook
with a chart, archived; the CLI's `districts add`, `users add --district` and `report district`."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from jianfu.cli import app
from service import district, district_report, evenings
from service.errors import Invalid, NotFound
from service.policy.policy import PolicyBook
from service.schemas import DistrictSummary
from service.settings import Settings
from service.store import tables as t
from service.store.archive import REPORT, verify
from service.store.db import make_engine
from tests.conftest import SAMPLES, school_of_own
from tests.district_fixtures import CLASS, END, NIGHT, SMALL, START, DistrictWorld, build

BOOK = PolicyBook(SAMPLES / "policies")
FONTS = Settings()


@pytest.fixture
def db(samples_sqlite: str, tmp_path: Path) -> Iterator[Engine]:
    shutil.copy(Path(samples_sqlite.removeprefix("sqlite:///")), tmp_path / "district.db")
    engine = make_engine(f"sqlite:///{tmp_path / 'district.db'}")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest, samples_sqlite: str, tmp_path: Path) -> Iterator[Engine]:
    """The samples on SQLite and on a real PostgreSQL (the district's queries are plain SQLAlchemy)."""
    engine = school_of_own(request, request.param, samples_sqlite, tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture
def world(db: Engine) -> DistrictWorld:
    return build(db)


def summary(db: Engine, min_class_size: int = 10, district_id: str = "d-east") -> DistrictSummary:
    return district.summary(db=db, book=BOOK, district_id=district_id, start=START, end=END,
                            min_class_size=min_class_size)  # fmt: skip


def unit(found: object, unit_id: str):  # type: ignore[no-untyped-def]
    return next(u for s in found.schools for u in s.units if u.unit_id == unit_id)  # type: ignore[attr-defined]


def test_a_class_is_counted_as_its_head_teacher_counts_it(any_db: Engine) -> None:
    db = any_db
    world = build(db)
    f = unit(summary(db), CLASS).figures
    assert (f.sets, f.sets_both_tiers, f.tiering_share) == (4, 2, 0.5)
    assert (f.items, f.non_written_items) == (7, 2)  # two sets hold the non-written item
    assert (f.evenings_estimated, f.evenings_over_cap_estimated) == (
        4,
        1,
    )  # 70 min planned, cap 60; the draft is no set
    assert (f.evenings_reported, f.evenings_over_cap_reported, f.nights_over_cap_reported) == (3, 2, 2)
    assert f.over_cap_mean_minutes == pytest.approx(sum(m for *_, m in world.over_reported) / 2)
    assert (f.classes_within_cap_estimated, f.classes_within_cap_reported, f.exemptions) == (0, 0, 1)
    # The head teacher's burden monitoring of the same class and period flags the same evenings.
    burden = evenings.burden(db=db, book=BOOK, class_id=CLASS, start=START, end=END)
    assert sum(d.over_cap for d in burden.days) == f.evenings_over_cap_reported
    assert sum(d.reports for d in burden.days) == f.evenings_reported
    assert sum(1 for d in burden.days if d.over_cap) == f.nights_over_cap_reported


ADDITIVE = ("classes", "classes_with_sets", "classes_with_reports", "classes_within_cap_estimated",
            "classes_within_cap_reported", "evenings_estimated", "evenings_over_cap_estimated", "evenings_reported",
            "evenings_over_cap_reported", "sets", "sets_both_tiers", "items", "non_written_items", "exemptions")  # fmt: skip


def assert_nothing_withheld_by_subtraction(found: DistrictSummary) -> None:
    """Every total is the sum of the units shown under it: a total minus the units listed is zero,
    so it gives no withheld unit's counts away (over-cap evenings, exemptions, items, ...)."""
    shown_schools = [s for s in found.schools if s.figures is not None]
    for name in ADDITIVE:
        for s in shown_schools:
            listed = sum(getattr(u.figures, name) for u in s.units if u.figures is not None)
            assert getattr(s.figures, name) - listed == 0, (s.school_id, name)
        schools = sum(getattr(s.figures, name) for s in shown_schools)
        assert getattr(found.figures, name) - schools == 0, name
    for s in shown_schools:  # nor the average minutes over: the shown units' evenings weighted
        units = [
            u.figures
            for u in s.units
            if u.figures is not None and u.figures.over_cap_mean_minutes is not None
        ]
        if units:
            weighted = sum(f.over_cap_mean_minutes * f.evenings_over_cap_reported for f in units)  # type: ignore[operator]
            assert s.figures.over_cap_mean_minutes == pytest.approx(  # type: ignore[union-attr]
                weighted / sum(f.evenings_over_cap_reported for f in units), abs=0.1
            )


def test_a_withheld_class_cannot_be_recovered_by_subtraction(db: Engine, world: DistrictWorld) -> None:
    found = summary(db, min_class_size=10)  # east-s-a (4, one reported evening over the cap) and east-s-b (3)
    school = found.schools[0]
    assert unit(found, "sch-east/other").suppressed
    assert_nothing_withheld_by_subtraction(found)
    # The totals say what they are over: the shown classes, the withheld ones counted.
    assert (school.withheld_classes, found.withheld_classes) == (len(SMALL), len(SMALL))
    assert school.classes == 3 + len(SMALL) and school.figures.classes == 3  # type: ignore[union-attr]
    header, rows = district.summary_rows(found)
    notes = {r[1]: r[header.index("说明")] for r in rows if r[1] in ("全区合计", "全校合计")}
    assert all("totals over shown classes only; 2 classes withheld" in n for n in notes.values()), notes
    # Shown together (4 + 3 >= 5), the small classes are back in the totals.
    merged = summary(db, min_class_size=5)
    assert merged.withheld_classes == 0 and merged.figures.classes == 3 + len(SMALL)
    assert merged.figures.evenings_over_cap_reported == 3
    assert_nothing_withheld_by_subtraction(merged)
    assert_nothing_withheld_by_subtraction(summary(db, min_class_size=4))  # east-s-a alone, east-s-b withheld
    assert_nothing_withheld_by_subtraction(summary(db, min_class_size=1000))  # the whole school withheld


def test_district_totals_are_the_shown_classes_and_schools_are_theirs(
    db: Engine, world: DistrictWorld
) -> None:
    found = summary(db)
    assert [s.school_id for s in found.schools] == ["sch-east"]  # d-west's school is not d-east's
    assert found.figures.classes == 3 and found.withheld_classes == len(SMALL)
    # The small class's reported evening over the cap is withheld with it: not in the totals either.
    assert found.figures.evenings_over_cap_reported == 2
    assert found.over_cap_schools == ["sch-east"]
    assert found.over_cap_units == [CLASS]
    # Of the shown classes only east-5-1 has reports in the period, one over the cap; only
    # east-5-1 has sets, one planned over the cap: no class is "within" for having nothing.
    f = found.figures
    assert (f.classes_with_reports, f.classes_within_cap_reported, f.share_within_cap_reported) == (1, 0, 0.0)
    assert (f.classes_with_sets, f.classes_within_cap_estimated, f.share_within_cap_estimated) == (1, 0, 0.0)
    quiet = unit(found, "east-8-1").figures
    assert (quiet.classes_with_reports, quiet.share_within_cap_reported) == (0, None)
    west = summary(db, district_id="d-west")
    assert west.figures.sets == 0 and [s.school_id for s in west.schools] == ["sch-west"]


def test_small_classes_are_merged_and_withheld_below_the_threshold(db: Engine, world: DistrictWorld) -> None:
    found = summary(db, min_class_size=10)
    ids = {u.unit_id for s in found.schools for u in s.units}
    assert not ids & set(SMALL)  # never on their own
    other = unit(found, "sch-east/other")
    assert other.suppressed and other.figures is None and other.students is None and other.classes == 2
    merged = unit(summary(db, min_class_size=5), "sch-east/other")  # 4 + 3 students >= 5: shown together
    assert not merged.suppressed and merged.students == 7 and merged.figures.evenings_over_cap_reported == 1
    alone = summary(db, min_class_size=4)  # east-s-a (4) alone; east-s-b (3) merged, alone, withheld
    assert unit(alone, "east-s-a").figures is not None
    assert unit(alone, "sch-east/other").suppressed
    everything = summary(db, min_class_size=1000)  # a whole school below the threshold is withheld too
    assert everything.schools[0].suppressed and everything.schools[0].figures is None


def test_no_student_data_in_any_district_answer(db: Engine, world: DistrictWorld) -> None:
    texts = [summary(db, n).model_dump_json() for n in (1, 5, 10)]
    texts.append(district.notices(db=db, book=BOOK, district_id="d-east", week_of=NIGHT, min_class_size=10).model_dump_json())  # fmt: skip
    with db.connect() as conn:
        ids = list(conn.execute(select(t.students.c.student_id)).scalars())
    for text in texts:
        assert not [s for s in ids if s in text]
        assert not [n for n in world.names if n in text]


def test_notices_are_the_head_teachers_and_small_classes_are_withheld(
    db: Engine, world: DistrictWorld
) -> None:
    found = district.notices(db=db, book=BOOK, district_id="d-east", week_of=NIGHT, min_class_size=10)
    assert sorted(found.withheld) == sorted(SMALL)
    assert sorted(n.class_id for n in found.notices) == ["east-2-1", "east-5-1", "east-8-1"]
    mine = next(n for n in found.notices if n.class_id == CLASS)
    assert mine == evenings.weekly_notice(db=db, book=BOOK, class_id=CLASS, week_of=NIGHT)
    tuesday = next(d for d in mine.days if d.night == NIGHT)
    assert tuesday.total_minutes == round((30 + 35 + 20 + 70) / 45, 1)


def test_the_default_period_is_the_last_half_month_by_the_schools_date(
    db: Engine, world: DistrictWorld
) -> None:
    # 17:00 UTC on 10 November is already 11 November in Shanghai.
    start, end = district.default_period(
        db=db, district_id="d-east", now=datetime(2026, 11, 10, 17, tzinfo=UTC)
    )
    assert (start, end) == (date(2026, 10, 28), date(2026, 11, 11))
    with pytest.raises(Invalid):
        district.summary(db=db, book=BOOK, district_id="d-east", start=END, end=START, min_class_size=10)
    with pytest.raises(NotFound):
        district.summary(db=db, book=BOOK, district_id="nowhere", start=START, end=END, min_class_size=10)


def test_a_district_of_an_unknown_school_is_refused_whole(db: Engine) -> None:
    with pytest.raises(NotFound):
        district.save_district(db=db, district_id="d-x", name="x", schools=["sch-east", "sch-nowhere"])
    with db.connect() as conn:
        assert conn.execute(select(t.districts)).first() is None


def test_the_report_is_signed_charted_and_archived(db: Engine, world: DistrictWorld) -> None:
    now = datetime(2026, 11, 17, 8, 30, tzinfo=UTC)
    made = {}
    for fmt in ("pdf", "xlsx"):
        made[fmt] = district_report.make_report(
            db=db, book=BOOK, district_id="d-east", start=START, end=END, min_class_size=10, file_format=fmt,  # type: ignore[arg-type]
            username="bureau-1", now=now, font=FONTS.pdf_font, cjk_font=FONTS.pdf_cjk_font,
        )  # fmt: skip
    pdf = made["pdf"].content
    assert pdf.startswith(b"%PDF") and b"/Subtype /Image" in pdf  # the chart is in it
    book = openpyxl.load_workbook(io.BytesIO(made["xlsx"].content))
    assert book.sheetnames == ["汇总", "图表"]
    sheet = book["汇总"]
    assert "bureau-1" in sheet["A2"].value and "2026-11-17T08:30:00" in sheet["A2"].value
    assert sheet["A4"].value == "学校" and len(book["图表"]._images) == 1
    rows = list(sheet.iter_rows(min_row=5, values_only=True))
    assert [r[1] for r in rows if r[0] == "城东九年一贯制学校"][:1] == ["全校合计"]
    with db.connect() as conn:
        entries = conn.execute(select(t.archive_entries).where(t.archive_entries.c.kind == REPORT)).all()
        assert verify(conn).first is None
    assert len(entries) == 2 and all(made[f].archived for f in made)
    assert {made["pdf"].sha256, made["xlsx"].sha256} == {
        e.public.split('"sha256":"')[1][:64] for e in entries
    }
    for e in entries:  # the archived figures name no student either
        assert not [s for s in world.students + world.small_students if s in e.public]


def test_a_report_is_archived_once_for_what_it_says(db: Engine, world: DistrictWorld) -> None:
    def made(username: str, now: datetime, min_class_size: int = 10) -> district_report.Report:
        return district_report.make_report(
            db=db, book=BOOK, district_id="d-east", start=START, end=END, min_class_size=min_class_size,
            file_format="xlsx", username=username, now=now, font=FONTS.pdf_font, cjk_font=FONTS.pdf_cjk_font,
        )  # fmt: skip

    def entries() -> list[str]:
        with db.connect() as conn:
            assert verify(conn).first is None
            return list(conn.execute(select(t.archive_entries.c.public).where(t.archive_entries.c.kind == REPORT)).scalars())  # fmt: skip

    first = made("bureau-1", datetime(2026, 11, 17, 8, 30, tzinfo=UTC))
    again = made("bureau-2", datetime(2026, 11, 17, 9, 45, tzinfo=UTC))  # downloaded again, later, by another
    assert first.archived is not None and again.archived is None
    assert again.content == first.content and again.sha256 == first.sha256  # the report issued, as signed
    sheet = openpyxl.load_workbook(io.BytesIO(again.content))["汇总"]
    assert "bureau-1" in sheet["A2"].value and "2026-11-17T08:30:00" in sheet["A2"].value
    assert len(entries()) == 1 and first.sha256 in entries()[0]
    # What the report says changes (here: small classes shown together): a new report, archived.
    other = made("bureau-2", datetime(2026, 11, 17, 10, 0, tzinfo=UTC), min_class_size=5)
    assert other.archived is not None and other.sha256 != first.sha256 and len(entries()) == 2
    assert made("bureau-1", datetime(2026, 11, 18, tzinfo=UTC), min_class_size=5).archived is None
    assert len(entries()) == 2


def test_cli_district_account_and_report(db: Engine, world: DistrictWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    runner = CliRunner()
    url = str(db.url)
    monkeypatch.setenv("JIANFU_NEW_PASSWORD", "district-pass-1")
    monkeypatch.setenv("JIANFU_POLICY_DIR", str(SAMPLES / "policies"))
    spec = tmp_path / "district.json"
    spec.write_text(
        '{"district_id": "d-both", "name": "全区", "schools": ["sch-east", "sch-west"]}', encoding="utf-8"
    )
    r = runner.invoke(app, ["districts", "add", "--file", str(spec), "--database", url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app, ["users", "add", "bureau", "--role", "district", "--district", "d-both", "--database", url]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["users", "add", "t-1", "--role", "teacher", "--class", CLASS, "--database", url])
    assert r.exit_code == 0, r.output
    out = tmp_path / "reports" / "half-month.xlsx"
    args = ["report", "district", "--from", START.isoformat(), "--to", END.isoformat(), "--out", str(out),
            "--database", url]  # fmt: skip
    r = runner.invoke(app, [*args, "--as", "t-1"])
    assert r.exit_code == 1 and not out.exists()  # a teacher signs off no district's report
    r = runner.invoke(app, [*args, "--as", "bureau"])
    assert r.exit_code == 0, r.output
    assert "archive entry" in r.output
    first = out.read_bytes()
    r = runner.invoke(app, [*args, "--as", "bureau"])  # the same report again: the one issued, archived once
    assert r.exit_code == 0 and "already in the archive" in r.output, r.output
    assert out.read_bytes() == first
    r = runner.invoke(app, ["archive", "verify", "--database", url])
    assert r.exit_code == 0, r.output
    sheet = openpyxl.load_workbook(out)["汇总"]
    assert "bureau" in sheet["A2"].value
    schools = {row[0] for row in sheet.iter_rows(min_row=6, values_only=True)}
    assert {"城东九年一贯制学校", "城西实验学校"} <= schools
    bad = runner.invoke(
        app, [*args[:-4], "--out", str(tmp_path / "r.docx"), "--as", "bureau", "--database", url]
    )
    assert bad.exit_code != 0 and not (tmp_path / "r.docx").exists()


def test_a_sample_district_imports_and_is_reported(tmp_path: Path) -> None:
    runner = CliRunner()
    for name in ("a", "b"):
        r = runner.invoke(app, ["data", "sample", "--out", str(tmp_path / name), "--district", "5", "--weeks", "1", "--seed", "5"])  # fmt: skip
        assert r.exit_code == 0, r.output
    for name in (
        "district.json",
        "schools.csv",
        "classes.csv",
        "students.csv",
        "attempts.csv",
    ):  # deterministic
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    classes = (tmp_path / "a" / "classes.csv").read_text(encoding="utf-8")
    assert (
        "sch-east" in classes and "s005-5-2" in classes
    )  # every third school past the samples: a small class
    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert runner.invoke(app, ["db", "upgrade", "--database", url]).exit_code == 0
    r = runner.invoke(app, ["data", "import", str(tmp_path / "a"), "--database", url])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app, ["districts", "add", "--file", str(tmp_path / "a" / "district.json"), "--database", url]
    )
    assert r.exit_code == 0, r.output
    engine = make_engine(url)
    try:
        found = district.summary(db=engine, book=PolicyBook(tmp_path / "a" / "policies"), district_id="d-sample",
                                 start=date(2026, 9, 1), end=date(2026, 9, 30), min_class_size=10)  # fmt: skip
    finally:
        engine.dispose()
    assert [s.school_id for s in found.schools] == ["sch-003", "sch-004", "sch-005", "sch-east", "sch-west"]
    assert found.figures.classes == 15 and found.withheld_classes == 1 and found.figures.evenings_reported > 0
    small = next(u for s in found.schools for u in s.units if u.unit_id == "sch-005/other")
    assert small.suppressed and small.classes == 1  # its 6 students are never shown on their own
    assert_nothing_withheld_by_subtraction(found)  # nor given away by their school's or the district's totals
    assert found.figures.evenings_over_cap_reported > 0  # grade 2: time reported on evenings capped at 0 (T1)
