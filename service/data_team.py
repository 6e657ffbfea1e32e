"""The data team's jobs: bulk import (all or nothing, problems named by file, row and field), the
model being served and a reload, pseudonymised exports, and a guardian's deletion request.

An import runs as a background job (service.jobs): `begin_import` makes the job (one import at a
time per school: see `school_of`), the caller stores the uploaded files in the job's folder under
names `upload_path` accepts, and `run_import` starts the work (a process of its own, service.import_worker); `import_job` is
its state, progress, problems and result, for the account that asked only.

Exports never carry a student's id or name: each student appears as a keyed hash (HMAC-SHA256 with
the deployment's key), the same in every export of this deployment so files can be joined, and
useless to anyone without the key. Erased students are gone from the tables, so from every export,
and later imports leave them out.

Plain functions with keyword-only arguments, called by the API's routes (and the CLI's equivalents)
after their permission checks; a refusal is a service.errors exception.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Select, select

from models.files import kind_of
from models.schema import IMPORT_ORDER
from service import import_worker
from service.auth import Principal
from service.errors import ImportRefused, Invalid, NotFound
from service.jobs import EVERY_SCHOOL, Job, JobRunner, Progress, run_child
from service.runtime import Models
from service.schemas import Erased, ImportJob, ImportProgress, ImportResult, ModelStatus, Reloaded
from service.store import tables as t
from service.store.erasure import NoSuchStudent, erase_student
from service.store.importer import ImportReport, import_files, summary_of

IMPORT = "import"  # the jobs' kind
UPLOAD_FIELD = "files"  # the multipart field that carries the contract files
UPLOAD_SUFFIXES = (".csv", ".xlsx", ".parquet", ".pq")


def import_paths(
    *, db: Engine, paths: Sequence[Path], erasure_key: str, dry_run: bool = False,
    progress: Callable[[ImportReport], None] | None = None, spool_dir: Path | None = None,
) -> ImportResult:  # fmt: skip
    """Validate contract files and, if every row of every file is valid (and not a dry run), import
    them in one transaction; otherwise nothing is written and the problems are named. Rows of
    students deleted on a guardian's request are left out and counted, never named. `progress`
    hears how far it is; the rows to write wait in a temporary file in `spool_dir`."""
    report = import_files(db, list(paths), dry_run=dry_run, erasure_key=erasure_key, progress=progress,
                          spool_dir=spool_dir)  # fmt: skip
    return _outcome(summary_of(report))


def _outcome(summary: dict[str, Any]) -> ImportResult:
    """An import's summary (service.store.importer.summary_of): its result, or ImportRefused naming
    the problems."""
    problems = summary["problems"]
    if problems or summary["problem_count"]:
        first = problems[0] if problems else {"file": "", "row": None, "field": None, "detail": "invalid"}
        where = (
            first["where"]  # a workbook's problem: file:sheet!cell
            if first.get("sheet") is not None
            else f"{first['file']}, row {first['row']}, field {first['field']}"
        )
        raise ImportRefused(
            f"nothing was imported: {where}: {first['detail']}", f"没有导入任何数据：{where}：{first.get('detail_zh') or first['detail']}",
            problems=problems, problem_count=summary["problem_count"],
        )  # fmt: skip
    return ImportResult(
        committed=summary["committed"], files=summary["files"], counts=summary["counts"],
        erased_rows_left_out=summary["erased_rows"],
    )  # fmt: skip


def school_of(who: Principal) -> str:
    """The school an import by this account is for, so one import at a time runs for it: the
    account's school if it has exactly one `school` scope; otherwise, as for the usual data team
    with no scope (the deployment's data), every school ("*") — which waits for, and holds, all."""
    return next(iter(who.schools)) if len(who.schools) == 1 else EVERY_SCHOOL


def begin_import(*, jobs: JobRunner, who: Principal, dry_run: bool) -> Job:
    """A queued import job of this account, with a folder for its files; Conflict (naming it) while
    another import for the same school is queued or running."""
    return jobs.create(kind=IMPORT, owner_id=who.user_id, school_id=school_of(who),
                       params={"dry_run": dry_run, "files": []})  # fmt: skip


def upload_path(*, folder: Path, field: str, filename: str | None, taken: set[str]) -> Path:
    """Where an uploaded file goes in the job's folder: only a plain contract file name (a record
    kind, .csv, .xlsx or .parquet) is accepted, once; anything else is refused naming the field."""

    def refuse(en: str, zh: str) -> Invalid:
        return Invalid(f"body /{UPLOAD_FIELD}: {en}", f"请求体 /{UPLOAD_FIELD}：{zh}",
                       errors=[{"in": "body", "pointer": f"/{UPLOAD_FIELD}", "detail": en}])  # fmt: skip

    if field != UPLOAD_FIELD:
        raise refuse(f"unexpected field {field[:64]!r}: send the files as {UPLOAD_FIELD!r}",
                     f"不认识的字段 {field[:64]!r}：文件应放在 {UPLOAD_FIELD!r} 字段")  # fmt: skip
    name = filename or ""
    if (
        not name.strip(". ")
        or len(name) > 200
        or any(c in name for c in "/\\:")
        or any(unicodedata.category(c)[0] == "C" for c in name)
    ):
        raise refuse(
            f"file name {name[:64]!r} is not a plain file name (no path, no control characters)",
            f"文件名 {name[:64]!r} 不是普通文件名（不能含路径或控制字符）",
        )
    if kind_of(Path(name)) is None or not name.lower().endswith(UPLOAD_SUFFIXES):
        kinds = ", ".join(IMPORT_ORDER)
        raise refuse(
            f"file name {name!r} does not say a record kind: name it <kind>.csv, <kind>.xlsx or <kind>.parquet, kind one of {kinds}",
            f"文件名 {name!r} 看不出记录类型：应为 <类型>.csv、<类型>.xlsx 或 <类型>.parquet，类型为 {kinds} 之一",
        )
    if name.lower() in taken:
        raise refuse(f"file {name!r} is sent twice", f"文件 {name!r} 重复上传")
    taken.add(name.lower())
    return folder / name


def abandon_import(*, jobs: JobRunner, job_id: str) -> None:
    """The upload was refused: the job and whatever arrived of its files are gone."""
    jobs.discard(job_id)


def run_import(
    *, jobs: JobRunner, db: Engine, job: Job, paths: Sequence[Path], erasure_key: str, dry_run: bool,
    on_commit: Callable[[], None],
) -> ImportJob:  # fmt: skip
    """Start the import of the job's stored files (`on_commit` after it wrote): in a process of its own
    (service.import_worker) when the job runner knows the database's address, else in its thread."""
    spool_dir = jobs.folder_of(job.job_id)

    def work(progress: Progress) -> dict[str, Any]:
        def tell(report: ImportReport) -> None:
            progress.update(phase=report.phase, rows_checked=report.rows_checked,
                            rows_written=report.rows_written, quiet=report.phase == "writing")  # fmt: skip

        progress.update(phase="checking")
        if jobs.database_url is None:
            result = import_paths(db=db, paths=paths, erasure_key=erasure_key, dry_run=dry_run, progress=tell,
                                  spool_dir=spool_dir)  # fmt: skip
        else:
            summary = run_child("service.import_worker", {
                "database_url": jobs.database_url, "paths": [str(p) for p in paths], "dry_run": dry_run,
                "erasure_key": erasure_key, "spool_dir": str(spool_dir), "log_json": jobs.log_json,
                "log_level": jobs.log_level,
            }, progress, env=import_worker.ENV)  # fmt: skip
            result = _outcome(summary)
        if result.committed:
            on_commit()  # items or answers may have changed: states are rebuilt from the database
        return result.model_dump(mode="json")

    files = [Path(p).name for p in paths]
    jobs.submit(job.job_id, work, files=files)
    return _import_job(job, files=files)


def import_job(*, jobs: JobRunner, who: Principal, job_id: str) -> ImportJob:
    """An import's state, progress, problems and result: only for the account that started it."""
    job = jobs.find(job_id)
    if job is None or job.kind != IMPORT or job.owner_id != who.user_id:
        raise NotFound("import", job_id, zh=f"没有找到导入任务 {job_id}")
    return _import_job(job)


def recent_imports(*, db: Engine, jobs: JobRunner, who: Principal, limit: int = 20) -> list[ImportJob]:
    """This account's imports, newest first (what the data team's page lists)."""
    with db.connect() as conn:
        ids = list(
            conn.execute(
                select(t.jobs.c.job_id)
                .where(t.jobs.c.kind == IMPORT, t.jobs.c.owner_id == who.user_id)
                .order_by(t.jobs.c.created_at.desc(), t.jobs.c.job_id)
                .limit(limit)
            ).scalars()
        )
    found = [jobs.find(job_id) for job_id in ids]
    return [_import_job(job) for job in found if job is not None]


def _import_job(job: Job, files: list[str] | None = None) -> ImportJob:
    problems = job.problems or {}
    return ImportJob(
        job_id=job.job_id, state=job.state,  # type: ignore[arg-type]
        dry_run=bool(job.params.get("dry_run")), files=files if files is not None else job.params.get("files", []),
        progress=ImportProgress(**job.progress) if job.progress else ImportProgress(),
        detail=problems.get("detail"), detail_zh=problems.get("detail_zh"),
        problems=problems.get("problems", []), problem_count=problems.get("problem_count", 0),
        result=ImportResult(**job.result) if job.result else None,
        created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at,
    )  # fmt: skip


def model_status(*, models: Models) -> ModelStatus:
    served = models.current()
    return ModelStatus(ready=served is not None, version=None if served is None else str(served.version),
                       status=models.status())  # fmt: skip


def reload_model(*, models: Models) -> Reloaded:
    """Look for a new champion now (and retry a version refused before)."""
    outcome = models.check_once(retry_refused=True)
    served = models.current()
    return Reloaded(outcome=str(outcome), version=None if served is None else str(served.version))


def pseudonym(key: str, student_id: str) -> str:
    return "p-" + hmac.new(key.encode(), student_id.encode(), hashlib.sha256).hexdigest()[:20]


EXPORTS: dict[str, tuple[list[str], Callable[[], Select[Any]], Any]] = {
    "attempts": (
        ["student", "class_id", "item_id", "night", "submitted_at", "correct", "seconds", "source"],
        lambda: select(t.attempts.c.student_id, t.students.c.class_id, t.attempts.c.item_id, t.attempts.c.night,
                       t.attempts.c.submitted_at, t.attempts.c.correct, t.attempts.c.seconds, t.attempts.c.source)
        .join(t.students, t.students.c.student_id == t.attempts.c.student_id)
        .order_by(t.attempts.c.submitted_at, t.attempts.c.event_id),
        t.attempts.c.night,
    ),
    "error_book": (
        ["student", "class_id", "item_id", "created_at", "resolved_at", "error_type"],
        lambda: select(t.error_book.c.student_id, t.students.c.class_id, t.error_book.c.item_id,
                       t.error_book.c.created_at, t.error_book.c.resolved_at, t.error_book.c.error_type)
        .join(t.students, t.students.c.student_id == t.error_book.c.student_id)
        .order_by(t.error_book.c.created_at, t.error_book.c.entry_id),
        None,
    ),
}  # fmt: skip


EXPORT_HEADERS_ZH = {
    "student": "学生（化名）", "class_id": "班级", "item_id": "题目", "night": "作业日期",
    "submitted_at": "提交时间", "correct": "是否正确", "seconds": "用时（秒）", "source": "来源",
    "created_at": "记入时间", "resolved_at": "订正时间", "error_type": "错因",
}  # fmt: skip
EXPORT_SHEETS_ZH = {"attempts": "作业记录", "error_book": "错题本"}


def _export_rows(
    *, db: Engine, key: str, kind: str, start: date | None, end: date | None
) -> tuple[list[str], Callable[[], Iterator[list[Any]]]]:
    """An export's header and its rows (read when called): students as keyed hashes, no names.
    NotFound at once for an unknown kind."""
    if kind not in EXPORTS:
        choices = ", ".join(EXPORTS)
        raise NotFound(
            "export",
            kind,
            en=f"no export {kind!r}; one of {choices}",
            zh=f"没有导出 {kind!r}；可选：{choices}",
        )
    header, query_of, night = EXPORTS[kind]
    query = query_of()
    if night is not None and start is not None:
        query = query.where(night >= start)
    if night is not None and end is not None:
        query = query.where(night <= end)
    export_key = hmac.new(key.encode(), b"export", hashlib.sha256).hexdigest()

    def rows() -> Iterator[list[Any]]:
        with db.connect() as conn:
            for row in conn.execute(query):
                values = list(row)
                values[0] = pseudonym(export_key, values[0])
                yield values

    return header, rows


def export_csv(
    *, db: Engine, key: str, kind: str, start: date | None = None, end: date | None = None
) -> Iterator[str]:
    """A pseudonymised export as CSV text in chunks: students as keyed hashes, no names."""
    header, rows_of = _export_rows(db=db, key=key, kind=kind, start=start, end=end)

    def chunks() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        for values in rows_of():
            writer.writerow(
                ["" if v is None else v.isoformat() if hasattr(v, "isoformat") else v for v in values]
            )
            if out.tell() > 65536:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    return chunks()


XLSX_ROWS = 1_048_576  # rows in an Excel sheet, the header's included


def export_xlsx(
    *, db: Engine, key: str, kind: str, start: date | None = None, end: date | None = None,
    folder: Path | None = None,
) -> Iterator[bytes]:  # fmt: skip
    """The same export as an Excel workbook (.xlsx) in chunks: the same rows and pseudonyms as the
    CSV, headers in Chinese (EXPORT_HEADERS_ZH). Written row by row in xlsxwriter's constant-memory
    mode to a temporary file in `folder` (default: the system's), removed once sent. Text is always
    written as text: a value starting with = + - @ is never a formula."""
    header, rows_of = _export_rows(db=db, key=key, kind=kind, start=start, end=end)

    def chunks() -> Iterator[bytes]:
        import xlsxwriter

        with tempfile.TemporaryDirectory(dir=folder, prefix="export-") as tmp:
            path = Path(tmp) / f"{kind}.xlsx"
            workbook = xlsxwriter.Workbook(
                str(path),
                {"constant_memory": True, "tmpdir": tmp, "strings_to_formulas": False,
                 "strings_to_numbers": False, "strings_to_urls": False},
            )  # fmt: skip
            bold = workbook.add_format({"bold": True})
            day = workbook.add_format({"num_format": "yyyy-mm-dd"})
            title = EXPORT_SHEETS_ZH.get(kind, kind)

            def new_sheet(number: int) -> Any:
                # Excel holds XLSX_ROWS rows a sheet (xlsxwriter drops more without a word): the rest
                # goes on to "<name> (2)", "<name> (3)", each with the header.
                sheet = workbook.add_worksheet(title if number == 1 else f"{title} ({number})")
                for col, name in enumerate(header):
                    sheet.write_string(0, col, EXPORT_HEADERS_ZH.get(name, name), bold)
                sheet.freeze_panes(1, 0)
                return sheet

            sheets, row = 1, 0
            sheet = new_sheet(sheets)
            for values in rows_of():
                row += 1
                if row >= XLSX_ROWS:
                    sheets, row = sheets + 1, 1
                    sheet = new_sheet(sheets)
                for col, value in enumerate(values):
                    if value is None:
                        continue
                    if isinstance(value, bool):
                        sheet.write_boolean(row, col, value)
                    elif isinstance(value, int | float):
                        sheet.write_number(row, col, value)
                    elif isinstance(value, datetime):
                        sheet.write_string(row, col, value.isoformat())  # Excel has no offsets: as the CSV
                    elif isinstance(value, date):
                        sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), day)
                    else:
                        sheet.write_string(row, col, str(value))  # never a formula, a number or a link
            workbook.close()
            with open(path, "rb") as f:
                while block := f.read(1 << 16):
                    yield block

    return chunks()


def erase(*, db: Engine, student_id: str, erasure_key: str, requested_by: str, now: datetime) -> Erased:
    """A guardian's deletion: every row about the student, in one transaction, and only the keyed
    hash of the id kept (service.store.erasure); the answer says what was removed."""
    try:
        result = erase_student(db, student_id, key=erasure_key, requested_by=requested_by, now=now)
    except NoSuchStudent:
        raise NotFound("student", student_id) from None
    return Erased(**result)
