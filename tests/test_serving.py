"""Model serving against a real MLflow registry (a local SQLite store): the pinned champion is served
at start, an unreachable registry fails readiness in bounded time, a new champion is swapped in
atomically, a broken one is refused while the last good one keeps serving, and the background check
picks up a new champion and stops when told."""

from __future__ import annotations

import asyncio
import ctypes
import math
import os
import shutil
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from models.bundle import Bundle
from models.features import FEATURE_NAMES, TIME_FEATURES
from models.registry import MODEL_NAME, champion_version, load_version
from service.serving import ModelHolder, Served
from tests.conftest import SAMPLES
from training.pipeline import promote, train

REFERENCE = ("schools", "knowledge_points", "items", "classes", "students", "teaching_progress", "calendar")
PROBES = np.vstack([np.zeros(len(FEATURE_NAMES)), np.full(len(FEATURE_NAMES), np.nan)])


def _client(uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _subset(folder: Path, n_students: int) -> Path:
    """data_samples with the answers of its first `n_students` students only: another model."""
    for kind in REFERENCE:
        shutil.copy(SAMPLES / f"{kind}.csv", folder / f"{kind}.csv")
    header, *lines = (SAMPLES / "attempts.csv").read_text(encoding="utf-8").splitlines()
    keep = set(sorted({line.split(",")[1] for line in lines})[:n_students])
    rows = [line for line in lines if line.split(",")[1] in keep]
    (folder / "attempts.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Versions 1 and 2 trained for real on 80 and 40 of the sample's students (two different
    models, in seconds rather than minutes); 3 and 4 registered from the artifacts of 2 and 1 (real
    versions without another training); 1 is the champion."""
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    artifacts = (folder / "artifacts").as_uri()
    for version, students in ((1, 80), (2, 40)):
        data = _subset(tmp_path_factory.mktemp(f"school{version}"), students)
        assert train(data, uri, artifact_location=artifacts)["version"] == version
    client = _client(uri)
    for copy_of in ("2", "1"):
        original = client.get_model_version(MODEL_NAME, copy_of)
        client.create_model_version(MODEL_NAME, original.source, run_id=original.run_id)
    promote(uri, 1, "champion")
    fingerprints = {v: load_version(uri, v).data_fingerprint for v in ("1", "2")}
    assert fingerprints["1"] != fingerprints["2"]
    yield {"uri": uri, "cache": tmp_path_factory.mktemp("compiled"), "fingerprints": fingerprints}
    _lightgbm_max_threads(-1)  # the holder capped LightGBM for the whole process: lift it again


@pytest.fixture(autouse=True)
def _mlflow_http_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The holder sets MLflow's HTTP timeout and retries if unset; put them back after each test."""
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)


def _lightgbm_max_threads(threads: int | None = None) -> int:
    from lightgbm.basic import _LIB, _safe_call

    if threads is not None:
        _safe_call(_LIB.LGBM_SetMaxThreads(ctypes.c_int(threads)))
    out = ctypes.c_int(0)
    _safe_call(_LIB.LGBM_GetMaxThreads(ctypes.byref(out)))
    return out.value


def _champion(store: dict[str, Any], version: int) -> None:
    _client(store["uri"]).set_registered_model_alias(MODEL_NAME, "champion", str(version))


def _holder(store: dict[str, Any], **kwargs: Any) -> ModelHolder:
    # Generous per-attempt timeout: a real load takes seconds, longer on a busy machine.
    options: dict[str, Any] = {"cache_dir": store["cache"], "timeout_seconds": 120.0, "backoff_seconds": 0.1}
    return ModelHolder(store["uri"], **{**options, **kwargs})


