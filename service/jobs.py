"""Jobs: work that outlives the request that asked for it — an import of contract files now, a
scanned worksheet later. A job has a kind, an owner (the account that asked), a school ("*": every
school of the deployment), a state (queued → running → done | failed; interrupted if the process
holding it died), progress counters, problems and a result (JSON), and its times.

`JobRunner` (one per process, started and stopped with the app) runs jobs in worker threads, off the
event loop, and keeps their progress in memory. A job whose work is heavy Python (an import's million
rows) runs it in a child process of its own (`run_child`), so it holds neither the serving
process's interpreter lock nor its memory: the thread only relays the child's progress; a heartbeat thread copies it to the database every
few seconds (not while a job says it is quiet: an import's write transaction holds SQLite's one
write lock, and the heartbeat would only queue behind it). Each job's files live in a folder of its
own under the data dir, removed when it ends.

Cleaning, at start and then now and then: a job queued or running whose runner is certainly dead is
marked interrupted and its folder removed. Certainly dead: its heartbeat is older than
`stale_seconds`, or its runner was a process of this host that is gone (or had this process's pid:
an earlier start of it). Another replica's jobs with a fresh heartbeat are left alone, so replicas
sharing one database (and even one data dir) never clean each other's live work.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from service.errors import Conflict, DomainError
from service.store import jobs as store
from service.store.jobs import ACTIVE, EVERY_SCHOOL

__all__ = ["ACTIVE", "EVERY_SCHOOL", "ChildFailed", "Job", "JobRunner", "Progress", "run_child"]
log = logging.getLogger("jianfu.jobs")
INTERRUPTED = {
    "detail": "the service stopped while this job ran; nothing of it was kept: start it again",
    "detail_zh": "任务运行时服务停止了；没有保留任何结果，请重新开始",
}
FAILED = {
    "detail": "an unexpected error; it has been logged with the job id",
    "detail_zh": "发生了意外错误，已按任务编号记录日志",
}


@dataclass(frozen=True)
class Job:
    job_id: str
    kind: str
    owner_id: str
    school_id: str
    state: str
    params: dict[str, Any]
    progress: dict[str, Any]
    problems: dict[str, Any] | None
    result: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, row: dict[str, Any]) -> Job:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})


@dataclass
class Progress:
    """A job's counters as it goes, in memory; `quiet` while the heartbeat should not write."""

    counters: dict[str, Any] = field(default_factory=dict)
    quiet: bool = False

    def update(self, *, quiet: bool = False, **counters: Any) -> None:
        self.counters = {**self.counters, **counters}  # replaced whole: readers see one version
        self.quiet = quiet


