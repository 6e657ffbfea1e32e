"""The trained forests compiled to machine code for serving (lleaves, on LLVM).

The same trees, the same raw scores as `lightgbm.Booster.predict` (to floating-point rounding; a
test compares them on rows with missing values), about ten times faster, so that planning a class
scores every candidate of every student without the models being most of the wait. Compiling takes
seconds per forest, once: the library is cached on disk under the hash of the model text, written
to a temporary name and renamed, so processes sharing a cache never load a half-written file.

Nothing here changes a model; a bundle without compiled forests predicts with LightGBM.
"""

from __future__ import annotations

import hashlib
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np


class CompiledForest:
    """One LightGBM forest compiled with lleaves; `predict(X)` gives its raw scores."""

    def __init__(self, booster: lgb.Booster, cache_dir: Path, threads: int = 1) -> None:
        import lleaves  # a serving dependency; training never needs it

        text = booster.model_to_string()
        key = hashlib.sha256(
            "\n".join([text, getattr(lleaves, "__version__", "?"), platform.machine()]).encode()
        ).hexdigest()[:32]
        cache_dir.mkdir(parents=True, exist_ok=True)
        model_file = cache_dir / f"{key}.txt"
        library = cache_dir / f"{key}.so"
        if not model_file.exists():
            _write_atomically(model_file, text.encode())
        self._model = lleaves.Model(model_file=str(model_file))
        if library.exists():
            self._model.compile(cache=str(library), raw_score=True, finline=False)
        else:
            fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{key}-", suffix=".so")
            os.close(fd)
            os.unlink(tmp)  # lleaves writes the library only where no file is
            try:
                self._model.compile(cache=tmp, raw_score=True, finline=False)
                os.replace(tmp, library)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        self.n_features = booster.num_feature()
        self.threads = max(1, int(threads))
        self.library = library

    def predict(self, X: Any) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {X.shape}")
        if not len(X):
            return np.zeros(0)
        return np.asarray(self._model.predict(X, n_jobs=self.threads))


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class Compilable:
    """For an estimator whose forests may be compiled: the compiled forests never travel in a pickle
    (they are machine code for this CPU) and are rebuilt from the cache after loading."""

    compiled_: dict[str, CompiledForest]

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = dict(super().__getstate__())  # type: ignore[call-overload]
        state.pop("compiled_", None)
        return state

    def _forest(self, name: str, booster: lgb.Booster, X: np.ndarray, **kwargs: Any) -> np.ndarray:
        """`booster`'s raw prediction, by its compiled forest when there is one."""
        compiled = self.__dict__.get("compiled_", {}).get(name)
        if compiled is not None:
            return compiled.predict(X)
        return np.asarray(booster.predict(X, **kwargs))

    def compile_forests(self, cache_dir: Path, threads: int = 1) -> None:
        self.compiled_ = {
            name: CompiledForest(booster, cache_dir, threads) for name, booster in self._forests().items()
        }

    def _forests(self) -> dict[str, lgb.Booster]:
        raise NotImplementedError