def test_start_serves_the_pinned_champion_compiled_with_the_threads_set(store: dict[str, Any]) -> None:
    _champion(store, 2)  # neither the first nor the newest version
    asked: list[str] = []

    def recording_loader(uri: str, version: str) -> Bundle:
        asked.append(version)
        return load_version(uri, version)

    holder = _holder(store, loader=recording_loader, threads=2)
    assert not holder.ready and holder.current() is None
    assert holder.start() is True
    served = holder.current()
    assert served is not None and holder.ready
    assert asked == ["2"]  # the version the alias named at start, loaded by number
    assert served.version == "2" and served.bundle.data_fingerprint == store["fingerprints"]["2"]
    assert served.metrics == served.bundle.metrics and "auc" in served.metrics
    status = holder.status()
    assert status["ready"] and status["version"] == "2" and status["last_error"] is None
    assert status["compiled"] and status["refused"] == {} and status["last_outcome"] == "loaded 2"
    # Threads set explicitly: the compiled forests use them, LightGBM itself is capped at them.
    assert {f.threads for f in served.bundle.correctness.compiled_.values()} == {2}
    assert {f.threads for f in served.bundle.duration.compiled_.values()} == {2}
    assert _lightgbm_max_threads() == 2 and status["lightgbm_threads_capped"]
    # Planning calls work, and the compiled model predicts what the registered one does.
    p = served.bundle.p_correct(PROBES)
    assert p.shape == (2,) and np.all((p > 0) & (p < 1))
    np.testing.assert_allclose(p, load_version(store["uri"], 2).p_correct(PROBES), rtol=1e-9, atol=1e-12)
    bound = served.bundle.duration.set_bound(np.zeros((3, len(TIME_FEATURES))))
    assert 0 < bound < math.inf
    assert holder.check_once() == "unchanged" and holder.current() is served  # loaded once


@pytest.fixture(params=["nothing listening", "never answers"])
def dead_registry(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An MLflow tracking URI that cannot be used: a closed port, or a port that takes connections
    and never answers (with MLflow told to wait 120 s per request, its default)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    if request.param == "nothing listening":
        sock.close()
    else:
        sock.listen(64)
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "120")
    yield url
    sock.close()


def test_an_unreachable_registry_fails_readiness_in_bounded_time(dead_registry: str, tmp_path: Path) -> None:
    holder = ModelHolder(
        dead_registry, cache_dir=tmp_path, attempts=2, timeout_seconds=1.0, backoff_seconds=0.2
    )
    started = time.perf_counter()
    assert holder.start() is False
    assert time.perf_counter() - started < 15  # two attempts of at most 1 s, not minutes
    assert not holder.ready and holder.current() is None
    error = holder.last_error or ""
    assert f"the model registry at {dead_registry}" in error and "2 attempt(s)" in error
    assert holder.status()["ready"] is False and holder.status()["last_error"] == error
    started = time.perf_counter()
    assert holder.check_once().startswith("error: could not resolve the alias 'champion'")
    assert time.perf_counter() - started < 10 and not holder.ready


def test_a_new_champion_is_swapped_in_atomically(store: dict[str, Any]) -> None:
    _champion(store, 1)
    holder = _holder(store)
    assert holder.start()
    old = holder.current()
    assert old is not None and old.version == "1"
    before = old.bundle.p_correct(PROBES)
    fingerprints = store["fingerprints"]
    seen: list[tuple[str, str] | None] = []
    done = threading.Event()

    def reader() -> None:  # a request: takes the model once, plans with it
        while not done.is_set():
            served = holder.current()
            if served is not None:
                served.bundle.p_correct(PROBES)
            seen.append(None if served is None else (served.version, served.bundle.data_fingerprint))
            time.sleep(0.001)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for r in readers:
        r.start()
    _champion(store, 2)
    try:
        outcome = holder.check_once()
    finally:
        done.set()
        for r in readers:
            r.join()
    assert outcome == "swapped 1 -> 2"
    new = holder.current()
    assert new is not None and new.version == "2" and new.bundle is not old.bundle
    assert new.bundle.data_fingerprint == fingerprints["2"]
    # Every request saw a whole model, old or new, never none and never a mix.
    assert None not in seen and set(seen) <= {(v, fingerprints[v]) for v in ("1", "2")}
    # A request still holding the old version keeps it, unchanged.
    assert old.version == "1" and old.bundle.data_fingerprint == fingerprints["1"]
    np.testing.assert_array_equal(old.bundle.p_correct(PROBES), before)
    assert holder.check_once() == "unchanged" and holder.current() is new


