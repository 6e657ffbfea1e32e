"""The model the service plans with: the registry's champion, loaded once per process and swapped
atomically when the champion changes.

At start the alias (`champion`) is resolved once and that pinned version is loaded, compiled and
checked, with bounded retries. Every registry call runs in a worker thread that the holder stops
waiting for after `timeout_seconds`, so an unreachable or silent registry leaves the service not
ready, with the reason in `status()`, instead of hanging start-up. A background check resolves the
alias again every `poll_seconds`; a new version is prepared beside the one serving and only then put
in place by one assignment, so a request sees the old model or the new one, never a mix. A version
that fails to load or predicts nonsense is refused and remembered (not reloaded on every poll) while
the last good one keeps serving. Plans record `Served.version`. Nothing here imports FastAPI.
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import numpy as np

from models.bundle import Bundle
from models.features import FEATURE_NAMES, TIME_FEATURES
from models.registry import MODEL_NAME, RegistryError, champion_version, load_version
from service.settings import Settings, get_settings

log = logging.getLogger("jianfu.serving")
T = TypeVar("T")
Loader = Callable[[str, str], Bundle | None]  # (tracking_uri, version) -> Bundle, None if no such version
Resolver = Callable[[str, str], int | None]  # (tracking_uri, alias) -> version, None if no such alias
MAX_BACKOFF_SECONDS = 30.0


@dataclass(frozen=True)
class Served:
    """One loaded version. Immutable: a request that took it keeps a consistent model to the end,
    whatever is swapped in meanwhile."""

    version: str
    bundle: Bundle
    loaded_at: datetime
    metrics: dict[str, float]
    compile_error: str | None = None  # the forests could not be compiled: LightGBM predicts instead


def check_bundle(bundle: Bundle) -> None:
    """Raise ValueError unless the bundle answers sanely on probe rows (all zeros; all missing):
    P(correct) finite in [0, 1], item times and an evening bound finite and positive. A version that
    fails is never served. (Bundle.load has already refused other feature configurations.)"""
    if not isinstance(bundle, Bundle):
        raise ValueError(f"the loaded model is a {type(bundle).__name__}, not a jianfu bundle")

    def probes(width: int) -> np.ndarray:
        return np.vstack([np.zeros(width), np.full(width, np.nan)])

    p = np.asarray(bundle.p_correct(probes(len(FEATURE_NAMES))), dtype=np.float64)
    if p.shape != (2,) or not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"P(correct) on probe rows is {p.tolist()}, not probabilities")
    X_time = probes(len(TIME_FEATURES))
    seconds = np.asarray(bundle.duration.predict(X_time), dtype=np.float64)
    bound = bundle.duration.set_bound(X_time)
    if seconds.shape != (2,) or not (np.all(np.isfinite(seconds) & (seconds > 0)) and 0 < bound < math.inf):
        raise ValueError(f"item seconds {seconds.tolist()} and bound {bound} on probe rows are not positive")


def limit_lightgbm_threads(threads: int) -> bool:
    """Cap LightGBM at `threads` in this process; False if this LightGBM cannot.

    The models call Booster.predict without num_threads, which then uses every core; LightGBM's C
    API LGBM_SetMaxThreads caps all its work in the process (the Python package does not wrap it).
    The compiled forests, which serve when compilation works, are given `threads` directly."""
    from lightgbm.basic import _LIB, _safe_call

    if not hasattr(_LIB, "LGBM_SetMaxThreads"):
        return False
    _safe_call(_LIB.LGBM_SetMaxThreads(ctypes.c_int(threads)))
    return True


def bound_mlflow_http(timeout_seconds: float) -> None:
    """MLflow's HTTP client waits 120 s per request and retries 7 times with backoff by default
    (mlflow.environment_variables): minutes on a dead server. The holder retries on its own, so
    MLflow is told to give up quickly, unless the operator has set these variables."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(max(1, math.ceil(timeout_seconds))))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")


