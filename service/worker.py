"""A planning worker process (service.pool, processes mode): what the serving process's Services
hold for planning — the database engine, the policy book, the model and the students' states kept
for it — opened again here from the same settings, for the domain functions run in this process."""

from __future__ import annotations

import logging
import threading
from typing import Any

from models.registry import RegistryError
from service.errors import ModelUnavailable
from service.logs import configure_logging
from service.planner.context import StateCache
from service.plans import ModelInUse
from service.policy.policy import PolicyBook
from service.serving import ModelHolder
from service.settings import Settings

log = logging.getLogger("jianfu.pool")


class PlanningWorker:
    def __init__(self, settings: Settings) -> None:
        from service.store.db import make_engine

        self.log_json, self.log_level = settings.log_json, settings.log_level
        if settings.log_json:
            configure_logging(settings.log_level)
        self.engine = make_engine(settings.resolved_database_url())
        self.book = PolicyBook(settings.policy_dir)
        self.holder = ModelHolder.of(settings)  # loads the versions it is asked for; no polling
        self._model: ModelInUse | None = None
        self._lock = threading.Lock()

    def model(self, version: str) -> ModelInUse:
        """The version the serving process plans with, loaded here once (and again when it moves on)."""
        with self._lock:
            if self._model is None or self._model.version != version:
                try:
                    served = self.holder.load(version)
                except (RegistryError, ValueError) as exc:  # the registry unreachable: try again later
                    log.warning(
                        "planning worker could not load model version %s: %s", version, type(exc).__name__
                    )
                    raise ModelUnavailable(
                        f"the planning worker could not load model version {version} yet; try again shortly",
                        f"排题进程暂时无法加载模型版本 {version}，请稍后再试",
                    ) from None
                if self.log_json:
                    configure_logging(self.log_level)  # again: importing MLflow gave it sqlalchemy.engine
                self._model = ModelInUse(version, served.bundle, StateCache(served.bundle.priors))
                log.info("planning worker loaded model version %s", version)
            return self._model

    def tools(self, version: str) -> dict[str, Any]:
        """What every planning function takes besides its own arguments."""
        return {"db": self.engine, "model": self.model(version), "book": self.book}
