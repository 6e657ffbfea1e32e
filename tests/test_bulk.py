"""The whole-column path for attempts (models.bulk) never accepts what the row checks refuse, gives
the same records, and leaves the database exactly as the row path would."""

from __future__ import annotations

import csv
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete

from models.bulk import accept_attempts, attempts_of
from models.files import Problems, validated_records
from models.schema import Known, spec_for
from service.store.db import make_engine
from service.store.importer import import_files, load_known
from service.store.tables import attempts
from tests.conftest import REFERENCE_FILES, SAMPLES, database_digest

ATTEMPTS = spec_for("attempts")
NOW = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> Known:
    url = f"sqlite:///{tmp_path_factory.mktemp('known') / 'k.db'}"
    from service.store.db import upgrade

    engine = make_engine(url)
    upgrade(engine)
    assert import_files(engine, REFERENCE_FILES).ok
    with engine.connect() as conn:
        found = load_known(conn, NOW)
    engine.dispose()
    return found


def _row_path(path: Path, known: Known) -> tuple[list[object], list[str]]:
    problems = Problems(limit=1000)
    records = [record for _, record in validated_records(path, ATTEMPTS, known, problems)]
    return records, problems.lines()


def test_the_sample_log_is_accepted_whole_and_matches_the_row_checks(known: Known) -> None:
    table = accept_attempts(SAMPLES / "attempts.csv", known)
    assert table is not None and table.num_rows > 60_000
    records, problems = _row_path(SAMPLES / "attempts.csv", known)
    assert problems == []
    assert attempts_of(table) == records
    # The offset each time was written with survives, not just the instant.
    assert (
        [r.submitted_at.utcoffset() for r in attempts_of(table)[:50]]
        == [
            r.submitted_at.utcoffset()  # type: ignore[attr-defined]
            for r in records[:50]
        ]
    )


# Values for each column: plain valid spellings mixed with near misses the row checks treat in
# their own way (spaces, other spellings, out of range, unknown ids, the future, …).
_students = ["stu-65a1c97c", "stu-65a1c97c ", "stu-unknown", "110101200001011234", "", "stu 65a1c97c"]
_items = ["math-g5-01-001", "math-g5-01-002", "chinese-g2-01-001", "nope-1", "math-g5-01-001\t"]
_nights = ["2026-10-12", "2026-10-13", "2026/10/12", "20261012", "2026-02-30", "2026-10-12 ", ""]
_stamps = [
    "2026-10-12T19:30:05+08:00",
    "2026-10-12T19:30:05.25+08:00",
    "2026-10-12T11:30:05Z",
    "2026-10-12 19:30:05+08:00",
    "2026-10-12T19:30:05",
    "2026-10-12T12:31:00+01:00",
    "2026-10-11T23:59:59+08:00",
    "2026-10-12T16:00:00+00:00",
    "2026-10-12T23:59:60+08:00",
    "2027-10-12T19:30:05+08:00",
    "2026-10-12T19:30:05+24:00",
    "2026-10-12T19:30+08:00",
]
_correct = ["1", "0", "true", "FALSE", "是", "对", " 1", "2", "yes", "", "√"]
_seconds = ["300", "", "0", "21600", "21601", "00060", "1.0", "-5", "1e3", " 60"]
_scores = ["0.5", "", "1", "1.0", "1.5", "0", "nan", ".5", "-0"]
_sources = ["app", "", "paper", "纸质", "teacher", "robot", "APP"]


def _value(draw: st.DrawFn, choices: list[str]) -> str:
    """Mostly one of the plain spellings at the front of the list, sometimes any of them."""
    return draw(st.sampled_from(choices[:2]) if draw(st.integers(0, 19)) < 18 else st.sampled_from(choices))


