"""The database layer on SQLite and on a real PostgreSQL: schema, import, idempotency, constraints."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from service.store.db import upgrade
from service.store.importer import import_files
from service.store.tables import attempts, error_book, evening_ledger, metadata, students
from tests.conftest import SAMPLES, database_digest

HEADER = "event_id,student_id,item_id,night,submitted_at,correct,seconds,score,source\n"


def _count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_migrations_build_exactly_the_tables_the_code_uses(engine: Engine) -> None:
    upgrade(engine)  # a second upgrade is a no-op
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    from service.store.db import make_engine

    eng = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with eng.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1


def test_timestamps_keep_their_instant_and_offset(reference_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "attempts.csv"
    path.write_text(
        HEADER
        + "t1,stu-65a1c97c,math-g5-01-001,2026-10-12,2026-10-12T19:30:05.250000+08:00,1,300,,app\n"
        + "t2,stu-65a1c97c,math-g5-01-002,2026-10-12,2026-10-12T12:31:00+01:00,0,,0.5,paper\n"
        + "t3,stu-65a1c97c,math-g5-01-003,2026-10-12,2026-10-12 21:00:00,1,60,,app\n",  # no offset: school time
        encoding="utf-8",
    )
    report = import_files(reference_engine, [path])
    assert report.ok, report.problems.lines()
    with reference_engine.connect() as conn:
        rows = {r.event_id: r for r in conn.execute(select(attempts))}
    assert rows["t1"].submitted_at == datetime(2026, 10, 12, 11, 30, 5, 250000, tzinfo=UTC)
    assert rows["t1"].submitted_offset_min == 480
    assert rows["t2"].submitted_at == datetime(2026, 10, 12, 11, 31, tzinfo=UTC)
    assert rows["t2"].submitted_offset_min == 60
    assert rows["t2"].seconds is None and rows["t2"].score == 0.5 and rows["t2"].source == "paper"
    assert rows["t3"].submitted_at == datetime(2026, 10, 12, 13, 0, tzinfo=UTC)
    assert rows["t3"].submitted_offset_min == 480
    assert rows["t1"].night == date(2026, 10, 12) and rows["t1"].correct is True


def test_reimport_is_idempotent_and_a_changed_event_is_refused(
    reference_engine: Engine, tmp_path: Path
) -> None:
    lines = (SAMPLES / "attempts.csv").read_text(encoding="utf-8").splitlines()[:2001]
    path = tmp_path / "attempts.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    first = import_files(reference_engine, [path])
    assert first.ok and first.counts["attempts"].inserted == 2000
    before = database_digest(reference_engine)
    again = import_files(reference_engine, [path])
    assert again.ok and again.counts["attempts"].inserted == 0 and again.counts["attempts"].unchanged == 2000
    assert database_digest(reference_engine) == before

    # The same moment written with another offset is the same event.
    event_id, sid, item, night, at, correct, seconds, score, source = lines[1].split(",")
    moment = datetime.fromisoformat(at).astimezone(UTC)
    same = tmp_path / "attempts-same.csv"
    same.write_text(
        HEADER
        + ",".join([event_id, sid, item, night, moment.isoformat(), correct, seconds, score, source])
        + "\n"
    )
    assert import_files(reference_engine, [same]).ok

    changed = tmp_path / "attempts-changed.csv"
    flipped = "0" if correct == "1" else "1"
    changed.write_text(
        HEADER + ",".join([event_id, sid, item, night, at, flipped, seconds, score, source]) + "\n"
    )
    report = import_files(reference_engine, [changed])
    assert not report.ok
    assert f"event {event_id} was imported before with different content" in report.problems.lines()[0]
    assert database_digest(reference_engine) == before


def test_reference_records_are_upserted(reference_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "students.csv"
    path.write_text(
        "student_id,class_id,display_name,personal_cap_minutes\nstu-65a1c97c,east-2-1,任小远,\n",
        encoding="utf-8",
    )
    report = import_files(reference_engine, [path])
    assert report.ok and report.counts["students"].updated == 1
    with reference_engine.connect() as conn:
        name = conn.execute(
            select(students.c.display_name).where(students.c.student_id == "stu-65a1c97c")
        ).scalar_one()
    assert name == "任小远"


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_excel_encodings_are_detected(reference_engine: Engine, tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "students.csv"
    path.write_text("student_id,class_id,display_name\nx-enc-1,east-5-1,欧阳娜娜\n", encoding=encoding)
    report = import_files(reference_engine, [path])
    assert report.ok, report.problems.lines()
    with reference_engine.connect() as conn:
        name = conn.execute(
            select(students.c.display_name).where(students.c.student_id == "x-enc-1")
        ).scalar_one()
    assert name == "欧阳娜娜"


def test_parquet_files_import_like_csv(reference_engine: Engine, tmp_path: Path) -> None:
    at = datetime(2026, 10, 12, 19, 30, tzinfo=timezone(timedelta(hours=8)))
    table = pa.table(
        {
            "event_id": ["pq-1", "pq-2"],
            "student_id": ["stu-65a1c97c", "stu-65a1c97c"],
            "item_id": ["math-g5-01-001", "math-g5-01-002"],
            "night": [date(2026, 10, 12)] * 2,
            "submitted_at": pa.array([at, at + timedelta(minutes=5)], type=pa.timestamp("us", tz="+08:00")),
            "correct": [True, False],
            "seconds": [120, -3],
        }
    )
    pq.write_table(table, tmp_path / "attempts.parquet")
    report = import_files(reference_engine, [tmp_path / "attempts.parquet"])
    assert report.problems.lines()[0].endswith(
        "attempts.parquet:3:seconds: 应在 1 到 21600 秒（6 小时） 之间，得到 -3 / must be between 1 and 21600 seconds (6 hours), got -3"
    )
    assert _count(reference_engine, attempts) == 0
    pq.write_table(table.set_column(6, "seconds", pa.array([120, 30])), tmp_path / "attempts.parquet")
    assert import_files(reference_engine, [tmp_path / "attempts.parquet"]).ok
    assert _count(reference_engine, attempts) == 2


def test_error_book_entries_import_with_resolution(reference_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "error_book.csv"
    path.write_text(
        "entry_id,student_id,item_id,created_at,error_type,resolved_at\n"
        "eb-x,stu-65a1c97c,math-g5-01-001,2026-10-12T19:30:00+08:00,粗心,2026-10-14T20:00:00+08:00\n",
        encoding="utf-8",
    )
    assert import_files(reference_engine, [path]).ok
    with reference_engine.connect() as conn:
        row = conn.execute(select(error_book)).one()
    assert row.error_type == "careless" and row.resolved_offset_min == 480


def test_the_ledger_can_never_hold_more_than_the_cap(reference_engine: Engine) -> None:
    with pytest.raises(IntegrityError), reference_engine.begin() as conn:
        conn.execute(
            insert(evening_ledger).values(
                student_id="stu-65a1c97c", night=date(2026, 11, 24), cap_minutes=60, reserved_minutes=61
            )
        )
    with reference_engine.begin() as conn:
        conn.execute(
            insert(evening_ledger).values(
                student_id="stu-65a1c97c", night=date(2026, 11, 24), cap_minutes=60, reserved_minutes=60
            )
        )
    assert _count(reference_engine, evening_ledger) == 1
