"""`python -m service.import_worker`: one import of contract files, in a process of its own.

Started by an import job (service.data_team.run_import, through service.jobs.run_child) when the
service opened its database from the settings: the import's million rows of Python work then hold
neither the serving process's interpreter lock (a student's `/tonight` would wait for it) nor its
memory (what the import held is returned to the system when the process ends). It runs at a lower
CPU priority (nice +10), opens its own engine on the same database, and imports exactly as the CLI
does (service.store.importer: all or nothing), telling its progress as it goes. It imports only what
the import needs (no models, no web framework), so it starts in about a second and small.

Request (one JSON line on stdin): database_url, paths, dry_run, erasure_key, spool_dir, log_json,
log_level. Answers (JSON lines on stdout): progress, then {"result": importer.summary_of(report)}.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from service.jobs import child_request
from service.logs import configure_logging

# A smaller page cache than the serving processes' (service.store.db): this process lives for one
# import, and its memory counts against the machine's while the service goes on serving. Measured on
# a 1M-row attempts import on SQLite: 16 MB writes as fast as 64 (17-18 s) with 40 MB less held.
IMPORT_CACHE_MB = 16
# Arrow's allocator (mimalloc) gives freed memory back to the system at once rather than keeping it
# for reuse: the import's peak went from about 373 to 269 MB of the process's own memory.
ENV = {"MIMALLOC_PURGE_DELAY": "0"}


def main() -> None:
    request, send = child_request()
    with contextlib.suppress(OSError):  # not allowed here: it runs at the same priority
        os.nice(10)
    if request.get("log_json"):
        configure_logging(request.get("log_level") or "INFO")
    else:
        logging.basicConfig(level=request.get("log_level") or "INFO")

    from service.store.db import make_engine
    from service.store.importer import ImportReport, import_files, summary_of

    def tell(report: ImportReport) -> None:
        send({
            "progress": {"phase": report.phase, "rows_checked": report.rows_checked,
                         "rows_written": report.rows_written},
            "quiet": report.phase == "writing",
        })  # fmt: skip

    engine = make_engine(request["database_url"], cache_mb=IMPORT_CACHE_MB)
    try:
        report = import_files(
            engine, [Path(p) for p in request["paths"]], dry_run=bool(request["dry_run"]),
            erasure_key=request["erasure_key"], progress=tell,
            spool_dir=Path(request["spool_dir"]) if request.get("spool_dir") else None,
        )  # fmt: skip
    except Exception:
        logging.getLogger("jianfu.jobs").exception("the import failed in its process")
        raise SystemExit(1) from None
    finally:
        engine.dispose()
    send({"result": summary_of(report)})


if __name__ == "__main__":
    main()
