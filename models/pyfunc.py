"""The bundle as an MLflow pyfunc model (kept apart so that loading a bundle needs no MLflow).

Logged as "models from code": MLflow stores this file and runs it at load time, rather than a
pickle of the class. (model_input is typed as a DataFrame: MLflow infers no schema from that type and, typed so, does not
warn at every logging that the method has no type hints.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel, PythonModelContext

from models import features
from models.bundle import Bundle


class JianfuModel(PythonModel):
    """A table of correctness features (features.FEATURE_NAMES) in, P(correct) out. The service
    reaches the whole bundle through `unwrap_python_model().bundle`."""

    def load_context(self, context):
        self.bundle = Bundle.load(Path(context.artifacts["bundle"]))

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> np.ndarray:
        X = np.asarray(model_input[list(features.FEATURE_NAMES)], dtype=np.float64)
        return self.bundle.p_correct(X)


set_model(JianfuModel())
