"""service.data_team without HTTP: a guardian's deletion removes the student from every table and
every export; an import with a bad row names file, row and field and writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service import data_team
from service.errors import ImportRefused, NotFound
from service.runtime import Services
from service.store import tables as t
from tests.domain.conftest import students_of

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_erasure_removes_the_student_from_every_table_and_every_export(svc: Services) -> None:
    gone = students_of(svc.engine)[0]
    result = data_team.erase(db=svc.engine, student_id=gone, requested_by="data", now=NOW)
    assert result.student_id == gone and result.removed["students"] == 1 and result.removed["attempts"] > 0
    with svc.engine.connect() as conn:
        for table in (t.students, t.attempts, t.error_book, t.plans, t.evening_ledger):
            left = conn.execute(select(func.count()).select_from(table).where(table.c.student_id == gone))
            assert left.scalar_one() == 0, table.name
        ids = set(conn.execute(select(t.students.c.student_id)).scalars())
    with pytest.raises(NotFound):
        data_team.erase(db=svc.engine, student_id=gone, requested_by="data", now=NOW)
    text = "".join(data_team.export_csv(db=svc.engine, key=svc.key, kind="attempts"))
    lines = text.splitlines()
    assert lines[0].startswith("student,") and len(lines) > 1000
    assert not any(sid in text for sid in ids | {gone})  # pseudonyms only
    assert all(line.split(",")[0].startswith("p-") for line in lines[1:])
    with pytest.raises(NotFound):
        data_team.export_csv(db=svc.engine, key=svc.key, kind="names")


def test_an_import_with_a_bad_row_names_it_and_writes_nothing(svc: Services, tmp_path: Path) -> None:
    sid = students_of(svc.engine)[0]
    bad = tmp_path / "attempts.csv"
    bad.write_text("event_id,student_id,item_id,night,submitted_at,correct,seconds,score,source\n"
                   f"new-1,{sid},math-g5-01-001,2026-11-10,2026-11-10T19:00:00+08:00,1,60,,app\n"
                   f"new-2,{sid},math-g5-01-001,2026-11-10,2026-11-10T19:05:00+08:00,maybe,60,,app\n",
                   encoding="utf-8")  # fmt: skip
    with svc.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(t.attempts)).scalar_one()
    with pytest.raises(ImportRefused) as refused:
        data_team.import_paths(db=svc.engine, paths=[bad])
    first = refused.value.extra["problems"][0]
    assert (first["file"], first["row"], first["field"]) == ("attempts.csv", 3, "correct")
    with svc.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.attempts)).scalar_one() == before
