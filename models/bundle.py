"""One versioned artifact holding everything serving needs: the correctness, time and review models,
the priors and feature configuration they were trained with, and a fingerprint of the training data.

Saved as a folder (a pickle of the fitted objects plus a readable manifest.json) and wrapped as an
MLflow pyfunc model, so the registry versions it and any MLflow tool can load it. Training and the
service both go through `Bundle`; nothing here touches the database or HTTP.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models import features
from models.correctness import CorrectnessModel
from models.duration import DurationModel
from models.features import Priors
from models.review import HalfLifeRegression

FORMAT = 2  # 2: the kp_log_seconds time feature


def feature_config() -> dict[str, Any]:
    """What the models were trained on: serving refuses a bundle whose features differ from its own."""
    return {
        "features": list(features.FEATURE_NAMES),
        "monotone": list(features.MONOTONE),
        "time_features": list(features.TIME_FEATURES),
        "pfa_decay": features.PFA_DECAY,
        "windows_days": list(features.WINDOWS),
        "recent": features.RECENT,
        "prior_weight": features.PRIOR_WEIGHT,
        "time_prior_weight": features.TIME_PRIOR_WEIGHT,
        "elo_k": features.ELO_K,
    }


def fingerprint(paths: Iterable[Path]) -> str:
    """sha256 over the names and bytes of the training files, in name order."""
    digest = hashlib.sha256()
    for path in sorted(paths, key=lambda p: p.name):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class Bundle:
    correctness: CorrectnessModel
    duration: DurationModel
    review: HalfLifeRegression | None
    priors: Priors
    data_fingerprint: str
    metrics: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=feature_config)
    notes: list[str] = field(default_factory=list)  # degenerate cases, said plainly

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "bundle.pkl", "wb") as f:
            pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)
        manifest = {
            "format": FORMAT,
            "data_fingerprint": self.data_fingerprint,
            "metrics": self.metrics,
            "config": self.config,
            "notes": self.notes,
        }
        (folder / "manifest.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        return folder

    @classmethod
    def load(cls, folder: Path) -> Bundle:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") != FORMAT:
            raise ValueError(f"{folder}: bundle format {manifest.get('format')}, this jianfu reads {FORMAT}")
        if manifest["config"] != feature_config():
            raise ValueError(f"{folder}: trained with other features than this jianfu computes; retrain it")
        with open(folder / "bundle.pkl", "rb") as f:
            bundle = pickle.load(f)
        if not isinstance(bundle, cls):
            raise ValueError(f"{folder}: not a jianfu bundle")
        return bundle

    def compile(self, cache_dir: Path, threads: int = 1) -> Bundle:
        """Compile the forests for serving (models.compiled); predictions stay the same."""
        self.correctness.compile_forests(cache_dir, threads)
        self.duration.compile_forests(cache_dir, threads)
        return self

    def p_correct(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.correctness.predict_proba(X)[:, 1])
