"""service.data_team without HTTP, on SQLite and PostgreSQL: a guardian's deletion removes the
student from every table, every export and every process's memory, keeps only a keyed hash, and
later imports leave the student out; an import with a bad row names file, row and field and writes
nothing."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from service import data_team
from service.errors import ImportRefused, NotFound
from service.planner.context import StateCache
from service.runtime import Services
from service.store import tables as t
from service.store.erasure import KEYED, UNKEYED, erased_hash, unkeyed_hash
from tests.conftest import SAMPLES
from tests.domain.conftest import NIGHT, students_of

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_erasure_removes_the_student_from_every_table_and_every_export(svc: Services) -> None:
    gone = students_of(svc.engine)[0]
    result = data_team.erase(
        db=svc.engine, student_id=gone, erasure_key=svc.settings.erasure_key(), requested_by="data", now=NOW
    )
    assert result.student_id == gone and result.removed["students"] == 1 and result.removed["attempts"] > 0
    with svc.engine.connect() as conn:
        for table in (t.students, t.attempts, t.error_book, t.plans, t.evening_ledger):
            left = conn.execute(select(func.count()).select_from(table).where(table.c.student_id == gone))
            assert left.scalar_one() == 0, table.name
        ids = set(conn.execute(select(t.students.c.student_id)).scalars())
    with pytest.raises(NotFound):
        data_team.erase(
            db=svc.engine,
            student_id=gone,
            erasure_key=svc.settings.erasure_key(),
            requested_by="data",
            now=NOW,
        )
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
        data_team.import_paths(db=svc.engine, paths=[bad], erasure_key=svc.settings.erasure_key())
    first = refused.value.extra["problems"][0]
    assert (first["file"], first["row"], first["field"]) == ("attempts.csv", 3, "correct")
    with svc.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.attempts)).scalar_one() == before


def _rows_of(kind: str, student: str, limit: int | None = None) -> tuple[str, list[str]]:
    """The header of the sample file `kind` and (up to `limit` of) the student's rows in it."""
    header, *rows = (SAMPLES / f"{kind}.csv").read_text(encoding="utf-8").splitlines()
    return header, [r for r in rows if f",{student}," in r][:limit]


def test_after_a_deletion_imports_without_students_csv_leave_the_student_out_and_say_how_many(
    svc: Services, tmp_path: Path
) -> None:
    """Finding 7: an attempts-only or error-book-only import was refused whole ("unknown student",
    with the deleted id) unless students.csv came with it. Now the rows are left out unread, even a
    bad one, counted, and the id is in no message; the other students' rows are imported."""
    gone, other = students_of(svc.engine)[:2]
    key = svc.settings.erasure_key()
    data_team.erase(db=svc.engine, student_id=gone, erasure_key=key, requested_by="data", now=NOW)
    header, mine = _rows_of("attempts", gone, 30)
    bad = f"new-bad,{gone},math-g5-01-001,2026-11-10,2026-11-10T19:05:00+08:00,maybe,60,,app"
    theirs = f"new-ok,{other},math-g5-01-001,2026-11-10,2026-11-10T19:00:00+08:00,1,60,,app"
    attempts = tmp_path / "a" / "attempts.csv"
    attempts.parent.mkdir()
    attempts.write_text("\n".join([header, *mine, bad, theirs]) + "\n", encoding="utf-8")
    eb_header, eb_mine = _rows_of("error_book", gone)
    error_book = tmp_path / "e" / "error_book.csv"
    error_book.parent.mkdir()
    error_book.write_text("\n".join([eb_header, *eb_mine]) + "\n", encoding="utf-8")
    assert mine and eb_mine

    result = data_team.import_paths(db=svc.engine, paths=[attempts], erasure_key=key)
    assert result.committed and result.erased_rows_left_out == len(mine) + 1
    assert result.counts["attempts"]["inserted"] == 1
    assert gone not in result.model_dump_json()
    result = data_team.import_paths(db=svc.engine, paths=[error_book], erasure_key=key)
    assert result.committed and result.erased_rows_left_out == len(eb_mine)
    with svc.engine.connect() as conn:
        for table in (t.students, t.attempts, t.error_book):
            left = conn.execute(select(func.count()).select_from(table).where(table.c.student_id == gone))
            assert left.scalar_one() == 0, table.name
        new = conn.execute(select(t.attempts.c.student_id).where(t.attempts.c.event_id == "new-ok"))
        assert new.scalar_one() == other


