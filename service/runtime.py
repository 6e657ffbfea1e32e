"""The services one process holds for every request, whether it comes through the API or the pages:
settings, the database engine, the policy book, the model holder, the signing key, the students'
states kept per model version, the accounts recently seen, the pool planning and model work run in
(service.pool), the threads sign-ins run in, and the runner of background jobs."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
from sqlalchemy import Engine

from models.bundle import Bundle
from service.auth import PrincipalCache, SignInPool, Throttle
from service.errors import ModelUnavailable
from service.jobs import JobRunner
from service.planner.context import StateCache
from service.plans import ModelInUse
from service.policy.policy import PolicyBook
from service.pool import PlanningPool, cores
from service.settings import Settings


class Served(Protocol):
    version: str
    bundle: Bundle


class Models(Protocol):
    """The model holder (service.serving.ModelHolder): the version being served, swapped atomically."""

    @property
    def ready(self) -> bool: ...

    def current(self) -> Any: ...

    def status(self) -> dict[str, Any]: ...

    def check_once(self, retry_refused: bool = False) -> str: ...


READS = 16  # a student's tonight: threads, and connections of their own, at most this many at once
READS_CACHE_MB = 16  # SQLite page cache per reading connection (the hot reads touch few pages)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    book: PolicyBook
    models: Models
    key: str
    caches: dict[str, StateCache] = field(default_factory=dict)
    principals: PrincipalCache = field(default_factory=PrincipalCache)
    lock: threading.Lock = field(default_factory=threading.Lock)
    job_runner: JobRunner | None = None  # started and stopped with the app (service.app)
    planning_in_processes: bool = False  # the models come from the registry: worker processes can load them
    # The hot reads' own connections (a student's tonight): a pool apart from the one writers take.
    # On SQLite a writer waiting for the one write lock (answers during a long import) holds its
    # pooled connection meanwhile; with one pool, a few dozen of them left `/tonight` waiting for a
    # connection, not for data. None: the engine's own pool (a test's engine handed in).
    read_engine: Engine | None = None
    planning: PlanningPool = field(init=False)
    sign_ins: SignInPool = field(init=False)  # sign-ins' own threads (service.auth.SignInPool)
    throttle: Throttle = field(init=False)  # the back-off after failed sign-ins
    # A student's tonight reads in threads of their own: the threads every sync route shares can all
    # be held by writers waiting for SQLite's write lock (answers during a long import).
    reads: anyio.CapacityLimiter = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        processes = s.planning_processes and self.planning_in_processes
        self.planning = PlanningPool(
            workers=s.planning_workers or max(1, cores() // max(1, s.workers)), per_account=s.planning_per_account,
            queue=s.planning_queue, tools=self.tools, processes=s if processes else None,
            version=self.model_version if processes else None,
        )  # fmt: skip
        self.sign_ins = SignInPool(s.sign_in_threads, s.sign_in_queue)
        self.throttle = Throttle.of(s)
        self.reads = anyio.CapacityLimiter(READS)

    def close(self) -> None:
        """The process is stopping: the planning pool takes no more work."""
        self.planning.close()
        if self.read_engine is not None:
            self.read_engine.dispose()

    @property
    def readers(self) -> Engine:
        """The engine the hot reads use (read_engine, else the engine)."""
        return self.read_engine if self.read_engine is not None else self.engine

    @property
    def jobs(self) -> JobRunner:
        if self.job_runner is None:
            raise RuntimeError("no job runner: the app's lifespan starts one (service.app.create_app)")
        return self.job_runner

    def model(self) -> ModelInUse:
        """The model being served, with the students' states kept for its version between requests."""
        served = self.models.current()
        if served is None:
            raise ModelUnavailable(
                "no model is loaded yet; try again shortly", "模型还没有加载好，请稍后再试"
            )
        version = str(served.version)
        with self.lock:
            if version not in self.caches:
                self.caches.clear()  # states of a replaced model are of no further use
                self.caches[version] = StateCache(served.bundle.priors)
            states = self.caches[version]
        return ModelInUse(version, served.bundle, states)

    def tools(self) -> dict[str, Any]:
        """What a planning function takes besides its own arguments (service.pool, threads)."""
        return {"db": self.engine, "model": self.model(), "book": self.book}

    def model_version(self) -> str:
        """The version planning uses now (worker processes load it); ModelUnavailable if none yet."""
        return self.model().version

    def forget_states(self) -> None:
        """Items or answers changed under the states (an import, an erasure): rebuild them from the database."""
        with self.lock:
            self.caches.clear()
