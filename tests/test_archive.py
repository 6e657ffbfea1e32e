"""The trusted archive (R2, service.store.archive) on SQLite and PostgreSQL: the domain functions that
publish a set, produce a weekly notice or a burden report and record an evening's reported time
append to it; `verify` (and `jianfu archive verify`) passes on an untouched chain and names the
first bad entry when one is changed, removed or reordered, or a personal part is changed or emptied
without an erasure; a guardian's deletion leaves the chain verifiable and nothing of the student in
the archive; two processes appending at once keep one chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, update
from typer.testing import CliRunner

from jianfu.cli import app
from service import data_team, evenings, plans
from service.policy.evenings import evening_spec
from service.policy.ledger import reserve
from service.policy.policy import PolicyBook
from service.policy.proposal import PlannedItem, Proposal
from service.store import tables as t
from service.store.archive import (
    BURDEN_REPORT,
    ERASURE,
    EVENING_REPORT,
    PUBLISHED_SET,
    WEEKLY_NOTICE,
    Part,
    append,
    verify,
)
from service.store.db import make_engine, writing
from tests.conftest import ROOT, SAMPLES

BOOK = PolicyBook(SAMPLES / "policies")
NIGHT = date(2026, 11, 10)  # a Tuesday
NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
CLASS = "east-5-1"
KEY = "e" * 40


def _students(engine: Engine, n: int) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(t.students.c.student_id)
                .where(t.students.c.class_id == CLASS, t.students.c.personal_cap_minutes.is_(None))
                .order_by(t.students.c.student_id)
                .limit(n)
            ).scalars()
        )


def _publish(engine: Engine, plan_id: str, student: str) -> None:
    """A two-item maths set drafted through the ledger and published by the domain function."""
    with engine.connect() as conn:
        spec = evening_spec(conn, BOOK, student, NIGHT)
        items = list(
            conn.execute(
                select(t.items.c.item_id)
                .where(t.items.c.subject == "math")
                .order_by(t.items.c.item_id)
                .limit(2)
            ).scalars()
        )
    subject = "math" if "math" in spec.allowances else sorted(spec.allowances)[0]
    proposal = Proposal(plan_id, "t-math", student, NIGHT, subject, [PlannedItem(i, "basic", 4.0) for i in items],
                        8.0, 8.0)  # fmt: skip
    reserve(engine, proposal, spec, now=NOW)
    assert plans.publish_plan(db=engine, plan_id=plan_id, now=NOW).status == "published"


@pytest.fixture
def school(reference_engine: Engine) -> tuple[Engine, list[str]]:
    """A school whose archive holds: three published sets, two evening reports (one over the cap),
    a weekly notice and a burden report. (engine, the three students)"""
    engine = reference_engine
    students = _students(engine, 3)
    for k, sid in enumerate(students):
        _publish(engine, f"plan-{k}", sid)
    evenings.report_evening(db=engine, student_id=students[0], night=NIGHT, minutes=75.0, reported_by="parent-0",
                            now=NOW)  # fmt: skip
    evenings.report_evening(db=engine, student_id=students[1], night=NIGHT, minutes=30.0, reported_by="parent-1",
                            now=NOW)  # fmt: skip
    evenings.weekly_notice(db=engine, book=BOOK, class_id=CLASS, week_of=NIGHT, now=NOW)
    report = evenings.burden(db=engine, book=BOOK, class_id=CLASS, start=NIGHT, end=NIGHT, now=NOW)
    assert report.days[0].over_cap_students == [students[0]]  # the archived report flags someone
    return engine, students


def _kinds(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(select(t.archive_entries.c.kind).order_by(t.archive_entries.c.seq)).scalars()
        )


def _verify(engine: Engine, expect: list[tuple[int, str]] | None = None):  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return verify(conn, expect=expect or [])


def _cli(runner: CliRunner, engine: Engine, *extra: str) -> Any:
    url = engine.url.render_as_string(hide_password=False)
    return runner.invoke(app, ["archive", "verify", "--database", url, *extra])


# --- an untouched archive -------------------------------------------------------------------------


def test_the_domain_functions_append_and_an_untouched_archive_verifies(
    school: tuple[Engine, list[str]], runner: CliRunner
) -> None:
    engine, students = school
    kinds = _kinds(engine)
    assert kinds == [PUBLISHED_SET] * 3 + [EVENING_REPORT] * 2 + [WEEKLY_NOTICE, BURDEN_REPORT]
    verdict = _verify(engine)
    assert verdict.ok, [p.line() for p in verdict.problems]
    assert verdict.entries == 7 and verdict.head_seq == 7 and verdict.parts == 3 + 2 + 1
    with engine.connect() as conn:
        entries = conn.execute(select(t.archive_entries).order_by(t.archive_entries.c.seq)).all()
        bodies = [json.loads(b) for b in conn.execute(select(t.archive_parts.c.body)).scalars()]
    assert [e.prev_hash for e in entries[1:]] == [e.entry_hash for e in entries[:-1]]  # a chain
    assert {b["plan_id"] for b in bodies if "plan_id" in b} == {"plan-0", "plan-1", "plan-2"}
    for entry in entries:  # nothing of a student in the hashed part
        assert not any(sid in entry.public or sid in entry.topic for sid in students)
    result = _cli(runner, engine)
    assert result.exit_code == 0, result.output
    assert f"7:{verdict.head_hash}" in result.output
    again = _cli(runner, engine, "--expect", f"7:{verdict.head_hash}")
    assert again.exit_code == 0, again.output


def test_a_notice_read_again_unchanged_is_archived_once_and_a_changed_one_anew(
    school: tuple[Engine, list[str]],
) -> None:
    engine, _ = school
    evenings.weekly_notice(db=engine, book=BOOK, class_id=CLASS, week_of=NIGHT + timedelta(days=1), now=NOW)
    evenings.burden(db=engine, book=BOOK, class_id=CLASS, start=NIGHT, end=NIGHT, now=NOW)
    assert _kinds(engine).count(WEEKLY_NOTICE) == 1 and _kinds(engine).count(BURDEN_REPORT) == 1
    _publish(engine, "plan-3", _students(engine, 4)[3])  # the week's averages change
    evenings.weekly_notice(db=engine, book=BOOK, class_id=CLASS, week_of=NIGHT, now=NOW)
    assert _kinds(engine)[-2:] == [PUBLISHED_SET, WEEKLY_NOTICE]
    assert _verify(engine).ok


# --- tampering ------------------------------------------------------------------------------------


def test_a_changed_entry_is_found_and_named(school: tuple[Engine, list[str]], runner: CliRunner) -> None:
    engine, _ = school
    with writing(engine) as conn:
        public = conn.execute(
            select(t.archive_entries.c.public).where(t.archive_entries.c.seq == 6)
        ).scalar_one()
        notice = json.loads(public)
        notice["cap_minutes"] = 90.0  # a notice made to show a higher cap
        conn.execute(
            update(t.archive_entries).where(t.archive_entries.c.seq == 6).values(public=json.dumps(notice))
        )
    verdict = _verify(engine)
    assert not verdict.ok and verdict.first is not None
    assert verdict.first.seq == 6 and "changed" in verdict.first.en
    result = _cli(runner, engine)
    assert result.exit_code == 1
    assert "entry 6:" in result.output and "changed" in result.output


def test_a_changed_personal_part_is_found(school: tuple[Engine, list[str]]) -> None:
    engine, _ = school
    with writing(engine) as conn:
        body = conn.execute(
            select(t.archive_parts.c.body).where(t.archive_parts.c.seq == 4, t.archive_parts.c.part == 0)
        ).scalar_one()
        report = json.loads(body)
        report["minutes"] = 45.0  # an evening over the cap made to look within it
        conn.execute(
            update(t.archive_parts)
            .where(t.archive_parts.c.seq == 4, t.archive_parts.c.part == 0)
            .values(body=json.dumps(report, sort_keys=True, separators=(",", ":")))
        )
    verdict = _verify(engine)
    assert verdict.first is not None and verdict.first.seq == 4 and "part 0 was changed" in verdict.first.en


def test_a_removed_entry_is_found_and_named(school: tuple[Engine, list[str]], runner: CliRunner) -> None:
    engine, _ = school
    with writing(engine) as conn:
        conn.execute(delete(t.archive_parts).where(t.archive_parts.c.seq == 2))
        conn.execute(delete(t.archive_entries).where(t.archive_entries.c.seq == 2))
    verdict = _verify(engine)
    assert (
        verdict.first is not None
        and verdict.first.seq == 3
        and "entry 2 before it is missing" in verdict.first.en
    )
    result = _cli(runner, engine)
    assert result.exit_code == 1 and "entry 3:" in result.output and "missing" in result.output


def test_a_removed_entry_renumbered_to_close_the_gap_is_found(school: tuple[Engine, list[str]]) -> None:
    engine, _ = school
    with writing(engine) as conn:  # entry 6 (the notice) removed and the burden report moved up to 6
        conn.execute(delete(t.archive_entries).where(t.archive_entries.c.seq == 6))
        conn.execute(delete(t.archive_parts).where(t.archive_parts.c.seq == 7))  # (its part moves too)
        moved = conn.execute(select(t.archive_entries).where(t.archive_entries.c.seq == 7)).one()
        conn.execute(delete(t.archive_entries).where(t.archive_entries.c.seq == 7))
        conn.execute(t.archive_entries.insert().values({**moved._asdict(), "seq": 6}))
    verdict = _verify(engine)
    assert (
        verdict.first is not None and verdict.first.seq == 6 and "does not follow entry 5" in verdict.first.en
    )


def test_reordered_entries_are_found_and_named(school: tuple[Engine, list[str]], runner: CliRunner) -> None:
    engine, _ = school
    with writing(engine) as conn:  # the two evening reports (entries 4 and 5) swap places, parts and all
        for seq, place in ((4, 100), (5, 4), (100, 5)):
            row = conn.execute(select(t.archive_entries).where(t.archive_entries.c.seq == seq)).one()
            parts = conn.execute(select(t.archive_parts).where(t.archive_parts.c.seq == seq)).all()
            conn.execute(delete(t.archive_parts).where(t.archive_parts.c.seq == seq))
            conn.execute(delete(t.archive_entries).where(t.archive_entries.c.seq == seq))
            conn.execute(t.archive_entries.insert().values({**row._asdict(), "seq": place}))
            for part in parts:
                conn.execute(t.archive_parts.insert().values({**part._asdict(), "seq": place}))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.archive_entries)).scalar_one() == 7
    verdict = _verify(engine)
    assert verdict.first is not None and verdict.first.seq == 4 and "reordered" in verdict.first.en
    assert {p.seq for p in verdict.problems} >= {4, 5}
    result = _cli(runner, engine)
    assert result.exit_code == 1 and "entry 4:" in result.output


def test_the_last_entry_removed_is_found_against_a_recorded_head(
    school: tuple[Engine, list[str]], runner: CliRunner
) -> None:
    """The chain alone cannot tell a removed last entry from one never written (the module says so):
    a head printed earlier and kept elsewhere can."""
    engine, _ = school
    head = _verify(engine)
    with writing(engine) as conn:
        conn.execute(delete(t.archive_parts).where(t.archive_parts.c.seq == 7))
        conn.execute(delete(t.archive_entries).where(t.archive_entries.c.seq == 7))
    assert _verify(engine).ok  # the limit, as documented
    verdict = _verify(engine, [(head.head_seq, head.head_hash)])
    assert verdict.first is not None and verdict.first.seq == 7 and "recorded earlier" in verdict.first.en
    result = _cli(runner, engine, "--expect", f"{head.head_seq}:{head.head_hash}")
    assert result.exit_code == 1 and "entry 7:" in result.output


def test_a_personal_part_emptied_without_an_erasure_is_tampering(school: tuple[Engine, list[str]]) -> None:
    engine, _ = school
    with writing(engine) as conn:
        conn.execute(
            update(t.archive_parts)
            .where(t.archive_parts.c.seq == 4)
            .values(student_id=None, salt=None, body=None, erased_at=NOW)
        )
    verdict = _verify(engine)
    assert (
        verdict.first is not None and verdict.first.seq == 4 and "no erasure records it" in verdict.first.en
    )


# --- a guardian's deletion ------------------------------------------------------------------------


def test_a_guardian_deletion_keeps_the_chain_and_leaves_nothing_of_the_student(
    school: tuple[Engine, list[str]], runner: CliRunner
) -> None:
    engine, students = school
    gone = students[0]  # a published set, an evening report and the burden report's flag
    with engine.connect() as conn:
        name = conn.execute(
            select(t.students.c.display_name).where(t.students.c.student_id == gone)
        ).scalar_one()
        parts_before = conn.execute(
            select(func.count()).select_from(t.archive_parts).where(t.archive_parts.c.student_id == gone)
        ).scalar_one()
    assert parts_before == 3
    erased = data_team.erase(db=engine, student_id=gone, erasure_key=KEY, requested_by="data", now=NOW)
    assert erased.removed["archive_parts"] == 3
    verdict = _verify(engine)
    assert verdict.ok, [p.line() for p in verdict.problems]
    assert len(verdict.erased_parts) == 3 and verdict.entries == 8 and _kinds(engine)[-1] == ERASURE
    with engine.connect() as conn:
        text = json.dumps(
            [
                list(map(str, r))
                for table in (t.archive_entries, t.archive_parts)
                for r in conn.execute(select(table))
            ],
            ensure_ascii=False,
        )
        others = conn.execute(
            select(func.count())
            .select_from(t.archive_parts)
            .where(t.archive_parts.c.student_id.in_(students[1:]))
        ).scalar_one()
    assert gone not in text and name not in text  # nowhere, hashed part or not
    assert students[1] in text and others == 3  # the other students' parts are kept
    result = _cli(runner, engine)
    assert result.exit_code == 0, result.output
    assert "3 份应监护人要求已删除" in result.output


def test_a_report_read_before_a_deletion_and_archived_after_it_leaves_the_student_out(
    school: tuple[Engine, list[str]],
) -> None:
    engine, students = school
    gone, kept = students[0], students[1]
    data_team.erase(db=engine, student_id=gone, erasure_key=KEY, requested_by="data", now=NOW)
    with writing(engine) as conn:  # as a burden report computed just before the deletion would
        done = append(conn, kind=BURDEN_REPORT, topic="burden/late", public={"over_cap": 2},
                      parts=[Part(gone, {"student_id": gone}), Part(kept, {"student_id": kept})], now=NOW)  # fmt: skip
    with engine.connect() as conn:
        kept_parts = conn.execute(
            select(t.archive_parts.c.student_id).where(t.archive_parts.c.seq == done.seq)
        ).all()
        text = json.dumps([list(map(str, r)) for r in conn.execute(select(t.archive_parts))])
    assert kept_parts == [(kept,)] and gone not in text
    assert _verify(engine).ok


# --- concurrency ----------------------------------------------------------------------------------

APPENDER = """
import sys
from datetime import UTC, datetime
from service.store.archive import REPORT, append
from service.store.db import make_engine, writing
engine = make_engine(sys.argv[1])
who, count = sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()  # both start together
for i in range(count):
    with writing(engine) as conn:
        append(conn, kind=REPORT, topic=f"{who}/{i}", public={"who": who, "i": i}, now=datetime.now(UTC))
