"""An app factory for tests that run the service as its own process (uvicorn --factory): the model
comes from a pickled bundle (JIANFU_TEST_BUNDLE) instead of the MLflow registry; everything else
(database, policies, signing key) from the JIANFU_ settings as in production."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from fastapi import FastAPI

from service.app import create_app
from tests.conftest import FixedModels


def create() -> FastAPI:
    bundle = pickle.loads(Path(os.environ["JIANFU_TEST_BUNDLE"]).read_bytes())
    return create_app(models=FixedModels(bundle))