class JobRunner:
    def __init__(
        self, engine: Engine, folder: Path, *, workers: int = 1, heartbeat_seconds: float = 5.0,
        stale_seconds: float = 300.0, database_url: str | None = None, log_json: bool = False,
        log_level: str = "INFO",
    ) -> None:  # fmt: skip
        """`database_url`: the database `engine` opens, for jobs' child processes to open too (None:
        an engine handed in that a child could not open, e.g. a test's in-memory one; then jobs run
        their work in the thread)."""
        self.engine = engine
        self.database_url = database_url
        self.log_json, self.log_level = log_json, log_level  # the children log as the service does
        self.folder = folder
        self.heartbeat_seconds = heartbeat_seconds
        self.stale = timedelta(seconds=stale_seconds)
        self.host = socket.gethostname()
        self.runner = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._held: dict[str, Progress] = {}
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="jianfu-job")
        self._stop = threading.Event()
        self._heart: threading.Thread | None = None

    # -- life ----------------------------------------------------------------------------------

    def start(self) -> list[str]:
        """Clean what dead runners left (see the module docstring), then beat; the jobs interrupted."""
        interrupted = self.clean()
        self._heart = threading.Thread(target=self._beat_forever, name="jianfu-job-heartbeat", daemon=True)
        self._heart.start()
        return interrupted

    def stop(self) -> None:
        """Let a running job finish; jobs still queued are interrupted."""
        self._stop.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            left = list(self._held)
        for job_id in left:
            self._end(job_id, state="interrupted", problems=INTERRUPTED)
        if self._heart is not None:
            self._heart.join(timeout=self.heartbeat_seconds + 5)

    def is_dead(self, runner: str | None, heartbeat_at: datetime | None) -> bool:
        """Whether a job's runner is certainly gone (never true of a live replica's fresh job)."""
        if heartbeat_at is None or heartbeat_at < datetime.now(UTC) - self.stale or not runner:
            return True
        if runner == self.runner:
            return False  # this process's own jobs live while it does
        host, pid, _token = [*runner.rsplit(":", 2), "", ""][:3]
        if host != self.host or not pid.isdigit():
            return False  # another machine's: only its heartbeat can say
        if int(pid) == os.getpid():
            return True  # an earlier start of this process id (a container restarted, say)
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, someone else's
        return False

    def clean(self) -> list[str]:
        """Jobs of dead runners marked interrupted; folders of jobs no longer queued or running removed."""
        dead = store.interrupt_dead(self.engine, is_dead=self.is_dead, now=datetime.now(UTC),
                                    interrupted=INTERRUPTED)  # fmt: skip
        if dead:
            log.warning("jobs interrupted (their process is gone): %s", ", ".join(dead))
        if self.folder.is_dir():
            names = [p.name for p in self.folder.iterdir() if p.is_dir()]
            found = store.states(self.engine, names) if names else {}
            with self._lock:
                held = set(self._held)
            for name in names:
                if found.get(name) not in ACTIVE and name not in held:
                    shutil.rmtree(self.folder / name, ignore_errors=True)
        return dead

    # -- jobs ----------------------------------------------------------------------------------

    def create(self, *, kind: str, owner_id: str, school_id: str, params: dict[str, Any]) -> Job:
        """A queued job held by this process, with its folder; Conflict if an active job of the
        same kind holds the school (the answer names it)."""
        now = datetime.now(UTC)
        job_id = f"job-{uuid.uuid4().hex[:16]}"
        row: dict[str, Any] = {
            "job_id": job_id, "kind": kind, "owner_id": owner_id,
            "school_id": school_id, "state": "queued", "params": params, "progress": {}, "problems": None,
            "result": None, "runner": self.runner, "created_at": now, "started_at": None,
            "finished_at": None, "heartbeat_at": now,
        }  # fmt: skip
        with self._lock:  # held before it exists: the heartbeat and cleaning leave it alone
            self._held[job_id] = Progress()
        holder = store.start(self.engine, job=row, is_dead=self.is_dead, interrupted=INTERRUPTED)
        if holder is not None:
            with self._lock:
                self._held.pop(job_id, None)
            where = "every school" if school_id == EVERY_SCHOOL else f"school {school_id}"
            raise Conflict(
                f"another {kind} for {where} is {holder['state']}: job {holder['job_id']}; "
                "wait until it has finished, then try again",
                f"{'所有学校' if school_id == EVERY_SCHOOL else '学校 ' + school_id}已有一个任务在进行："
                f"{holder['job_id']}（{holder['state']}）；请等它结束后再试",
                job_id=holder["job_id"], job_state=holder["state"],
            )  # fmt: skip
        self.folder_of(job_id).mkdir(parents=True, exist_ok=True)
        return Job.of(row)

    def folder_of(self, job_id: str) -> Path:
        return self.folder / job_id

    def discard(self, job_id: str) -> None:
        """A job refused before it started (its upload was): no row, no folder."""
        with self._lock:
            self._held.pop(job_id, None)
        store.remove(self.engine, job_id)
        shutil.rmtree(self.folder_of(job_id), ignore_errors=True)

    def submit(self, job_id: str, work: Callable[[Progress], dict[str, Any]], **params: Any) -> None:
        """Run `work` in a worker thread; its answer becomes the job's result. A DomainError it
        raises fails the job with that refusal as its problems; any other error fails it too."""
        if params:
            found = store.get(self.engine, job_id)
            store.change(self.engine, job_id, params={**(found or {}).get("params", {}), **params})
        self._executor.submit(self._run, job_id, work)

    def find(self, job_id: str) -> Job | None:
        """The job as stored, with its progress as this process knows it if it runs here."""
        row = store.get(self.engine, job_id)
        if row is None:
            return None
        with self._lock:
            live = self._held.get(job_id)
        if live is not None and row["state"] in ACTIVE:
            row["progress"] = live.counters
        return Job.of(row)

    # -- inside --------------------------------------------------------------------------------

    def _run(self, job_id: str, work: Callable[[Progress], dict[str, Any]]) -> None:
        with self._lock:
            progress = self._held.get(job_id)
        if progress is None:
            return
        now = datetime.now(UTC)
        if not store.change(self.engine, job_id, only_if_active=True, state="running", started_at=now,
                            heartbeat_at=now, runner=self.runner):  # fmt: skip
            self._forget(job_id)  # interrupted meanwhile
            return
        try:
            result = work(progress)
        except DomainError as exc:
            self._end(job_id, state="failed", problems={"kind": exc.kind, "detail": exc.en,
                                                        "detail_zh": exc.zh, **exc.extra})  # fmt: skip
        except Exception:
            log.exception("job failed", extra={"job_id": job_id})
            self._end(job_id, state="failed", problems=FAILED)
        else:
            try:
                self._end(job_id, state="done", result=result)
            except Exception:  # a result the store cannot take must not leave the job "running"
                log.exception("job result not stored", extra={"job_id": job_id})
                self._end(job_id, state="failed", problems=FAILED)

    def _end(self, job_id: str, *, state: str, **values: Any) -> None:
        with self._lock:
            progress = self._held.get(job_id)
        counters = {} if progress is None else progress.counters
        # The workspace goes before the end is recorded: whoever sees the job ended sees it gone.
        shutil.rmtree(self.folder_of(job_id), ignore_errors=True)
        try:
            store.change(self.engine, job_id, only_if_active=True, state=state, progress=counters,
                         finished_at=datetime.now(UTC), **values)  # fmt: skip
        finally:
            self._forget(job_id)

    def _forget(self, job_id: str) -> None:
        with self._lock:
            self._held.pop(job_id, None)
        shutil.rmtree(self.folder_of(job_id), ignore_errors=True)

    def _beat_forever(self) -> None:
        ticks = 0
        while not self._stop.wait(self.heartbeat_seconds):
            ticks += 1
            try:
                with self._lock:
                    beats = {j: p.counters for j, p in self._held.items() if not p.quiet}
                if beats:
                    store.beat(self.engine, beats, datetime.now(UTC))
                if ticks % 12 == 0:
                    self.clean()
            except Exception:  # a missed beat is not fatal: the next one comes
                log.exception("job heartbeat failed")