print("done", flush=True)
"""


def test_two_processes_appending_at_once_keep_one_chain(engine: Engine) -> None:
    count = 40
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    url = engine.url.render_as_string(hide_password=False)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, url, who, str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for who in ("a", "b")
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0 and out.strip() == "done", err[-3000:]
    verdict = _verify(engine)
    assert verdict.ok, [p.line() for p in verdict.problems]
    assert verdict.entries == 2 * count
    with engine.connect() as conn:
        topics = set(conn.execute(select(t.archive_entries.c.topic)).scalars())
    assert topics == {f"{w}/{i}" for w in "ab" for i in range(count)}


@pytest.mark.postgres
@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_postgres_an_append_waits_for_the_open_one_and_goes_after_it(
    postgres_server: str, outcome: str
) -> None:
    """PostgreSQL: while A's transaction holds an appended entry, B's append waits (the archive's
    lock) without reading the head; when A commits, B reads A's entry as the head and inserts once,
    at place 2; when A rolls back, B takes place 1. One chain either way."""
    from sqlalchemy import event

    from service.store.db import upgrade
    from tests.conftest import fresh_postgres_database

    engine = make_engine(fresh_postgres_database(postgres_server))
    upgrade(engine)
    try:
        first = engine.connect()
        first.begin()
        a = append(first, kind="report", topic="a", public={"n": 1}, parts=[Part("stu-x", {"n": 1})], now=NOW)
        assert a.seq == 1
        placed: dict[str, Any] = {}
        attempts: list[str] = []

        def count_inserts(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if statement.startswith("INSERT INTO archive_entries"):
                attempts.append(statement)

        event.listen(engine, "before_cursor_execute", count_inserts)

        def second() -> None:
            with writing(engine) as conn:
                placed["b"] = append(conn, kind="report", topic="b", public={"n": 2}, now=NOW)

        worker = threading.Thread(target=second)
        worker.start()
        worker.join(timeout=2.0)
        assert worker.is_alive() and attempts == []  # waiting for A's transaction, nothing tried yet
        if outcome == "commit":
            first.commit()
        else:
            first.rollback()
        first.close()
        worker.join(timeout=60)
        assert not worker.is_alive()
        assert placed["b"].seq == (2 if outcome == "commit" else 1)
        assert len(attempts) == 1  # placed at the first try
        verdict = _verify(engine)
        assert verdict.ok and verdict.entries == placed["b"].seq
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_a_set_published_while_its_student_is_erased_is_erased_too(
    postgres_server: str,
) -> None:
    """PostgreSQL: a set being published holds its plan's row; a guardian's deletion of the same
    student waits for it, then empties the set's archived part too. (An erasure that looked for the
    student's parts before deleting their rows found none and left the set's part behind.)"""
    from service.store.archive import archive_published_set
    from service.store.db import upgrade
    from service.store.importer import import_files
    from tests.conftest import REFERENCE_FILES, fresh_postgres_database

    engine = make_engine(fresh_postgres_database(postgres_server))
    upgrade(engine)
    try:
        assert import_files(engine, REFERENCE_FILES).ok
        gone = _students(engine, 1)[0]
        with engine.connect() as conn:
            spec = evening_spec(conn, BOOK, gone, NIGHT)
            item = conn.execute(
                select(t.items.c.item_id).where(t.items.c.subject == "math").limit(1)
            ).scalar_one()
        reserve(engine, Proposal("plan-x", "t-math", gone, NIGHT, sorted(spec.allowances)[0],
                                 [PlannedItem(item, "basic", 5.0)], 5.0, 5.0), spec, now=NOW)  # fmt: skip
        publishing = engine.connect()
        publishing.begin()
        publishing.execute(update(t.plans).where(t.plans.c.plan_id == "plan-x").values(status="published"))
        outcome: dict[str, Any] = {}

        def erase() -> None:
            try:
                outcome["erased"] = data_team.erase(db=engine, student_id=gone, erasure_key=KEY,
                                                    requested_by="data", now=NOW)  # fmt: skip
            except Exception as exc:
                outcome["error"] = exc

        worker = threading.Thread(target=erase)
        worker.start()
        worker.join(timeout=2.0)
        assert worker.is_alive()  # waiting for the plan's row
        archive_published_set(publishing, plan_id="plan-x", now=NOW)
        publishing.commit()
        publishing.close()
        worker.join(timeout=60)
        assert not worker.is_alive() and "error" not in outcome, outcome
        assert outcome["erased"].removed["archive_parts"] == 1
        verdict = _verify(engine)
        assert verdict.ok and verdict.erased_parts == [(1, 0)] and verdict.entries == 2
    finally:
        engine.dispose()


def test_reads_of_weeks_and_ranges_without_homework_add_no_entries(school: tuple[Engine, list[str]]) -> None:
    """A notice or burden view is archived when it has something in it: asking for every Monday of a
    century must not grow the chain (review of the archive: a read-only route wrote an entry each)."""
    engine, _ = school
    before = _kinds(engine)
    for weeks in range(1, 30):
        evenings.weekly_notice(db=engine, book=BOOK, class_id=CLASS, week_of=NIGHT - timedelta(weeks=52 * weeks),
                               now=NOW)  # fmt: skip
    evenings.burden(db=engine, book=BOOK, class_id=CLASS, start=NIGHT - timedelta(days=400),
                    end=NIGHT - timedelta(days=350), now=NOW)  # fmt: skip
    assert _kinds(engine) == before


def test_a_night_with_fewer_than_three_reports_keeps_its_average_out_of_the_archive(
    school: tuple[Engine, list[str]],
) -> None:
    """The burden report's public part outlives any erasure: an average of one or two reports is those
    students' own minutes, so it is not archived (the report itself still shows it)."""
    import json

    engine, _ = school
    shown = evenings.burden(db=engine, book=BOOK, class_id=CLASS, start=NIGHT, end=NIGHT, now=NOW)
    assert 0 < shown.days[0].reports < 3 and shown.days[0].reported_minutes is not None  # the setup
    with engine.connect() as conn:
        public = conn.execute(
            select(t.archive_entries.c.public).where(t.archive_entries.c.kind == BURDEN_REPORT)
        ).scalar_one()
    (day,) = json.loads(public)["days"]
    assert day["reports"] == shown.days[0].reports and day["reported_minutes"] is None
