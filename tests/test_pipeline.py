"""The data team's pipeline for real: train on data_samples into a local MLflow store, register,
promote through the gate; bad training input gives a clear error, not a traceback."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest
from typer.testing import CliRunner

from jianfu.cli import app
from models.bundle import Bundle
from models.registry import list_versions, load_version
from tests.conftest import SAMPLES
from training.pipeline import PromotionRefused, promote, train

REFERENCE = ("schools", "knowledge_points", "items", "classes", "students", "teaching_progress", "calendar")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A local MLflow store with version 1 trained on data_samples and promoted to champion."""
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    artifacts = (folder / "artifacts").as_uri()
    result = train(SAMPLES, uri, artifact_location=artifacts)
    assert result["version"] == 1
    promote(uri, 1, "champion")
    return {"uri": uri, "artifacts": artifacts}


def test_training_logs_metrics_and_the_report_and_registers_a_version(store: dict[str, str]) -> None:
    from mlflow import MlflowClient

    versions = list_versions(store["uri"])
    assert [v["version"] for v in versions][:1] == [1] and versions[0]["aliases"] == ["champion"]
    metrics = versions[0]["metrics"]
    assert metrics["auc"] > 0.7 and metrics["calibration_rmse"] < 0.1 and 0 <= metrics["overrun_rate"] <= 0.15
    client = MlflowClient(tracking_uri=store["uri"])
    artifacts = [a.path for a in client.list_artifacts(versions[0]["run_id"])]
    assert "evaluation_report.json" in artifacts


def test_the_registered_bundle_loads_fast_and_predicts(store: dict[str, str]) -> None:
    started = time.perf_counter()
    bundle = load_version(store["uri"], 1)
    load_seconds = time.perf_counter() - started
    assert isinstance(bundle, Bundle)
    assert len(bundle.data_fingerprint) == 64
    assert load_seconds < 10  # the < 2 s figure is measured by `jianfu bench train`, not here
    p = bundle.p_correct(np.zeros((3, bundle.correctness.n_features_in_)))
    assert p.shape == (3,) and np.all((p > 0) & (p < 1))


def test_a_worse_candidate_is_refused_unless_forced(store: dict[str, str]) -> None:
    def one_tree(params: dict[str, object], X: np.ndarray, y: np.ndarray) -> lgb.Booster:
        return lgb.LGBMClassifier(**{**params, "n_estimators": 1, "num_leaves": 2}).fit(X, y).booster_

    worse = train(SAMPLES, store["uri"], fit_booster=one_tree, artifact_location=store["artifacts"])
    with pytest.raises(PromotionRefused, match=r"worse than champion \(version 1\).*AUC"):
        promote(store["uri"], worse["version"], "champion")
    assert [v["aliases"] for v in list_versions(store["uri"]) if v["version"] == 1] == [["champion"]]
    forced = promote(store["uri"], worse["version"], "champion", force=True)
    assert forced["overridden"]
    promote(store["uri"], 1, "champion")  # put the good one back


def test_promoting_a_version_that_does_not_exist_is_a_clear_error(store: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["models", "promote", "99", "--tracking-uri", store["uri"]])
    assert result.exit_code == 1
    assert "there is no version 99" in result.output


def _school_with(tmp_path: Path, attempts: str) -> Path:
    for kind in REFERENCE:
        shutil.copy(SAMPLES / f"{kind}.csv", tmp_path / f"{kind}.csv")
    (tmp_path / "attempts.csv").write_text(
        "event_id,student_id,item_id,night,submitted_at,correct,seconds,score,source\n" + attempts,
        encoding="utf-8",
    )
    return tmp_path


def _sample_rows(n_students: int, correct: str | None = None) -> str:
    lines = (SAMPLES / "attempts.csv").read_text(encoding="utf-8").splitlines()[1:]
    students = sorted({line.split(",")[1] for line in lines})[:n_students]
    keep = [line for line in lines if line.split(",")[1] in students]
    if correct is not None:
        keep = [",".join([*parts[:5], correct, *parts[6:]]) for parts in (line.split(",") for line in keep)]
    return "\n".join(keep) + "\n"


@pytest.mark.parametrize(
    ("attempts", "message"),
    [
        ("", "the homework log is empty"),
        (None, "answers from 1 student(s); jianfu needs at least 10"),
        ("all-right", "every answer in the homework log is right"),
        ("e1,stu-nobody,math-g5-01-001,2026-10-12,2026-10-12T19:30:05+08:00,1,60,,app\n", "unknown student"),
    ],
    ids=["empty log", "one student", "all answers right", "unknown ids"],
)
def test_bad_training_input_is_a_clear_error(tmp_path: Path, attempts: str | None, message: str) -> None:
    if attempts is None:
        attempts = _sample_rows(1)
    elif attempts == "all-right":
        attempts = _sample_rows(40, correct="1")
    data = _school_with(tmp_path, attempts)
    result = CliRunner().invoke(
        app, ["train", "--data", str(data), "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"]
    )
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_the_main_job_loads_the_school_and_keeps_an_existing_champion(
    store: dict[str, str], tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'run.db'}"
    result = CliRunner().invoke(
        app, ["run", "--database", database, "--tracking-uri", store["uri"], "--no-serve"]
    )
    assert result.exit_code == 0, result.output
    assert "attempts: 66053 new" in result.output
    assert "version 1 of 'jianfu' is the champion" in result.output


def test_the_gate_refuses_when_the_candidates_data_is_gone_unless_forced(
    store: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "school"
    shutil.copytree(SAMPLES, data, ignore=shutil.ignore_patterns("ground_truth"))
    candidate = train(data, store["uri"], artifact_location=store["artifacts"])
    shutil.rmtree(data)
    with pytest.raises(PromotionRefused, match="is gone or has changed"):
        promote(store["uri"], candidate["version"], "champion")
    forced = promote(store["uri"], candidate["version"], "champion", force=True)
    assert forced["overridden"] == ["the gate could not compare: data gone"]
    promote(store["uri"], 1, "champion")  # put the good one back