def test_the_deletion_record_is_a_keyed_hash_not_found_again_from_the_roster(svc: Services) -> None:
    """Finding 7: the record was sha256(id), found again from the roster at once. Now it is
    HMAC-SHA256 with the deployment's erasure key: without the key the roster matches nothing."""
    roster = students_of(svc.engine)
    gone = roster[0]
    key = svc.settings.erasure_key()
    data_team.erase(db=svc.engine, student_id=gone, erasure_key=key, requested_by="data", now=NOW)
    with svc.engine.connect() as conn:
        records = conn.execute(select(t.erasures.c.student_hash, t.erasures.c.scheme)).all()
    assert [tuple(r) for r in records] == [
        (hmac.new(key.encode(), gone.encode(), hashlib.sha256).hexdigest(), KEYED)
    ]
    unkeyed = {hashlib.sha256(s.encode()).hexdigest() for s in roster}
    assert not unkeyed & {r.student_hash for r in records}


def test_a_record_made_before_keys_still_leaves_the_student_out_and_is_keyed_when_the_id_returns(
    svc: Services, tmp_path: Path
) -> None:
    """Records from before migration 0007 are sha256(id): they cannot be re-keyed without the id, so
    they are matched as they are and replaced by the keyed hash once an import brings the id."""
    gone = students_of(svc.engine)[0]
    key = svc.settings.erasure_key()
    data_team.erase(db=svc.engine, student_id=gone, erasure_key=key, requested_by="data", now=NOW)
    with svc.engine.begin() as conn:  # as the record was written before keys
        conn.execute(update(t.erasures).values(student_hash=unkeyed_hash(gone), scheme=UNKEYED))
    header, mine = _rows_of("attempts", gone, 5)
    (tmp_path / "attempts.csv").write_text("\n".join([header, *mine]) + "\n", encoding="utf-8")
    result = data_team.import_paths(db=svc.engine, paths=[tmp_path / "attempts.csv"], erasure_key=key)
    assert result.committed and result.erased_rows_left_out == len(mine)
    with svc.engine.connect() as conn:
        records = conn.execute(select(t.erasures.c.student_hash, t.erasures.c.scheme)).all()
        assert [tuple(r) for r in records] == [(erased_hash(key, gone), KEYED)]
        left = select(func.count()).select_from(t.attempts).where(t.attempts.c.student_id == gone)
        assert conn.execute(left).scalar_one() == 0


def test_every_process_s_state_cache_drops_a_deleted_student(svc: Services) -> None:
    """Another process's (or worker's) state cache, warm with the student's answers, drops them at
    its next catch-up after the deletion: nothing of the student stays in memory."""
    class_ids = students_of(svc.engine)
    gone = class_ids[0]
    elsewhere = StateCache(svc.model().bundle.priors)  # not this process's: forget_states cannot reach it
    with svc.engine.connect() as conn:
        elsewhere.catch_up(conn, class_ids, NIGHT)
    assert elsewhere.entries[gone].count > 0
    data_team.erase(
        db=svc.engine, student_id=gone, erasure_key=svc.settings.erasure_key(), requested_by="data", now=NOW
    )
    with svc.engine.connect() as conn:
        elsewhere.catch_up(conn, class_ids[1:], NIGHT)
    assert gone not in elsewhere.entries and class_ids[1] in elsewhere.entries
