"""`jianfu bench serve`: the service under load on loopback, beside a bare FastAPI endpoint.

Both run with 2 uvicorn workers. wrk (Debian's package) saturates each in turn with the same
threads, connections and duration: the service's "tonight" route (a student's evening, signed in,
read from the database) against the bare endpoint, as a ratio of requests per second measured in the
same run. Then a paced client sends "tonight" at a fixed 100 requests per second (open loop: a
request is sent on time whether or not the previous one answered) and reports the latency
percentiles. Last, a teacher plans a class of 45 through HTTP on several nights (median seconds).
The service is the real one: trained on data_samples/ and served from a local MLflow registry.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data_samples"
NIGHTS = ["2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13", "2026-11-16", "2026-11-17"]
CLASS = "east-5-1"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(app: str, port: int, env: dict[str, str], log: Path, factory: bool) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
            "--log-level", "warning", "--no-access-log"]  # fmt: skip
    if factory:
        args.append("--factory")
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _wait(url: str, seconds: float = 180.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer 200 within {seconds:.0f} s")


def _wrk(url: str, headers: dict[str, str], seconds: int, connections: int) -> dict[str, float]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk (Debian's package)")
    args = [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests_per_second": round(rps, 1), "non_2xx": int(errors.group(1)) if errors else 0}


async def _paced(url: str, headers: dict[str, str], rate: int, seconds: int) -> dict[str, float]:
    latencies: list[float] = []
    failures = 0
    async with httpx.AsyncClient(
        headers=headers, timeout=10, limits=httpx.Limits(max_connections=200)
    ) as client:

        async def one() -> None:
            nonlocal failures
            start = time.perf_counter()
            try:
                r = await client.get(url)
                ok = r.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - start) * 1000)
            failures += 0 if ok else 1

        tasks = []
        begin = time.perf_counter()
        for k in range(rate * seconds):
            delay = begin + k / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - begin
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "achieved_rps": round(len(latencies) / elapsed, 1),
        "failures": failures,
        "p50_ms": round(ordered[len(ordered) // 2], 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 2),
        "max_ms": round(ordered[-1], 2),
    }


def run(seconds: int = 15, connections: int = 16, rate: int = 100, rate_seconds: int = 20) -> dict[str, Any]:
    from sqlalchemy import select

    from service.auth import create_user
    from service.policy.evenings import set_allocation
    from service.policy.policy import PolicyBook
    from service.store import tables as t
    from service.store.db import make_engine, upgrade
    from service.store.importer import import_files
    from training.pipeline import promote, train

    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="jianfu-bench-serve-") as folder:
        tmp = Path(folder)
        try:
            engine = make_engine(f"sqlite:///{tmp / 'jianfu.db'}")
            upgrade(engine)
            import_files(engine, [SAMPLES])
            with engine.connect() as conn:
                student: str = conn.execute(
                    select(t.students.c.student_id).where(t.students.c.class_id == CLASS).order_by(t.students.c.student_id)
                ).scalars().first()  # type: ignore[assignment]  # fmt: skip
            book = PolicyBook(SAMPLES / "policies")
            for weekday in range(5):  # the head teacher gives maths half of every school evening
                set_allocation(engine, book, CLASS, weekday, {"math": 1, "chinese": 1})
            create_user(
                engine, "bench-teacher", "bench-password", "teacher", scopes=[("class", CLASS, "math")]
            )
            create_user(
                engine, "bench-student", "bench-password", "student", scopes=[("student", student, "")]
            )
            engine.dispose()
            tracking = f"sqlite:///{tmp / 'mlflow.db'}"
            version = train(SAMPLES, tracking, artifact_location=(tmp / "artifacts").as_uri())["version"]
            promote(tracking, version, "champion")
            env = {
                **os.environ,
                "JIANFU_DATA_DIR": str(tmp / "var"),
                "JIANFU_DATABASE_URL": f"sqlite:///{tmp / 'jianfu.db'}",
                "JIANFU_MLFLOW_TRACKING_URI": tracking,
                "JIANFU_JWT_SECRET": "b" * 40,
                "JIANFU_POLICY_DIR": str(SAMPLES / "policies"),
                "JIANFU_LOG_JSON": "true",  # as deployed: a JSON line per request (into service.log)
                "JIANFU_MODEL_POLL_SECONDS": "3600",
            }
            service_port, bare_port = _port(), _port()
            processes.append(
                _serve("service.app:create_app", service_port, env, tmp / "service.log", factory=True)
            )
            processes.append(_serve("benchmarks.bare:app", bare_port, env, tmp / "bare.log", factory=False))
            base = f"http://127.0.0.1:{service_port}"
            _wait(f"{base}/readyz")
            _wait(f"http://127.0.0.1:{bare_port}/bare")
            with httpx.Client(base_url=base, timeout=120) as client:

                def token(name: str) -> dict[str, str]:
                    r = client.post("/v1/token", data={"username": name, "password": "bench-password"})
                    return {"Authorization": f"Bearer {r.json()['access_token']}"}

                teacher, pupil = token("bench-teacher"), token("bench-student")
                plan_seconds: list[float] = []
                planned: list[int] = []  # students who got a set, each night
                for night in NIGHTS:
                    start = time.perf_counter()
                    r = client.post(f"/v1/classes/{CLASS}/plans", json={"subject": "math", "night": night},
                                    headers=teacher)  # fmt: skip
                    plan_seconds.append(time.perf_counter() - start)
                    if r.status_code != 200:
                        raise RuntimeError(f"planning failed: {r.status_code} {r.text[:300]}")
                    planned.append(r.json()["summary"]["planned"])
                client.post(f"/v1/classes/{CLASS}/publish", json={"subject": "math", "night": NIGHTS[0]},
                            headers=teacher)  # fmt: skip
                tonight = f"{base}/v1/students/{student}/tonight?night={NIGHTS[0]}"
                items = len(client.get(tonight, headers=pupil).json()["items"])
            for _ in range(200):  # warm both up
                httpx.get(tonight, headers=pupil)
                httpx.get(f"http://127.0.0.1:{bare_port}/bare")
            bare = _wrk(f"http://127.0.0.1:{bare_port}/bare", {}, seconds, connections)
            served = _wrk(tonight, pupil, seconds, connections)
            paced = asyncio.run(_paced(tonight, pupil, rate, rate_seconds))
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
    return {
        "setup": {
            "workers": 2,
            "wrk_threads": 2,
            "wrk_connections": connections,
            "wrk_seconds": seconds,
            "tonight_items": items,
            "service_logs": "a JSON line per request, as deployed",
            "machine_cores": os.cpu_count(),
        },
        "bare": bare,
        "tonight": {
            **served,
            "throughput_ratio_vs_bare": round(served["requests_per_second"] / bare["requests_per_second"], 3),
            "target_ratio": 0.30,
            "paced": paced,
            "p99_ms_at_100rps": paced["p99_ms"],
            "target_p99_ms": 50.0,
        },
        "class_plan_http": {
            "nights": NIGHTS,
            "seconds": [round(s, 3) for s in plan_seconds],
            "students_planned": planned,
            "seconds_median": round(statistics.median(plan_seconds), 3),
            "target_seconds": 1.5,
        },
    }