def _nan_calibration(bundle: Bundle) -> Bundle:
    bundle.correctness.calibration_ = (math.nan, 0.0)  # P(correct) is NaN everywhere
    return bundle


def _unreadable(bundle: Bundle) -> Bundle:
    raise ValueError("bundle.pkl: truncated file")


@pytest.mark.parametrize(
    ("breakage", "reason", "loads_per_check"),
    [(_nan_calibration, "fails the probe check", 1), (_unreadable, "could not load version 3", 2)],
    ids=["predicts NaN", "fails to load"],
)
def test_a_broken_champion_is_refused_and_the_last_good_one_keeps_serving(
    store: dict[str, Any], breakage: Any, reason: str, loads_per_check: int
) -> None:
    loads: Counter[str] = Counter()

    def loader(uri: str, version: str) -> Bundle:
        """The registry's version, with version 3 broken (a real copy of version 2)."""
        loads[version] += 1
        bundle = load_version(uri, version)
        return breakage(bundle) if version == "3" else bundle

    _champion(store, 1)
    holder = _holder(store, loader=loader, attempts=2)
    assert holder.start()
    good = holder.current()
    _champion(store, 3)
    outcome = holder.check_once()
    assert outcome.startswith("refused 3: ") and reason in outcome
    assert holder.current() is good and holder.ready
    status = holder.status()
    assert status["version"] == "1" and list(status["refused"]) == ["3"] and reason in status["refused"]["3"]
    assert status["last_error"].startswith("refused version 3")
    assert loads["3"] == loads_per_check  # retried within the check (attempts) only if loading failed
    # The alias still names it: later polls neither reload it nor stop serving.
    for _ in range(3):
        assert holder.check_once().startswith("unchanged (refused 3 earlier: ")
    assert loads["3"] == loads_per_check and holder.current() is good
    # A manual reload tries it again (and refuses it again).
    assert holder.check_once(retry_refused=True).startswith("refused 3: ")
    assert loads["3"] == 2 * loads_per_check and holder.current() is good
    # The alias moves on to a good version: that one is loaded and served.
    _champion(store, 4)
    assert holder.check_once() == "swapped 1 -> 4"
    assert loads["4"] == 1 and holder.status()["last_error"] is None


def _version(served: Served | None) -> str | None:
    return None if served is None else served.version


def test_the_background_check_picks_up_a_new_champion_and_stops(store: dict[str, Any]) -> None:
    failures = [2]  # the registry fails the first two background checks: the thread must survive

    def flaky(uri: str, alias: str) -> int | None:
        if holder.ready and failures[0] > 0:
            failures[0] -= 1
            raise ConnectionError("registry went away")
        return champion_version(uri, alias)

    _champion(store, 1)
    holder = _holder(store, resolver=flaky, poll_seconds=0.2)
    assert holder.start() and holder.status()["version"] == "1"
    holder.start_background()
    try:
        _champion(store, 2)
        deadline = time.monotonic() + 120
        while _version(holder.current()) != "2" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _version(holder.current()) == "2"
        assert failures == [0] and holder.status()["last_outcome"] == "swapped 1 -> 2"
    finally:
        assert holder.stop(timeout=60)
    checked = holder.last_check
    time.sleep(0.6)  # three poll intervals
    assert holder.last_check == checked


# --- planning in worker processes (service.pool, processes mode) --------------------------------