@st.composite
def attempt_files(draw: st.DrawFn) -> list[list[str]]:
    optional = draw(st.lists(st.sampled_from(["seconds", "score", "source"]), unique=True))
    header = ["event_id", "student_id", "item_id", "night", "submitted_at", "correct", *optional]
    n = draw(st.integers(1, 4))
    ids = draw(
        st.lists(st.sampled_from(["e1", "e2", "e3", "e4", "e5", "e6", " e7", "e.8"]), min_size=n, max_size=n)
    )
    rows = [header]
    for event_id in ids:
        row = [
            event_id,
            _value(draw, _students),
            _value(draw, _items),
            _value(draw, _nights),
            _value(draw, _stamps),
            _value(draw, _correct),
        ]
        choices = {"seconds": _seconds, "score": _scores, "source": _sources}
        row += [_value(draw, choices[c]) for c in optional]
        rows.append(row)
    return rows


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=attempt_files(), bom=st.booleans())
def test_whatever_the_column_path_accepts_the_row_checks_accept_identically(
    known: Known, rows: list[list[str]], bom: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "attempts.csv"
        with open(path, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)
        table = accept_attempts(path, known)
        records, problems = _row_path(path, known)
        event("accepted whole" if table is not None else "left to the row checks")
        if table is not None:
            assert problems == []
            assert attempts_of(table) == records


def test_the_column_path_is_exercised_by_the_property_test(known: Known, tmp_path: Path) -> None:
    """The property above is not vacuous: plain rows are accepted, a near miss is not."""
    path = tmp_path / "attempts.csv"
    good = "e1,stu-65a1c97c,math-g5-01-001,2026-10-12,2026-10-12T19:30:05+08:00,1\n"
    path.write_text("event_id,student_id,item_id,night,submitted_at,correct\n" + good, encoding="utf-8")
    assert accept_attempts(path, known) is not None
    path.write_text(
        "event_id,student_id,item_id,night,submitted_at,correct\n" + good.replace(",1\n", ", 1\n"),
        encoding="utf-8",
    )
    assert accept_attempts(path, known) is None


def test_bulk_and_row_imports_leave_identical_databases(reference_engine: Engine) -> None:
    """The same file through the column path and then row by row: the same rows, bit for bit."""
    bulk_report = import_files(reference_engine, [SAMPLES / "attempts.csv"])
    assert bulk_report.ok and bulk_report.counts["attempts"].inserted > 60_000
    bulk_digest = database_digest(reference_engine)
    with reference_engine.begin() as conn:
        conn.execute(delete(attempts))
    row_report = import_files(reference_engine, [SAMPLES / "attempts.csv"], bulk=False)
    assert row_report.ok and row_report.counts["attempts"].inserted == bulk_report.counts["attempts"].inserted
    assert database_digest(reference_engine) == bulk_digest


def test_a_bulk_reimport_is_idempotent_and_a_changed_event_is_refused(
    reference_engine: Engine, tmp_path: Path
) -> None:
    assert import_files(reference_engine, [SAMPLES / "attempts.csv"]).ok
    before = database_digest(reference_engine)
    again = import_files(reference_engine, [SAMPLES / "attempts.csv"])
    assert again.ok and again.counts["attempts"].inserted == 0 and again.counts["attempts"].unchanged > 60_000
    lines = (SAMPLES / "attempts.csv").read_text(encoding="utf-8").splitlines()
    changed = (
        lines[1].rsplit(",", 1)[0] + ",paper" if not lines[1].endswith(",paper") else lines[1][:-5] + "app"
    )
    path = tmp_path / "attempts.csv"
    path.write_text("\n".join([lines[0], changed]) + "\n", encoding="utf-8")
    refused = import_files(reference_engine, [path])
    assert not refused.ok
    assert "imported before with different content" in refused.problems.lines()[0]
    assert database_digest(reference_engine) == before


def test_the_night_is_checked_in_each_students_school_time_zone(tmp_path: Path) -> None:
    """A moment that is already the next day in Shanghai is still the evening before in New York."""
    known = Known(
        schools={"s-sh": "Asia/Shanghai", "s-ny": "America/New_York"},
        item_subjects={"i1": "math"},
        class_schools={"c-sh": "s-sh", "c-ny": "s-ny"},
        student_classes={"p-sh": "c-sh", "p-ny": "c-ny"},
        now=NOW,
    )
    path = tmp_path / "attempts.csv"
    header = "event_id,student_id,item_id,night,submitted_at,correct\n"
    moment = "2026-10-13T01:30:00+00:00"  # 09:30 on the 13th in Shanghai, 21:30 on the 12th in New York
    for student, night, accepted in [("p-sh", "2026-10-13", True), ("p-ny", "2026-10-13", False),
                                     ("p-ny", "2026-10-12", True)]:  # fmt: skip
        path.write_text(header + f"e1,{student},i1,{night},{moment},1\n", encoding="utf-8")
        assert (accept_attempts(path, known) is not None) is accepted
        assert (_row_path(path, known)[1] == []) is accepted