def bounded(call: Callable[[], T], seconds: float, name: str) -> T:
    """call() in a daemon thread, waited for at most `seconds` (TimeoutError after that).

    A thread cannot be killed: one that overruns is abandoned and its result dropped (MLflow's own
    request timeout ends it later). Not a ThreadPoolExecutor: its workers are joined at interpreter
    exit, so a hung registry call would then hang shutdown."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=run, name=f"jianfu-{name}", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {seconds:g} s")
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def _now() -> datetime:
    return datetime.now(UTC)


def _shown(uri: str) -> str:
    """The URI without user and password, for messages."""
    parts = urlsplit(uri)
    if parts.password is None and parts.username is None:
        return uri
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _said(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


class ModelHolder:
    """Holds the version being served; see the module docstring.

    cache_dir keeps the compiled forests (default: JIANFU_DATA_DIR/compiled). loader and resolver
    exist so a test can hand over a broken version; by default they are the real registry
    (models.registry.load_version and champion_version)."""

    def __init__(
        self,
        tracking_uri: str,
        alias: str = "champion",
        cache_dir: Path | None = None,
        threads: int = 2,
        attempts: int = 3,
        timeout_seconds: float = 10.0,
        poll_seconds: float = 60.0,
        backoff_seconds: float = 1.0,
        loader: Loader | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.alias = alias
        self.cache_dir = cache_dir if cache_dir is not None else get_settings().data_dir / "compiled"
        self.threads = max(1, int(threads))
        self.attempts = max(1, int(attempts))
        self.timeout_seconds = timeout_seconds
        self.poll_seconds = poll_seconds
        self.backoff_seconds = backoff_seconds
        self._loader: Loader = loader or load_version
        self._resolver: Resolver = resolver or champion_version
        self._served: Served | None = None
        self._swap_lock = threading.Lock()  # guards the one assignment of _served
        self._check_lock = threading.Lock()  # one check at a time (background poll, manual reload)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._refused: dict[str, str] = {}  # version -> why it is not served
        self.last_error: str | None = None
        self.last_check: datetime | None = None
        self.last_outcome: str | None = None
        self.lightgbm_threads_capped: bool | None = None

    @classmethod
    def of(cls, settings: Settings) -> ModelHolder:
        """The holder of the registry's model as the settings say (not started)."""
        return cls(
            settings.resolved_tracking_uri(),
            alias=settings.model_alias,
            cache_dir=settings.forest_cache(),
            threads=settings.model_threads,
            attempts=settings.model_attempts,
            timeout_seconds=settings.model_timeout_seconds,
            poll_seconds=settings.model_poll_seconds,
        )

    # -- reading ---------------------------------------------------------------------------------

    def current(self) -> Served | None:
        """The version to plan with (one attribute read: atomic). Take it once per request."""
        return self._served

    @property
    def ready(self) -> bool:
        return self._served is not None

    def status(self) -> dict[str, Any]:
        served = self._served
        return {
            "ready": served is not None,
            "model": MODEL_NAME,
            "alias": self.alias,
            "version": served.version if served else None,
            "loaded_at": served.loaded_at.isoformat() if served else None,
            "metrics": dict(served.metrics) if served else {},
            "compiled": served is not None and served.compile_error is None,
            "compile_error": served.compile_error if served else None,
            "threads": self.threads,
            "lightgbm_threads_capped": self.lightgbm_threads_capped,
            "last_error": self.last_error,
            "last_check": self.last_check.isoformat() if self.last_check else None,
            "last_outcome": self.last_outcome,
            "refused": dict(self._refused),
        }

    # -- loading ---------------------------------------------------------------------------------

    def start(self) -> bool:
        """Resolve the alias once and serve that version, with bounded retries. Never raises: on
        failure the holder stays not ready and `last_error` says why. Returns `ready`."""
        bound_mlflow_http(self.timeout_seconds)
        self.lightgbm_threads_capped = limit_lightgbm_threads(self.threads)
        self._check(resolve_attempts=self.attempts, retry_refused=True)
        return self.ready

    def check_once(self, retry_refused: bool = False) -> str:
        """Resolve the alias; if it names another version than the one serving, load, compile and
        check that version and only then swap it in. Returns what happened: "unchanged",
        "loaded 3", "swapped 2 -> 3", "refused 4: <reason>", "error: <reason>". A refused version is
        not tried again while something serves, unless `retry_refused` (a manual reload)."""
        return self._check(resolve_attempts=1, retry_refused=retry_refused)

    def _check(self, resolve_attempts: int, retry_refused: bool) -> str:
        with self._check_lock:
            self.last_check = _now()
            outcome = self._check_locked(resolve_attempts, retry_refused)
            self.last_outcome = outcome
        log.info("model %s (%s): %s", MODEL_NAME, self.alias, outcome)
        return outcome

    def _check_locked(self, resolve_attempts: int, retry_refused: bool) -> str:
        served = self._served
        where = f"the model registry at {_shown(self.tracking_uri)}"
        try:
            target = self._retried(
                lambda: self._resolver(self.tracking_uri, self.alias),
                resolve_attempts,
                f"could not resolve the alias {self.alias!r} of {MODEL_NAME!r} in {where}",
            )
        except RegistryError as exc:
            self.last_error = str(exc)
            return f"error: {exc}"
        if target is None:
            self.last_error = f"no version of {MODEL_NAME!r} has the alias {self.alias!r} in {where}"
            return f"unchanged: {self.last_error}" if served else f"error: {self.last_error}"
        version = str(target)
        if served is not None and served.version == version:
            self.last_error = None
            return "unchanged"
        if version in self._refused and served is not None and not retry_refused:
            return f"unchanged (refused {version} earlier: {self._refused[version]})"
        try:
            new = self._prepare(version, where)
        except (RegistryError, ValueError) as exc:
            reason = str(exc)
            self._refused[version] = reason
            self.last_error = f"refused version {version}: {reason}"
            log.warning("model %s version %s refused: %s", MODEL_NAME, version, reason)
            return f"refused {version}: {reason}"
        with self._swap_lock:
            self._served = new
        self._refused.pop(version, None)
        self.last_error = None
        return f"swapped {served.version} -> {version}" if served else f"loaded {version}"

    def load(self, version: str) -> Served:
        """One given version, loaded, compiled and checked as the champion is (a planning worker
        process loads the version its serving process names); raises RegistryError or ValueError."""
        bound_mlflow_http(self.timeout_seconds)
        if self.lightgbm_threads_capped is None:
            self.lightgbm_threads_capped = limit_lightgbm_threads(self.threads)
        return self._prepare(version, f"the model registry at {_shown(self.tracking_uri)}")

    def _prepare(self, version: str, where: str) -> Served:
        """Load (bounded, retried), compile and check one version; raises RegistryError or
        ValueError with the reason it cannot be served."""
        bundle = self._retried(
            lambda: self._loader(self.tracking_uri, version),
            self.attempts,
            f"could not load version {version} of {MODEL_NAME!r} from {where}",
        )
        if bundle is None:
            raise ValueError(f"there is no version {version} of {MODEL_NAME!r} in {where}")
        compile_error = None
        try:
            bundle.compile(self.cache_dir, self.threads)
        except Exception as exc:  # no lleaves/LLVM here: LightGBM predicts the same, only slower
            compile_error = f"{type(exc).__name__}: {_said(exc)}"
            log.warning("model %s version %s not compiled: %s", MODEL_NAME, version, compile_error)
        try:
            check_bundle(bundle)  # what will serve, compiled or not
        except Exception as exc:
            raise ValueError(f"it fails the probe check: {type(exc).__name__}: {_said(exc)}") from exc
        return Served(version, bundle, _now(), dict(bundle.metrics), compile_error)

    def _retried(self, call: Callable[[], T], attempts: int, failure: str) -> T:
        """call() up to `attempts` times, each bounded by timeout_seconds, with capped exponential
        backoff between them (cut short by stop())."""
        delay = self.backoff_seconds
        last: BaseException | None = None
        for attempt in range(1, attempts + 1):
            try:
                return bounded(call, self.timeout_seconds, "registry")
            except Exception as exc:
                last = exc
                log.info("%s (attempt %d of %d): %s", failure, attempt, attempts, _said(exc))
            if attempt < attempts:
                if self._stop.wait(delay):
                    break
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
        assert last is not None
        raise RegistryError(
            f"{failure} ({attempts} attempt(s), {self.timeout_seconds:g} s each): "
            f"{type(last).__name__}: {_said(last)}"
        )

    # -- background check ------------------------------------------------------------------------

    def start_background(self) -> None:
        """Check every poll_seconds in a daemon thread until stop()."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, name="jianfu-model-check", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.check_once()
            except Exception as exc:  # the checker must outlive any one failure
                self.last_error = f"model check failed: {type(exc).__name__}: {_said(exc)}"
                log.exception("model check failed")

    def stop(self, timeout: float | None = None) -> bool:
        """Stop the background check; waits for a check in progress (itself bounded). True once the
        thread has ended."""
        self._stop.set()
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()