def _who_runs(**tools: Any) -> tuple[int, int, str]:
    """In a planning worker: its pid, its CPU priority and the model version it was handed."""
    return os.getpid(), os.getpriority(os.PRIO_PROCESS, 0), tools["model"].version


def _refuse(**tools: Any) -> None:
    from service.errors import RuleBroken

    raise RuleBroken("C3", "too hard", "太难了", violations=[1])


def test_planning_in_worker_processes_loads_the_named_version_and_keeps_serving_after_a_crash(
    store: dict[str, Any], samples_sqlite: str, tmp_path: Path
) -> None:
    """The service's planning runs in spawned worker processes at a lower priority (so that a
    teacher's planning never holds the serving process's interpreter): each loads the version the
    serving process names, answers what threads would (the same mastery levels), a refusal comes
    back as the domain's own error (kind and Chinese reason), and a killed worker costs the work it
    held (503) while the pool goes on with new ones."""
    from service import plans
    from service.errors import ModelUnavailable, RuleBroken
    from service.planner.context import StateCache
    from service.plans import ModelInUse
    from service.policy.policy import PolicyBook
    from service.pool import PlanningPool
    from service.settings import Settings
    from service.store.db import make_engine

    shutil.copy(Path(samples_sqlite.removeprefix("sqlite:///")), tmp_path / "school.db")
    url = f"sqlite:///{tmp_path / 'school.db'}"
    settings = Settings(
        database_url=url, mlflow_tracking_uri=store["uri"], data_dir=tmp_path / "var", log_json=False,
        policy_dir=SAMPLES / "policies", jwt_secret="k" * 40, erasure_secret="e" * 40,
    )  # fmt: skip
    serving = {"version": "2"}
    pool = PlanningPool(
        workers=1, per_account=2, queue=2, processes=settings, version=lambda: serving["version"]
    )
    night = date(2026, 11, 10)
    asked = {"class_id": "east-5-1", "subject": "math", "night": night}
    try:
        assert pool.warm(timeout=120)
        pid, priority, version = asyncio.run(pool.run("t", _who_runs))
        assert pid != os.getpid() and version == "2"
        assert priority >= min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10) or priority == 19
        far = asyncio.run(pool.run("t", plans.class_mastery, **asked))

        bundle = load_version(store["uri"], "2")
        assert bundle is not None
        here = plans.class_mastery(
            db=make_engine(url), model=ModelInUse("2", bundle, StateCache(bundle.priors)),
            book=PolicyBook(SAMPLES / "policies"), **asked,
        )  # fmt: skip
        assert far == here and len(far.levels) > 10

        serving["version"] = "1"  # the serving process moved on: the worker loads that version next
        assert asyncio.run(pool.run("t", _who_runs))[2] == "1"

        with pytest.raises(RuleBroken) as refused:  # a refusal comes back whole
            asyncio.run(pool.run("t", _refuse))
        assert (refused.value.rule, refused.value.zh, refused.value.extra) == (
            "C3",
            "太难了",
            {"violations": [1]},
        )
        with pytest.raises(RuntimeError, match="LedgerError"):  # one that would not unpickle: named
            asyncio.run(pool.run("t", plans.class_mastery, **(asked | {"class_id": "no-such-class"})))
        assert asyncio.run(pool.run("t", _who_runs))[0] == pid  # and the pool is not broken by it

        os.kill(pid, signal.SIGKILL)
        outcomes: list[str] = []
        for _ in range(3):  # the work in flight or the next submission finds the pool broken: 503
            try:
                asyncio.run(pool.run("t", _who_runs))
                outcomes.append("served")
                break
            except ModelUnavailable as exc:
                assert "排题进程" in exc.zh
                outcomes.append("503")
                time.sleep(0.5)
        assert outcomes[-1] == "served" and len(outcomes) <= 2, outcomes
        assert asyncio.run(pool.run("t", _who_runs))[0] != pid  # a new worker
    finally:
        pool.close()
