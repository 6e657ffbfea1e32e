"""`jianfu train --engine dask` on a real local Dask cluster of 2 worker processes: the same kind of
artifact as local training, and as good on the holdout."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jianfu.cli import app
from models.registry import list_versions, load_version
from tests.conftest import SAMPLES


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert len(cluster.workers) == 2
        yield cluster.scheduler_address


def test_training_on_a_two_worker_cluster_registers_an_equivalent_bundle(
    scheduler: str, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--data",
            str(SAMPLES),
            "--engine",
            "dask",
            "--scheduler",
            scheduler,
            "--tracking-uri",
            uri,
        ],
    )
    assert result.exit_code == 0, result.output
    [version] = list_versions(uri)
    bundle = load_version(uri, version["version"])
    assert bundle.correctness.booster_.num_trees() > 10
    assert version["metrics"]["auc"] > 0.70
    from mlflow import MlflowClient

    params = MlflowClient(tracking_uri=uri).get_run(version["run_id"]).data.params
    assert params["engine"] == "dask"


def test_dask_without_a_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", "--engine", "dask", "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"]
    )
    assert result.exit_code != 0
    assert "--scheduler" in result.output
