"""Training on a Dask cluster: the same LightGBM trees, fitted by `lightgbm.dask` across workers,
returned as an ordinary Booster so the artifact is the same as a local one."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np


def dask_booster_fitter(scheduler: str, chunk_rows: int = 50_000) -> Any:
    """A fit_booster for CorrectnessModel.fit that trains on the cluster at `scheduler`."""
    import dask.array as da
    from distributed import Client

    def fit(params: dict[str, Any], X: np.ndarray, y: np.ndarray) -> lgb.Booster:
        with Client(scheduler) as client:
            workers = len(client.scheduler_info()["workers"])
            rows = max(min(chunk_rows, len(y) // max(workers, 1) + 1), 1)
            dX = client.persist(da.from_array(X, chunks=(rows, X.shape[1])))
            dy = client.persist(da.from_array(y, chunks=rows))
            local = {k: v for k, v in params.items() if k not in ("n_jobs",)}
            model = lgb.DaskLGBMClassifier(client=client, **local).fit(dX, dy)
            return model.to_local().booster_

    return fit
