"""`jianfu bench abuse`: the service under abuse on loopback, while students keep using it.

The real service (2 uvicorn workers, trained on data_samples/ and served from a local MLflow
registry) runs on SQLite and then on PostgreSQL (pgserver). Throughout, a paced client asks for
`/healthz` and for a student's tonight (open loop: each request is sent on time whether or not the
last one answered), and a second client posts students' answers in small batches. Then, in turn:

  (a) big_bodies  - 3 unauthenticated 60 MB bodies at once to /v1/checks;
  (b) import      - a 1,000,000-row attempts import through the API (a background job, polled);
  (c) one_teacher - one teacher sending 40 plan/check/mastery requests at once;
  (d) sign_ins    - 200 wrong sign-ins to one account in 10 s.

For each: tonight's and /healthz's p99 while it runs, answers answered 5xx, answers acknowledged
but not stored ("lost", counted in the database afterwards), and the growth of the server's
resident memory (all its processes) over its level before the scenario. Targets for every scenario:
tonight p99 <= 250 ms, 0 answers 5xx or lost, memory growth <= 300 MB; (a) each refused in < 100 ms,
(d) throttled. Loopback only; every scenario is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import csv
import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.serve import CLASS, NIGHTS, ROOT, SAMPLES, _port, _serve, _wait

SCENARIOS = ("big_bodies", "import", "one_teacher", "sign_ins")
TARGETS = {"tonight_p99_ms": 250.0, "answers_5xx": 0, "answers_lost": 0, "rss_growth_mb": 300.0}
BIG_BODY_MB = 60
IMPORT_ROWS = 1_000_000
PASSWORD = "bench-password"
STUDENTS = 8  # students posting answers during the run
EXTRA_ENV = dict(e.split("=", 1) for e in os.environ.get("ABUSE_EXTRA_ENV", "").split() if e)


def _tree_mb(pid: int, source: str, field: str) -> float:
    """A memory figure (`field` of /proc/<pid>/`source`, in kB) summed over a process and all its
    descendants (the uvicorn master, its workers, their planning and import processes)."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/{source}").read_text().splitlines():
                if line.startswith(field):
                    total += int(line.split()[1]) / 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:  # the process ended while it was read
            continue
    return total


def _rss_mb(pid: int) -> float:
    """Resident memory of the process tree: a page shared by n processes counted n times."""
    return _tree_mb(pid, "status", "VmRSS:")


def _pss_mb(pid: int) -> float:
    """Proportional memory of the process tree: each page shared by n processes (the libraries'
    code, the interpreter) counted 1/n in each, so the sum is what the tree really holds."""
    return _tree_mb(pid, "smaps_rollup", "Pss:")


def _p99(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, int(len(ordered) * 0.99) - 1)], 1)