class ChildFailed(RuntimeError):
    """A job's child process stopped without an answer (it failed, or was killed)."""


def run_child(
    module: str, request: dict[str, Any], progress: Progress, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run `python -m module` as a child process for a job's work and return its answer.

    The request goes to the child as one JSON line on its stdin, which then stays open: the child
    stops as soon as it closes, so a serving process that dies (even by kill -9) takes its children's
    work with it, as a thread's would go (a write transaction left open is rolled back by the database).
    The child answers on its stdout with JSON lines: `{"progress": {...}, "quiet": bool}` as it goes
    (they update `progress`), then `{"result": {...}}`. Its logs go to stderr, the service's. Raises
    ChildFailed if it stops without a result (its own log says why). `env`: variables the child gets
    besides this process's (read before its libraries load)."""
    child = subprocess.Popen(
        [sys.executable, "-m", module], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        encoding="utf-8", bufsize=1, env={**os.environ, **env} if env else None,
        process_group=0,  # a Ctrl-C at the terminal is for the service, which stops its jobs itself
    )  # fmt: skip
    assert child.stdin is not None and child.stdout is not None
    result: dict[str, Any] | None = None
    try:
        child.stdin.write(json.dumps(request) + "\n")
        child.stdin.flush()
        for line in child.stdout:
            message = json.loads(line)
            if "progress" in message:
                progress.update(quiet=bool(message.get("quiet")), **message["progress"])
            elif "result" in message:
                result = message["result"]
    finally:
        child.stdin.close()  # the child stops if it has not already
        code = child.wait()
        child.stdout.close()
    if result is None:
        raise ChildFailed(f"the job's process ({module}) stopped without an answer: exit code {code}")
    return result


def child_request() -> tuple[dict[str, Any], Callable[[dict[str, Any]], None]]:
    """In a job's child process (run_child): the request, and how to send an answer line. The child
    stops when its stdin closes (the parent is done with it, or gone), not on SIGTERM or SIGINT: a
    service told to stop (systemd signals every process of the service) lets a running job finish,
    as JobRunner.stop promises, and then closes its stdin. Anything else printed goes to stderr, so
    the answers' stream stays clean."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    request = json.loads(sys.stdin.readline())
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # print() and libraries writing to stdout: into the log, not the answers
    sys.stdout = sys.stderr

    def watch_parent() -> None:
        sys.stdin.read()  # returns at end of file: the parent closed it, or died
        os._exit(3)

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()

    def send(message: dict[str, Any]) -> None:
        answers.write(json.dumps(message, default=str) + "\n")

    return request, send
