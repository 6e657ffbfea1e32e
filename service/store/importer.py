"""Bulk import of the contract's files into the database, all or nothing.

Two phases. First every file is read and every row validated (models.schema) and compared with what
is stored, holding no write lock: the rows to write are spooled to a temporary file, a chunk at a
time. Then, only if nothing is wrong (and not a dry run), they are written in one transaction, the
shortest the database allows: on SQLite the write lock is held for the writing alone. If anything
is wrong nothing is written and the database is exactly as it was. Attempts are append-only and
idempotent by event_id (the same event_id with other content is an error); reference records
(schools, items, students, …) are upserted. On PostgreSQL new attempts go in with COPY. If the
database changed between the phases so that a row no longer fits (another writer stored the same
key), the import is checked again from the start, once.

`progress` (if given) is called now and then with the report: rows checked, rows written, phase.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv
from sqlalchemy import Connection, Engine, Table, and_, delete, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from models.bulk import NotPlain, accepted_batches, attempts_of
from models.files import Problems, kind_of, validated_records
from models.schema import (
    IMPORT_ORDER,
    Attempt,
    ErrorBookEntry,
    Item,
    KnowledgePoint,
    Known,
    RecordSpec,
    SchoolClass,
    check_knowledge_graph,
    record_as_dict,
    record_values,
    spec_for,
)
from service.store import tables as t
from service.store.db import writing
from service.store.erasure import Erasures, load_erasures
from service.store.versions import ITEMS, bump

CHUNK = 20_000
WRITE_ROWS = (
    16_384  # a clean attempts file is written this many rows at a time (its values as Python objects)
)
ATTEMPTS = 2  # an import is checked again once if the database changed under it between the phases
log = logging.getLogger("jianfu.store")


@dataclass
class Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"{self.inserted} new, {self.updated} updated, {self.unchanged} unchanged"


@dataclass
class ImportReport:
    problems: Problems
    counts: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    files: list[tuple[Path, str]] = field(default_factory=list)
    committed: bool = False
    erased_rows: int = 0  # rows of students erased on a guardian's request: left out, never read
    erasures: Erasures = field(default_factory=Erasures)  # who they are (service.store.erasure)
    phase: str = "checking"  # then "writing" (the write transaction), then "done"
    rows_checked: int = 0
    rows_written: int = 0
    rows_to_write: int = 0  # known once checked: every row the write phase handles
    progress: Callable[[ImportReport], None] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def tell(self) -> None:
        if self.progress is not None:
            self.progress(self)


@dataclass(frozen=True)
class _TableRef:
    """In the spool, in place of rows: a clean attempts file's typed columns, in the spool's table part
    `part` (an Arrow stream of its own temporary file)."""

    part: int
    rows: int


class _TablePart:
    """A clean attempts file's typed columns as the checking phase accepts them, batch by batch, in an
    Arrow stream in a file of its own in the spool's folder (removed when closed): memory holds one
    batch, not the file. Written and read by Arrow's own file I/O: through a Python file object,
    Arrow's writes went through Python bytes and the import's memory peaked about 100 MB higher."""

    def __init__(self, folder: Path | None) -> None:
        handle, name = tempfile.mkstemp(dir=folder, prefix="spool-table-", suffix=".arrows")
        os.close(handle)
        self.path = Path(name)
        self.sink: pa.NativeFile | None = None
        self.writer: pa.RecordBatchStreamWriter | None = None
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if self.writer is None:
            self.sink = pa.OSFile(str(self.path), "wb")
            self.writer = pa.ipc.new_stream(self.sink, table.schema)
        self.writer.write_table(table, max_chunksize=WRITE_ROWS)
        self.rows += table.num_rows

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self.writer is None or self.sink is None:
            return
        self.writer.close()
        self.sink.close()
        self.writer = None
        with pa.OSFile(str(self.path), "rb") as source:
            yield from pa.ipc.open_stream(source)

    def close(self) -> None:
        if self.sink is not None:
            self.sink.close()
        self.path.unlink(missing_ok=True)


class _Spool:
    """The rows the checking phase found to write, pickled chunk by chunk to a temporary file (the
    import's own, read back once by the same process), so memory holds one chunk, not the import;
    clean attempts files' columns in table parts of their own (_TablePart)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.file = tempfile.TemporaryFile(dir=folder, prefix="spool-")  # noqa: SIM115  (closed by close())
        self.count = 0
        self.rows = 0
        self.attempt_files: set[str] = set()
        self.parts: list[_TablePart | None] = []

    def table_part(self) -> tuple[int, _TablePart]:
        part = _TablePart(self.folder)
        self.parts.append(part)
        return len(self.parts) - 1, part

    def drop(self, index: int) -> None:
        part = self.parts[index]
        if part is not None:
            part.close()
            self.parts[index] = None

    def batches(self, ref: _TableRef) -> Iterator[pa.RecordBatch]:
        part = self.parts[ref.part]
        assert part is not None
        return part.batches()

    def add(self, kind: str, name: str, rows: Any, size: int) -> None:
        """Rows of file `name` to write: (row number, record) pairs, or a clean attempts table. Attempts
        are marked to be compared again if another file's attempts came first (the same event may be
        in both: the first file's is stored by the time the second's is written)."""
        recheck = kind == "attempts" and bool(self.attempt_files - {name})
        if kind == "attempts":
            self.attempt_files.add(name)
        pickle.dump((kind, name, rows, recheck), self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += 1
        self.rows += size

    def entries(self) -> Iterator[tuple[Any, ...]]:
        self.file.seek(0)
        for _ in range(self.count):
            yield pickle.load(self.file)  # our own file, written above by this import

    def close(self) -> None:
        self.file.close()
        for index in range(len(self.parts)):
            self.drop(index)


class _Refused(Exception):
    """Problems found while writing (a row that differs from one an earlier file wrote): roll back."""


def find_files(paths: Iterable[Path], problems: Problems, kind: str | None = None) -> list[tuple[Path, str]]:
    """The (file, kind) pairs named by paths (files, or folders of files), in import order."""
    found: list[tuple[Path, str]] = []
    for path in paths:
        if path.is_dir():
            candidates = sorted(
                p for p in path.iterdir() if p.suffix.lower() in {".csv", ".parquet", ".pq", ".xlsx"}
            )
            if not candidates:
                problems.add(
                    str(path),
                    None,
                    None,
                    "文件夹中没有 CSV、Excel（.xlsx）或 Parquet 文件",
                    "no CSV, Excel (.xlsx) or Parquet files in this folder",
                )
        elif path.exists():
            candidates = [path]
        else:
            problems.add(str(path), None, None, "文件不存在", "no such file")
            continue
        for candidate in candidates:
            file_kind = kind or kind_of(candidate)
            if file_kind is None:
                if candidate.parent != path:  # named explicitly: say why it is not read
                    problems.add(
                        str(candidate), None, None,
                        f"无法从文件名判断记录类型；文件名应以 {', '.join(IMPORT_ORDER)} 之一开头，或使用 --kind",
                        f"cannot tell the record kind from the file name; start it with one of "
                        f"{', '.join(IMPORT_ORDER)}, or pass --kind",
                    )  # fmt: skip
                continue
            found.append((candidate, file_kind))
    found.sort(key=lambda pair: (IMPORT_ORDER.index(pair[1]), str(pair[0])))
    return found


def _erased(report: ImportReport) -> Callable[[str], bool] | None:
    """The rows to leave out, unread (models.files.validated_records), counted: those of students
    erased on a guardian's request. Never an error, and their ids are named nowhere."""
    if not report.erasures:
        return None

    def erased(student_id: str) -> bool:
        if student_id in report.erasures:
            report.erased_rows += 1
            return True
        return False

    return erased


def _settings_erasure_key() -> str:
    from service.settings import get_settings

    return get_settings().erasure_key()


def load_known(conn: Connection, now: datetime | None = None) -> Known:
    known = Known() if now is None else Known(now=now)
    known.schools = dict(conn.execute(select(t.schools.c.school_id, t.schools.c.timezone)).all())
    known.kp_subjects = dict(
        conn.execute(select(t.knowledge_points.c.kp_id, t.knowledge_points.c.subject)).all()
    )
    prerequisites: dict[str, list[str]] = defaultdict(list)
    for kp_id, pre in conn.execute(select(t.kp_prerequisites.c.kp_id, t.kp_prerequisites.c.prerequisite_id)):
        prerequisites[kp_id].append(pre)
    known.kp_prerequisites = {kp: tuple(pres) for kp, pres in prerequisites.items()}
    known.item_subjects = dict(conn.execute(select(t.items.c.item_id, t.items.c.subject)).all())
    known.class_schools = dict(conn.execute(select(t.classes.c.class_id, t.classes.c.school_id)).all())
    subjects: dict[str, list[str]] = defaultdict(list)
    for class_id, subject in conn.execute(select(t.class_subjects.c.class_id, t.class_subjects.c.subject)):
        subjects[class_id].append(subject)
    known.class_subjects = {c: tuple(s) for c, s in subjects.items()}
    known.student_classes = dict(conn.execute(select(t.students.c.student_id, t.students.c.class_id)).all())
    return known


def import_files(
    engine: Engine,
    paths: Sequence[Path],
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    kind: str | None = None,
    max_problems: int = 100,
    bulk: bool = True,
    progress: Callable[[ImportReport], None] | None = None,
    spool_dir: Path | None = None,
    erasure_key: str | None = None,
) -> ImportReport:
    """Validate and import; commit only if every row of every file is valid (and not dry_run).

    With bulk (the default), a clean attempts file is accepted and written whole-column
    (models.bulk); any file it does not accept is checked row by row, which names every problem.
    The rows to write wait in a temporary file in `spool_dir` (default: the system's).
    Rows of students erased on a guardian's request are left out and counted (`erased_rows`);
    erasure_key: the deployment's (default: the settings'), needed only once someone was erased.
    """
    for attempt in range(1, ATTEMPTS + 1):
        report = ImportReport(problems=Problems(limit=max_problems), progress=progress)
        report.files = find_files(paths, report.problems, kind)
        spool = _Spool(spool_dir)
        try:
            _check(engine, report, spool, now=now, bulk=bulk, erasure_key=erasure_key)
            if report.problems or dry_run:
                report.phase = "done"
                report.tell()
                return report
            _write_spooled(engine, report, spool)
            return report
        except IntegrityError:
            if attempt == ATTEMPTS:
                raise
            log.info("the database changed while the import was checked; checking it again")
        finally:
            spool.close()
    raise AssertionError("unreachable")


def _check(
    engine: Engine,
    report: ImportReport,
    spool: _Spool,
    *,
    now: datetime | None,
    bulk: bool,
    erasure_key: str | None,
) -> None:
    """The first phase: every row validated and compared with the database; nothing written."""
    with engine.connect() as conn:
        known = load_known(conn, now)
        report.erasures = load_erasures(conn, erasure_key or _settings_erasure_key)
        for path, file_kind in report.files:
            if bulk and file_kind == "attempts" and _bulk_attempts(conn, path, known, report, spool):
                continue
            _import_file(conn, path, spec_for(file_kind), known, report, spool)
        conn.rollback()
    report.tell()


def _write_spooled(engine: Engine, report: ImportReport, spool: _Spool) -> None:
    """The second phase: the spooled rows (only what is new or changed) in one write transaction.
    The counts are the first phase's; attempts that another file of this import stored first are
    compared again here and counted as unchanged (or refused if they differ)."""
    report.phase = "writing"
    report.rows_to_write = spool.rows
    report.tell()
    try:
        with writing(engine) as conn:
            for file_kind, name, rows, recheck in spool.entries():
                if isinstance(rows, _TableRef):
                    _write_attempt_batches(conn, name, spool.batches(rows), report, recheck=recheck)
                    if report.problems:
                        raise _Refused
                    continue  # counted as written batch by batch
                if file_kind == "attempts":
                    _write_new_attempts(conn, rows, name, report, recheck=recheck)
                    size = len(rows)
                else:
                    _upsert(conn, spec_for(file_kind), [record for _, record in rows], Counts(), store=True)
                    size = len(rows)
                if report.problems:
                    raise _Refused
                report.rows_written += size
                report.tell()
            items = report.counts.get("items")
            if items and (items.inserted or items.updated):  # every process's item snapshot is stale
                bump(conn, ITEMS)
            report.erasures.rekey(conn)  # unkeyed deletion records whose id came again
    except _Refused:
        return  # rolled back; the problems are in the report
    report.committed = True
    report.phase = "done"
    report.tell()


def _import_file(
    conn: Connection, path: Path, spec: RecordSpec, known: Known, report: ImportReport, spool: _Spool
) -> None:
    problems = report.problems
    name = str(path)
    seen: dict[tuple[Any, ...], tuple[int, Any]] = {}
    chunk: list[Any] = []
    kps: list[tuple[int, KnowledgePoint]] = []
    checked_before = report.rows_checked
    for row_no, record in validated_records(path, spec, known, problems, leave_out=_erased(report)):
        report.rows_checked = checked_before + row_no - 1  # row 1 is the header
        key = spec.key_of(record)
        earlier = seen.get(key)
        if earlier is not None:
            if earlier[1] != _fingerprint(record):
                key_text = "/".join(map(str, key))
                problems.add(
                    name, row_no, spec.key[0],
                    f"{'/'.join(spec.key)} {key_text} 在第 {earlier[0]} 行已出现，但内容不同",
                    f"{'/'.join(spec.key)} {key_text} already appears in row {earlier[0]} with different content",
                )  # fmt: skip
            continue
        seen[key] = (row_no, _fingerprint(record))
        known.remember(record)
        if isinstance(record, KnowledgePoint):
            kps.append((row_no, record))
        chunk.append((row_no, record))
        if len(chunk) >= CHUNK:
            _stage(conn, spec, chunk, name, report, spool)
            chunk = []
    if kps:
        for row_no, column, error in check_knowledge_graph(kps, known):
            problems.add(name, row_no, column, error.zh, error.en)
    _stage(conn, spec, chunk, name, report, spool)


def _stage(
    conn: Connection, spec: RecordSpec, chunk: list[tuple[int, Any]], name: str, report: ImportReport,
    spool: _Spool,
) -> None:  # fmt: skip
    """A checked chunk: compared with what is stored (problems, counts); what is new or changed is
    spooled for writing."""
    report.tell()
    if not chunk or report.problems:
        return  # nothing to write, or the import is already lost: keep validating, spool nothing
    if spec.immutable:
        to_write = _write_attempts(conn, chunk, name, report, store=False)
    else:
        records = _upsert(conn, spec, [record for _, record in chunk], report.counts[spec.kind], store=False)
        kept = {id(record) for record in records}
        to_write = [(row_no, record) for row_no, record in chunk if id(record) in kept]
    if to_write and not report.problems:
        spool.add(spec.kind, name, to_write, len(to_write))


def _fingerprint(record: Any) -> tuple[Any, ...]:
    # Aware datetimes compare as instants: the same moment written with another offset is equal.
    return record_values(record)


# ----------------------------------------------------------------------------------------------
# Row shapes: a record becomes one main-table row plus its link-table rows.


def _offset_minutes(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    offset = moment.utcoffset()
    assert offset is not None
    return int(offset.total_seconds() // 60)


def _main_row(record: Any) -> dict[str, Any]:
    row = record_as_dict(record)
    match record:
        case KnowledgePoint():
            row.pop("prerequisites")
        case Item():
            row.pop("kp_ids")
        case SchoolClass():
            row.pop("subjects")
        case ErrorBookEntry():
            row["created_offset_min"] = _offset_minutes(record.created_at)
            row["resolved_offset_min"] = _offset_minutes(record.resolved_at)
    return row


def _links(record: Any) -> tuple[Table, list[dict[str, Any]]] | None:
    match record:
        case KnowledgePoint():
            return t.kp_prerequisites, [
                {"kp_id": record.kp_id, "prerequisite_id": p} for p in record.prerequisites
            ]
        case Item():
            return t.item_kps, [
                {"item_id": record.item_id, "kp_id": kp, "position": i} for i, kp in enumerate(record.kp_ids)
            ]
        case SchoolClass():
            return t.class_subjects, [{"class_id": record.class_id, "subject": s} for s in record.subjects]
    return None


TABLES: dict[str, Table] = {
    "schools": t.schools,
    "knowledge_points": t.knowledge_points,
    "items": t.items,
    "classes": t.classes,
    "students": t.students,
    "teaching_progress": t.teaching_progress,
    "calendar": t.calendar_days,
    "attempts": t.attempts,
    "error_book": t.error_book,
}


def _upsert(
    conn: Connection, spec: RecordSpec, records: list[Any], counts: Counts, *, store: bool
) -> list[Any]:
    """Compare records with what is stored and count them; with `store`, write what is new or
    changed. The records that are new or changed."""
    table = TABLES[spec.kind]
    key_columns = [table.c[k] for k in spec.key]
    rows = [_main_row(r) for r in records]
    keys = [tuple(row[k] for k in spec.key) for row in rows]
    existing: dict[tuple[Any, ...], dict[str, Any]] = {}
    for start in range(0, len(keys), 500):
        part = keys[start : start + 500]
        query = select(table).where(
            tuple_(*key_columns).in_(part)
            if len(key_columns) > 1
            else key_columns[0].in_([k[0] for k in part])
        )
        for found in conn.execute(query).mappings():
            existing[tuple(found[k] for k in spec.key)] = dict(found)
    new_rows, changed_rows, relink = [], [], []
    for record, row, key in zip(records, rows, keys, strict=True):
        old = existing.get(key)
        if old is None:
            new_rows.append(row)
            relink.append(record)
        elif _differs(old, row) or _links_differ(conn, record):
            changed_rows.append(row)
            relink.append(record)
        else:
            counts.unchanged += 1
    if not store:
        counts.inserted += len(new_rows)
        counts.updated += len(changed_rows)
        return relink
    if new_rows:
        conn.execute(insert(table), new_rows)
        counts.inserted += len(new_rows)
    for row in changed_rows:
        conn.execute(update(table).where(and_(*(c == row[c.name] for c in key_columns))).values(row))
        counts.updated += 1
    for record in relink:
        links = _links(record)
        if links is None:
            continue
        link_table, link_rows = links
        owner = next(iter(link_table.primary_key.columns))
        conn.execute(delete(link_table).where(owner == getattr(record, owner.name)))
        if link_rows:
            conn.execute(insert(link_table), link_rows)
    return relink


def _differs(old: dict[str, Any], new: dict[str, Any]) -> bool:
    return any(old.get(k) != v for k, v in new.items())


def _links_differ(conn: Connection, record: Any) -> bool:
    links = _links(record)
    if links is None:
        return False
    link_table, link_rows = links
    owner = next(iter(link_table.primary_key.columns))
    stored = {tuple(r) for r in conn.execute(select(link_table).where(owner == getattr(record, owner.name)))}
    return stored != {tuple(r[c.name] for c in link_table.columns) for r in link_rows}


# ----------------------------------------------------------------------------------------------
# Attempts: append-only, idempotent by event_id, fast.

_ATTEMPT_COLUMNS = (
    "event_id",
    "student_id",
    "item_id",
    "night",
    "submitted_at",
    "submitted_offset_min",
    "correct",
    "seconds",
    "score",
    "source",
)


def _attempt_row(a: Attempt) -> tuple[Any, ...]:
    return (
        a.event_id,
        a.student_id,
        a.item_id,
        a.night,
        a.submitted_at,
        _offset_minutes(a.submitted_at),
        a.correct,
        a.seconds,
        a.score,
        a.source,
    )


def _write_attempts(
    conn: Connection, chunk: list[tuple[int, Any]], name: str, report: ImportReport, *, store: bool
) -> list[tuple[int, Any]]:
    """Compare attempts with what is stored (the same event_id must be the same answer) and count
    them; with `store`, write the new ones. The new ones, with their row numbers."""
    counts = report.counts["attempts"]
    by_id = {record.event_id: (row_no, record) for row_no, record in chunk}
    ids = list(by_id)
    for start in range(0, len(ids), 5000):
        query = select(t.attempts).where(t.attempts.c.event_id.in_(ids[start : start + 5000]))
        for stored in conn.execute(query).mappings():
            row_no, record = by_id.pop(stored["event_id"])
            if _stored_attempt(stored) != _fingerprint(record):
                report.problems.add(
                    name, row_no, "event_id",
                    f"事件 {record.event_id} 已导入过，但内容不同（同一 event_id 必须是同一次作答）",
                    f"event {record.event_id} was imported before with different content "
                    "(one event_id is one answer)",
                )  # fmt: skip
            else:
                counts.unchanged += 1
    if report.problems or not by_id:
        return []
    if store:
        _store_new_attempts(conn, [record for _, record in by_id.values()])
    counts.inserted += len(by_id)
    return list(by_id.values())


def _write_new_attempts(
    conn: Connection, pairs: list[tuple[int, Any]], name: str, report: ImportReport, *, recheck: bool
) -> None:
    """Store attempts the first phase found new (and counted as inserted); with `recheck`, compare
    them again first (another file of this import may have stored the same events)."""
    if not recheck:
        _store_new_attempts(conn, [record for _, record in pairs])
        return
    report.counts["attempts"].inserted -= len(pairs)  # counted again as they are found now
    _write_attempts(conn, pairs, name, report, store=True)


def _store_new_attempts(conn: Connection, records: list[Attempt]) -> None:
    if conn.dialect.name == "postgresql":
        _copy_attempts(conn, records)
    elif conn.dialect.name == "sqlite":
        _sqlite_insert_attempts(conn, records)
    else:
        conn.execute(
            insert(t.attempts), [dict(zip(_ATTEMPT_COLUMNS, _attempt_row(r), strict=True)) for r in records]
        )


def _bulk_attempts(conn: Connection, path: Path, known: Known, report: ImportReport, spool: _Spool) -> bool:
    """Spool a clean attempts file whole-column, a batch at a time; False (nothing spooled, nothing
    counted) if it needs row checks."""
    index, part = spool.table_part()
    checked = 0
    try:
        for table in accepted_batches(path, known):
            if _any_stored(conn, table.column("event_id")):
                raise NotPlain  # event ids seen before: the row path compares content
            if report.erasures and any(
                s in report.erasures for s in pc.unique(table.column("student_id")).to_pylist()
            ):
                raise NotPlain  # the row path leaves the erased students' answers out
            checked += table.num_rows
            report.rows_checked += table.num_rows
            if not report.problems:  # an earlier file failed: validate this one, write nothing
                part.write(table)
            report.tell()
    except NotPlain:
        report.rows_checked -= checked
        spool.drop(index)
        return False
    if report.problems:
        spool.drop(index)
    else:
        spool.add("attempts", str(path), _TableRef(index, checked), checked)
        report.counts["attempts"].inserted += checked
    report.tell()
    return True


def _write_attempt_batches(
    conn: Connection, name: str, batches: Iterable[pa.RecordBatch], report: ImportReport, *, recheck: bool
) -> None:
    """Write a spooled clean attempts file whole-column, a batch at a time. After another attempts
    file of the same import (`recheck`), its event ids may be stored already: then that batch's rows
    are compared one by one."""
    first_row = 2  # row 1 is the header
    for batch in batches:
        table = pa.Table.from_batches([batch])
        if recheck and _any_stored(conn, table.column("event_id")):
            records = list(enumerate(attempts_of(table), start=first_row))
            _write_new_attempts(conn, records, name, report, recheck=True)
            if report.problems:
                return
        elif conn.dialect.name == "postgresql":
            _copy_attempt_table(conn, table)
        elif conn.dialect.name == "sqlite":
            _insert_attempt_table(conn, table)
        else:
            _store_new_attempts(conn, attempts_of(table))
        first_row += table.num_rows
        report.rows_written += table.num_rows
        report.tell()


def _any_stored(conn: Connection, event_ids: pa.ChunkedArray) -> bool:
    if conn.execute(select(t.attempts.c.event_id).limit(1)).first() is None:
        return False
    column = t.attempts.c.event_id
    for start in range(0, len(event_ids), 5000):
        part = event_ids.slice(start, 5000).to_pylist()
        if conn.execute(select(column).where(column.in_(part)).limit(1)).first():
            return True
    return False


def _copy_attempt_table(conn: Connection, table: pa.Table) -> None:
    """COPY in PostgreSQL's CSV format, written by Arrow (ids are plain: nothing needs quoting)."""
    driver = conn.connection.driver_connection
    assert driver is not None
    columns = ", ".join(f'"{c}"' for c in table.column_names)
    with driver.cursor() as cursor, cursor.copy(f"COPY attempts ({columns}) FROM STDIN (FORMAT csv)") as copy:
        for batch in table.to_batches(max_chunksize=50_000):
            buffer = io.BytesIO()
            pv.write_csv(batch, buffer, pv.WriteOptions(include_header=False))
            copy.write(buffer.getvalue())


def _insert_attempt_table(conn: Connection, table: pa.Table) -> None:
    """executemany with values in SQLAlchemy's storage format (as _sqlite_insert_attempts)."""
    stamps = pc.strftime(table.column("submitted_at"), "%Y-%m-%d %H:%M:%S")  # microseconds included
    columns = [
        table.column("event_id"), table.column("student_id"), table.column("item_id"),
        pc.cast(table.column("night"), pa.string()), stamps, table.column("submitted_offset_min"),
        pc.cast(table.column("correct"), pa.int8()), table.column("seconds"), table.column("score"),
        table.column("source"),
    ]  # fmt: skip
    _sqlite_executemany(conn, zip(*(c.to_pylist() for c in columns), strict=True))


def _stored_attempt(stored: Any) -> tuple[Any, ...]:
    return (
        stored["event_id"],
        stored["student_id"],
        stored["item_id"],
        stored["night"],
        stored["submitted_at"],
        stored["correct"],
        stored["seconds"],
        stored["score"],
        stored["source"],
    )


def _copy_attempts(conn: Connection, records: list[Attempt]) -> None:
    driver = conn.connection.driver_connection
    assert driver is not None
    columns = ", ".join(f'"{c}"' for c in _ATTEMPT_COLUMNS)
    with driver.cursor() as cursor, cursor.copy(f"COPY attempts ({columns}) FROM STDIN") as copy:
        for record in records:
            copy.write_row(_attempt_row(record))


def _sqlite_insert_attempts(conn: Connection, records: list[Attempt]) -> None:
    """The driver's executemany with values already in SQLAlchemy's SQLite storage format
    (tables.UTCDateTime: naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff'); a test reads them back."""
    rows = []
    for a in records:
        utc = a.submitted_at.astimezone(UTC)
        rows.append(
            (a.event_id, a.student_id, a.item_id, a.night.isoformat(),
             utc.strftime("%Y-%m-%d %H:%M:%S.%f"), _offset_minutes(a.submitted_at),
             int(a.correct), a.seconds, a.score, a.source)
        )  # fmt: skip
    _sqlite_executemany(conn, rows)


def _sqlite_executemany(conn: Connection, rows: Iterable[tuple[Any, ...]]) -> None:
    placeholders = ", ".join("?" for _ in _ATTEMPT_COLUMNS)
    columns = ", ".join(f'"{c}"' for c in _ATTEMPT_COLUMNS)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(f"INSERT INTO attempts ({columns}) VALUES ({placeholders})", rows)
    finally:
        cursor.close()


def summary_of(report: ImportReport) -> dict[str, Any]:
    """What an import came to, as plain JSON values (an import run in a child process sends it back)."""
    return {
        "committed": report.committed,
        "files": [Path(p).name for p, _ in report.files],
        "counts": {
            k: {"inserted": c.inserted, "updated": c.updated, "unchanged": c.unchanged}
            for k, c in report.counts.items()
        },
        "erased_rows": report.erased_rows,
        "problems": [
            {
                "file": Path(p.file).name,
                "row": p.row,
                "field": p.column,
                "detail": p.en,
                "detail_zh": p.zh,
                "sheet": p.sheet,
                "cell": p.cell,
                "where": p.where(Path(p.file).name),
            }
            for p in report.problems.shown
        ],
        "problem_count": report.problems.count,
    }