@dataclass
class Watch:
    """The paced clients and the memory sampler, running in a thread of their own for the whole run."""

    base: str
    tonight_url: str
    student_headers: dict[str, str]
    answerers: list[tuple[str, dict[str, str], list[str]]]  # (student, headers, items)
    server_pid: int
    rate: int = 20  # requests/s for each of /healthz and tonight
    answer_rate: int = 4  # answer batches/s
    samples: list[tuple[float, str, float, int]] = field(default_factory=list)  # (t, kind, ms, status)
    answers: list[tuple[float, str, str, int]] = field(default_factory=list)  # (t, student, event, status)
    memory: list[tuple[float, float]] = field(default_factory=list)
    pss: list[tuple[float, float]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def start(self) -> threading.Thread:
        def run() -> None:
            try:
                asyncio.run(self._run())
            except BaseException as exc:  # reported by the run, not lost in a thread
                self.error = exc

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=400)) as client:
            tasks: set[asyncio.Task[None]] = set()

            async def probe(kind: str, url: str, headers: dict[str, str]) -> None:
                start = time.perf_counter()
                try:
                    status = (await client.get(url, headers=headers)).status_code
                except httpx.HTTPError:
                    status = 0
                self.samples.append((start, kind, (time.perf_counter() - start) * 1000, status))

            async def answer(k: int) -> None:
                student, headers, items = self.answerers[k % len(self.answerers)]
                event = f"abuse-{os.getpid()}-{k}"
                body = {"attempts": [{
                    "event_id": event, "item_id": items[k % len(items)], "night": NIGHTS[0],
                    "submitted_at": f"{NIGHTS[0]}T19:30:00+08:00", "correct": k % 3 != 0, "seconds": 90,
                }]}  # fmt: skip
                start = time.perf_counter()
                try:
                    r = await client.post(
                        f"{self.base}/v1/students/{student}/attempts", json=body, headers=headers
                    )
                    status = r.status_code
                except httpx.HTTPError:
                    status = 0
                self.answers.append((start, student, event, status))

            begin, k = time.perf_counter(), 0
            while not self.stop.is_set():
                due = begin + k / self.rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                for coro in (
                    probe("healthz", f"{self.base}/healthz", {}),
                    probe("tonight", self.tonight_url, self.student_headers),
                ):
                    task = asyncio.create_task(coro)
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if k % (self.rate // self.answer_rate) == 0:
                    task = asyncio.create_task(answer(k // (self.rate // self.answer_rate)))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if k % 4 == 0:
                    self.memory.append((time.perf_counter(), _rss_mb(self.server_pid)))
                if k % 8 == 0:  # slower to read (the kernel walks the page tables)
                    self.pss.append((time.perf_counter(), _pss_mb(self.server_pid)))
                k += 1
            await asyncio.gather(*tasks)

    def window(self, start: float, end: float) -> dict[str, Any]:
        """What the clients saw between two instants (requests sent in the window)."""
        tonight = [ms for t, kind, ms, _ in self.samples if kind == "tonight" and start <= t <= end]
        healthz = [ms for t, kind, ms, _ in self.samples if kind == "healthz" and start <= t <= end]
        failed = sum(1 for t, _, _, status in self.samples if start <= t <= end and status != 200)
        answers = [status for t, _, _, status in self.answers if start <= t <= end]
        before = [mb for t, mb in self.memory if t < start][-5:]
        during = [mb for t, mb in self.memory if start <= t <= end]
        baseline = statistics.median(before) if before else (during[0] if during else 0.0)
        pss_before = [mb for t, mb in self.pss if t < start][-5:]
        pss_during = [mb for t, mb in self.pss if start <= t <= end]
        pss_base = statistics.median(pss_before) if pss_before else (pss_during[0] if pss_during else 0.0)
        return {
            "tonight_p99_ms": _p99(tonight),
            "healthz_p99_ms": _p99(healthz),
            "tonight_requests": len(tonight),
            "probes_not_200": failed,
            "answers_sent": len(answers),
            "answers_5xx": sum(1 for s in answers if s >= 500 or s == 0),
            "answers_other_non_2xx": sum(1 for s in answers if 300 <= s < 500),
            "rss_baseline_mb": round(baseline, 1),
            "rss_peak_mb": round(max(during, default=baseline), 1),
            "rss_growth_mb": round(max(during, default=baseline) - baseline, 1),
            # the same, counting shared pages once (RSS summed over the processes counts them in each)
            "pss_growth_mb": round(max(pss_during, default=pss_base) - pss_base, 1),
            # where the time went: the slowest probes, seconds after the scenario began
            "slowest_probes": [
                {"at_s": round(t - start, 2), "kind": kind, "ms": round(ms, 1)}
                for t, kind, ms, _ in sorted(
                    (x for x in self.samples if start <= x[0] <= end), key=lambda x: -x[2]
                )[:8]
            ],
        }


def _big_body(mb: int) -> Iterator[bytes]:
    chunk = b"{}," * (1024 * 1024 // 3)
    yield b"["
    for _ in range(mb):
        yield chunk
    yield b"{}]"


async def _big_bodies(base: str) -> dict[str, Any]:
    """3 unauthenticated 60 MB bodies at once, sent as an attacker would: as fast as the server takes
    them, reading its answer as soon as there is one (two declare their length, one is chunked)."""
    host, port = base.removeprefix("http://").split(":")

    async def one(chunked: bool) -> tuple[int, float, int]:
        start = time.perf_counter()
        reader, writer = await asyncio.open_connection(host, int(port))
        framing = (
            b"Transfer-Encoding: chunked" if chunked else f"Content-Length: {_size(BIG_BODY_MB)}".encode()
        )
        writer.write(b"POST /v1/checks HTTP/1.1\r\nHost: " + host.encode() + b"\r\nContent-Type: application/json\r\n"
                     + framing + b"\r\n\r\n")  # fmt: skip
        answer = asyncio.ensure_future(reader.readline())
        sent = 0
        try:
            for chunk in _big_body(BIG_BODY_MB):
                if answer.done():
                    break
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                sent += len(chunk)
                await asyncio.wait([answer], timeout=0)  # let the answer in if it came
                try:
                    await asyncio.wait_for(writer.drain(), timeout=30)
                except (ConnectionError, TimeoutError):
                    break
            line = await asyncio.wait_for(answer, timeout=60)
            status = int(line.split()[1]) if line.startswith(b"HTTP/") else -1
        except (ConnectionError, TimeoutError, ValueError, IndexError):
            status = -1
        finally:
            writer.close()
        return status, (time.perf_counter() - start) * 1000, sent

    results = await asyncio.gather(one(False), one(False), one(True))
    return {
        "bodies": len(results),
        "body_mb": BIG_BODY_MB,
        "statuses": [s for s, _, _ in results],
        "answer_ms": [round(ms, 1) for _, ms, _ in results],
        "bytes_sent_before_the_answer": [n for _, _, n in results],
        "max_answer_ms": round(max(ms for _, ms, _ in results), 1),
        "all_refused_413": all(s == 413 for s, _, _ in results),
        "target_answer_ms": 100.0,
    }


def _size(mb: int) -> int:
    return sum(len(c) for c in _big_body(mb))


def _attempts_file(path: Path, rows: int) -> int:
    """`rows` answers of the sample's students on the sample's items: the sample's answers again
    under new event ids, as a school's whole year of answers would arrive."""
    with (SAMPLES / "attempts.csv").open(encoding="utf-8") as f:
        source = list(csv.DictReader(f))
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(source[0]))
        writer.writeheader()
        for n in range(rows):
            row = dict(source[n % len(source)])
            row["event_id"] = f"bulk{n // len(source)}-{row['event_id']}"
            writer.writerow(row)
    return path.stat().st_size


def _import(
    base: str, headers: dict[str, str], path: Path, progress: Callable[[str], None]
) -> dict[str, Any]:
    start = time.perf_counter()
    with httpx.Client(base_url=base, timeout=600, headers=headers) as client:
        with path.open("rb") as f:
            r = client.post("/v1/imports", files=[("files", ("attempts.csv", f, "text/csv"))])
        accepted_ms = (time.perf_counter() - start) * 1000
        if r.status_code == 200:  # a synchronous import (before imports became jobs)
            return {"accepted_status": 200, "accepted_ms": round(accepted_ms, 1), "result": r.json(),
                    "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
        if r.status_code != 202:
            raise RuntimeError(f"import refused: {r.status_code} {r.text[:400]}")
        job = r.json()
        url = r.headers.get("location") or f"/v1/imports/{job['job_id']}"
        last, phases = "", {"accepted": round(accepted_ms / 1000, 2)}
        while time.perf_counter() - start < 1800:
            state = client.get(url).json()
            line = f"{state.get('state')} {state.get('progress')}"
            phase = (state.get("progress") or {}).get("phase") or state.get("state")
            phases.setdefault(phase, round(time.perf_counter() - start, 2))
            if line != last:
                progress(f"    import: {line}")
                last = line
            if state.get("state") not in ("queued", "running"):
                return {"accepted_status": 202, "accepted_ms": round(accepted_ms, 1), "job": state,
                        "phases_seen_at_s": phases, "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip
            time.sleep(1)
    raise RuntimeError("the import did not finish within 30 minutes")


async def _one_teacher(base: str, headers: dict[str, str], student: str, items: list[str]) -> dict[str, Any]:
    """40 requests at once from one teacher: plans of the class, checks of a set, the class's mastery."""
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=300) as client:

        async def one(k: int) -> tuple[str, int, float, str | None]:
            start = time.perf_counter()
            if k % 3 == 0:
                kind, call = (
                    "plan",
                    client.post(
                        f"/v1/classes/{CLASS}/plans", json={"subject": "math", "night": NIGHTS[1 + k % 4]}
                    ),
                )
            elif k % 3 == 1:
                kind, call = "check", client.post("/v1/checks", json={
                    "student_id": student, "night": NIGHTS[1], "subject": "math",
                    "items": [{"item_id": i, "tier": "basic"} for i in items[:6]],
                })  # fmt: skip
            else:
                kind, call = "mastery", client.get(f"/v1/classes/{CLASS}/mastery", params={"subject": "math"})
            try:
                r = await call
                status, retry = r.status_code, r.headers.get("retry-after")
            except httpx.HTTPError:
                status, retry = 0, None
            return kind, status, (time.perf_counter() - start) * 1000, retry

        results = await asyncio.gather(*(one(k) for k in range(40)))
    statuses: dict[str, int] = {}
    for _, status, _, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    limited = [ms for _, status, ms, _ in results if status == 429]
    return {
        "requests": len(results),
        "statuses": statuses,
        "refused_429_with_retry_after": sum(1 for _, s, _, retry in results if s == 429 and retry),
        "refused_429_max_ms": round(max(limited), 1) if limited else None,
        "server_errors": sum(1 for _, s, _, _ in results if s >= 500 or s == 0),
    }


async def _sign_ins(base: str, username: str) -> dict[str, Any]:
    """200 wrong passwords for one account in 10 s (20/s), then the right one."""
    statuses: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def one() -> None:
            try:
                r = await client.post("/v1/token", data={"username": username, "password": "wrong-password"})
                status = r.status_code
            except httpx.HTTPError:
                status = 0
            statuses[str(status)] = statuses.get(str(status), 0) + 1

        tasks, begin = [], time.perf_counter()
        for k in range(200):
            delay = begin + k / 20 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        right = await client.post("/v1/token", data={"username": username, "password": PASSWORD})
    return {
        "wrong_sign_ins": 200,
        "statuses": statuses,
        "throttled_429": statuses.get("429", 0),
        "throttled": statuses.get("429", 0) > 0,
        "right_password_right_after": right.status_code,
        "right_password_retry_after_s": right.headers.get("retry-after"),
    }


@contextmanager
def _database(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'jianfu.db'}"
        return
    from service.store.local_pg import local_postgres

    with local_postgres() as url:
        yield url


def _school(url: str) -> dict[str, Any]:
    """The sample school in a fresh database, with the accounts the run uses; tonight published."""
    from sqlalchemy import select

    from service.auth import create_user
    from service.policy.evenings import set_allocation
    from service.policy.policy import PolicyBook
    from service.store import tables as t
    from service.store.db import make_engine, upgrade
    from service.store.importer import import_files

    engine = make_engine(url)
    try:
        upgrade(engine)
        import_files(engine, [SAMPLES])
        with engine.connect() as conn:
            students = list(conn.execute(
                select(t.students.c.student_id).where(t.students.c.class_id == CLASS).order_by(t.students.c.student_id)
            ).scalars())  # fmt: skip
            grade_items = list(conn.execute(
                select(t.items.c.item_id).where(t.items.c.subject == "math", t.items.c.item_id.like("math-g5-%"))
                .order_by(t.items.c.item_id)
            ).scalars())  # fmt: skip
        book = PolicyBook(SAMPLES / "policies")
        for weekday in range(5):
            set_allocation(engine, book, CLASS, weekday, {"math": 1, "chinese": 1})
        create_user(engine, "bench-teacher", PASSWORD, "teacher", scopes=[("class", CLASS, "math")])
        create_user(engine, "bench-data", PASSWORD, "data_team", scopes=[])
        create_user(engine, "bench-target", PASSWORD, "teacher", scopes=[("class", CLASS, "chinese")])
        for k, student in enumerate(students[:STUDENTS]):
            create_user(engine, f"bench-student-{k}", PASSWORD, "student", scopes=[("student", student, "")])
    finally:
        engine.dispose()
    return {"students": students[:STUDENTS], "items": grade_items}


def _attempts_stored(url: str, events: list[str]) -> set[str]:
    from sqlalchemy import select

    from service.store import tables as t
    from service.store.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            found: set[str] = set()
            for k in range(0, len(events), 500):
                found |= set(conn.execute(
                    select(t.attempts.c.event_id).where(t.attempts.c.event_id.in_(events[k : k + 500]))
                ).scalars())  # fmt: skip
            return found
    finally:
        engine.dispose()


def _backend(
    backend: str, tmp: Path, tracking: str, bulk: Path, say: Callable[[str], None], only: tuple[str, ...] = ()
) -> dict[str, Any]:
    with _database(backend, tmp) as url:
        say(f"{backend}: the sample school, accounts, tonight published")
        school = _school(url)
        env = {
            **os.environ,
            "JIANFU_ENVIRONMENT": "development",
            "JIANFU_DATA_DIR": str(tmp / f"var-{backend}"),
            "JIANFU_DATABASE_URL": url,
            "JIANFU_MLFLOW_TRACKING_URI": tracking,
            "JIANFU_JWT_SECRET": "a" * 40,
            "JIANFU_POLICY_DIR": str(SAMPLES / "policies"),
            "JIANFU_LOG_JSON": "true",
            "JIANFU_MODEL_POLL_SECONDS": "3600",
            "JIANFU_WORKERS": "2",  # as `jianfu serve` tells its workers: they share the cores for planning
            "JIANFU_PLANNING_PROCESSES": "true",  # planning off the serving processes (the recorded runs)
            **EXTRA_ENV,
        }
        port = _port()
        server = _serve("service.app:create_app", port, env, tmp / f"service-{backend}.log", factory=True)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(f"{base}/readyz")
            with httpx.Client(base_url=base, timeout=300) as client:

                def token(name: str) -> dict[str, str]:
                    r = client.post("/v1/token", data={"username": name, "password": PASSWORD})
                    r.raise_for_status()
                    return {"Authorization": f"Bearer {r.json()['access_token']}"}

                teacher = token("bench-teacher")
                r = client.post(f"/v1/classes/{CLASS}/plans", json={"subject": "math", "night": NIGHTS[0]},
                                headers=teacher)  # fmt: skip
                r.raise_for_status()
                client.post(f"/v1/classes/{CLASS}/publish", json={"subject": "math", "night": NIGHTS[0]},
                            headers=teacher).raise_for_status()  # fmt: skip
                pupils = [token(f"bench-student-{k}") for k in range(len(school["students"]))]
                data_team = token("bench-data")
            student = school["students"][0]
            watch = Watch(
                base=base,
                tonight_url=f"{base}/v1/students/{student}/tonight?night={NIGHTS[0]}",
                student_headers=pupils[0],
                answerers=[(s, h, school["items"]) for s, h in zip(school["students"], pupils, strict=True)],
                server_pid=server.pid,
            )
            thread = watch.start()
            details: dict[str, dict[str, Any]] = {}
            windows: dict[str, tuple[float, float]] = {}

            def scenario(name: str, work: Callable[[], dict[str, Any]]) -> None:
                if only and name not in only:
                    return
                say(f"{backend}: ({name}) ...")
                time.sleep(3)  # a quiet baseline before
                start = time.perf_counter()
                details[name] = work()
                time.sleep(2)  # and what follows it
                windows[name] = (start, time.perf_counter())

            scenario("big_bodies", lambda: asyncio.run(_big_bodies(base)))
            scenario("import", lambda: _import(base, data_team, bulk, say))
            scenario(
                "one_teacher", lambda: asyncio.run(_one_teacher(base, teacher, student, school["items"]))
            )
            scenario("sign_ins", lambda: asyncio.run(_sign_ins(base, "bench-target")))
            watch.stop.set()
            thread.join(timeout=300)  # every request sent has answered or timed out
            if watch.error is not None:
                raise RuntimeError(f"the paced clients failed: {watch.error!r}")
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        # an answer is lost if the service acknowledged it (200) and the database does not hold it
        acknowledged = {event: t for t, _, event, status in watch.answers if status == 200}
        stored = _attempts_stored(url, list(acknowledged))
    scenarios: dict[str, Any] = {}
    for name, (start, end) in windows.items():
        measured = watch.window(start, end)
        mine = {event for event, t in acknowledged.items() if start <= t <= end}
        measured["answers_lost"] = len(mine - stored)
        scenarios[name] = {**measured, "seconds": round(end - start, 1), **details[name]}
        say(
            f"{backend}: ({name}) tonight p99 {measured['tonight_p99_ms']} ms, /healthz p99 "
            f"{measured['healthz_p99_ms']} ms, answers 5xx {measured['answers_5xx']}, lost "
            f"{measured['answers_lost']}, memory +{measured['rss_growth_mb']} MB"
        )
    return {"scenarios": scenarios, "answers_acknowledged": len(acknowledged), "answers_stored": len(stored),
            "answers_lost": len(set(acknowledged) - stored)}  # fmt: skip


def _verdict(name: str, s: dict[str, Any]) -> dict[str, bool]:
    met = {
        "tonight_p99_ms": s["tonight_p99_ms"] is not None
        and s["tonight_p99_ms"] <= TARGETS["tonight_p99_ms"],
        "answers_5xx": s["answers_5xx"] == 0,
        "answers_lost": s["answers_lost"] == 0,
        "rss_growth_mb": s["rss_growth_mb"] <= TARGETS["rss_growth_mb"],
    }
    if name == "big_bodies":
        met["refused_each_under_100_ms"] = s["all_refused_413"] and s["max_answer_ms"] < 100
    if name == "sign_ins":
        met["throttled"] = s["throttled"]
    return met


def run(
    backends: tuple[str, ...] = ("sqlite", "postgresql"),
    import_rows: int = IMPORT_ROWS,
    say: Callable[[str], None] = print,
    only: tuple[str, ...] = (),
) -> dict[str, Any]:
    """`only`: run just these scenarios (all when empty); the result says which ran."""
    from training.pipeline import promote, train

    with tempfile.TemporaryDirectory(prefix="jianfu-bench-abuse-") as folder:
        tmp = Path(folder)
        say("training the model on data_samples/ (once, for both databases)")
        tracking = f"sqlite:///{tmp / 'mlflow.db'}"
        version = train(SAMPLES, tracking, artifact_location=(tmp / "artifacts").as_uri())["version"]
        promote(tracking, version, "champion")
        bulk = tmp / "attempts.csv"
        size = _attempts_file(bulk, import_rows)
        say(f"a {import_rows:,}-row attempts file: {size / 2**20:.0f} MB")
        result: dict[str, Any] = {
            "setup": {
                "workers": 2, "machine_cores": os.cpu_count(), "probe_rate_per_s": 20, "answer_batches_per_s": 4,
                "import_rows": import_rows, "import_mb": round(size / 2**20, 1), "big_body_mb": BIG_BODY_MB,
                "targets": TARGETS, "root": str(ROOT), "scenarios_run": list(only) or list(SCENARIOS),
            },
            "scenarios": {},
        }  # fmt: skip
        for backend in backends:
            found = _backend(backend, tmp, tracking, bulk, say, only)
            result[backend] = {k: v for k, v in found.items() if k != "scenarios"}
            for name, s in found["scenarios"].items():
                s["targets_met"] = _verdict(name, s)
                result["scenarios"][f"{name}_{backend}"] = s
        result["all_targets_met"] = all(all(s["targets_met"].values()) for s in result["scenarios"].values())
    return result
