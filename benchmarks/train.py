"""`jianfu bench train`: the cost of training everything (features, correctness, time and review
models, time-bound calibration) on 1M and 3M synthetic attempts, on this machine.

The attempts are the synthetic school's homework log, its students copied under new pseudonymous
ids until the log has the size asked for (each copy a new student with the same history). Each size
runs in a fresh process so that its peak memory is its own. Also measured: loading a saved bundle as
an MLflow pyfunc model.
"""

from __future__ import annotations

import multiprocessing
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from models.bundle import Bundle
from models.features import AnswerLog
from training.loaders.contract import SchoolData
from training.loaders.contract import load as load_school

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data_samples"


def scaled_log(log: AnswerLog, n: int) -> AnswerLog:
    """The log, its students copied under new ids, cut to n answers (whole students first)."""
    out = AnswerLog([], [], [], [], [], log.item_info)
    copy = 0
    while len(out) < n:
        suffix = "" if copy == 0 else f"-c{copy}"
        take = min(len(log), n - len(out))
        out.students += [s + suffix for s in log.students[:take]]
        out.items += log.items[:take]
        out.correct += log.correct[:take]
        out.at += log.at[:take]
        out.seconds += log.seconds[:take]
        copy += 1
    return out


def _train_once(n: int, queue: Any) -> None:
    from training.pipeline import fit_bundle

    school = load_school(SAMPLES)
    data = SchoolData(scaled_log(school.log, n), school.error_book, school.students)
    started = time.perf_counter()
    bundle = fit_bundle(data, "bench")
    seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        folder = bundle.save(Path(tmp) / "bundle")
        load_seconds = _pyfunc_load_seconds(folder, Path(tmp) / "model")
    queue.put(
        {
            "seconds": round(seconds, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "bundle_load_seconds": round(load_seconds, 3),
        }
    )


def _pyfunc_load_seconds(bundle_folder: Path, model_folder: Path) -> float:
    import mlflow.pyfunc

    import models.pyfunc as pyfunc_module

    mlflow.pyfunc.save_model(
        str(model_folder), python_model=pyfunc_module.__file__, artifacts={"bundle": str(bundle_folder)},
        pip_requirements=["jianfu"],
    )  # fmt: skip
    started = time.perf_counter()
    loaded = mlflow.pyfunc.load_model(str(model_folder))
    assert isinstance(loaded.unwrap_python_model().bundle, Bundle)
    return time.perf_counter() - started


def run(sizes: tuple[int, ...] = (1_000_000, 3_000_000)) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    runs: dict[str, Any] = {}
    for n in sizes:
        queue = context.Queue()
        process = context.Process(target=_train_once, args=(n, queue))
        process.start()
        result = queue.get()
        process.join()
        runs[str(n)] = {"attempts": n, **result}
    out: dict[str, Any] = {"runs": runs, "cpus": multiprocessing.cpu_count()}
    if "1000000" in runs:
        one = runs["1000000"]
        out["targets"] = {
            "1M_seconds_max": 180,
            "1M_peak_rss_mb_max": 4096,
            "3M_over_1M_max": 3.5,
            "bundle_load_seconds_max": 2,
        }
        checks = [one["seconds"] <= 180, one["peak_rss_mb"] <= 4096, one["bundle_load_seconds"] < 2]
        if "3000000" in runs:
            out["3M_over_1M"] = round(runs["3000000"]["seconds"] / one["seconds"], 2)
            checks.append(out["3M_over_1M"] <= 3.5)
        out["meets_target"] = all(checks)
    return out
