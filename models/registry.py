"""The model registry (MLflow): where versions of the `jianfu` model live and which one an alias
(`champion`) names. Training registers and promotes through it; the service asks it which version to
serve and loads that version. No HTTP server, no database of ours, nothing from service/ here.

One question, one function, one rule for errors, everywhere:

- **Absent is an answer.** No such model, alias or version answers None (an empty list for
  `list_versions`): "nothing registered yet" is a normal state, not a failure.
- **A failing registry raises `RegistryError`.** The registry could not be reached, or answered with
  any error other than "does not exist" (MLflow's RESOURCE_DOES_NOT_EXIST): the caller must never
  mistake an unreachable registry for "no champion yet". The original exception is chained.
- Anything that is not the registry's doing (a loaded artifact that is not a jianfu bundle, or that
  `Bundle.load` refuses) propagates unchanged.

MLflow is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from models.bundle import Bundle

MODEL_NAME = "jianfu"
DEFAULT_ALIAS = "champion"
T = TypeVar("T")


class RegistryError(RuntimeError):
    """The registry did not answer, or answered with an error other than "does not exist"."""


def client(tracking_uri: str) -> Any:
    """An MlflowClient on `tracking_uri` for both tracking and the registry. Calls made on it
    directly are not translated: prefer the functions below."""
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def _absent(exc: BaseException) -> bool:
    return getattr(exc, "error_code", None) == "RESOURCE_DOES_NOT_EXIST"


@contextmanager
def _asking(what: str, tracking_uri: str) -> Iterator[None]:
    """Translate a registry failure into RegistryError (absence is handled by the caller first)."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except (MlflowException, OSError) as exc:
        raise RegistryError(f"{what} at {tracking_uri}: {type(exc).__name__}: {exc}") from exc


def _or_none(call: Callable[[], T], what: str, tracking_uri: str) -> T | None:
    """call(), None if MLflow says what it was asked about does not exist; RegistryError otherwise."""
    from mlflow.exceptions import MlflowException

    with _asking(what, tracking_uri):
        try:
            return call()
        except MlflowException as exc:
            if _absent(exc):
                return None
            raise


def champion_version(tracking_uri: str, alias: str = DEFAULT_ALIAS) -> int | None:
    """The version `alias` names; None when the model or the alias does not exist."""
    model = _or_none(
        lambda: client(tracking_uri).get_registered_model(MODEL_NAME),
        f"could not read the model {MODEL_NAME!r}",
        tracking_uri,
    )
    if model is None:
        return None
    version = model.aliases.get(alias)
    return int(version) if version is not None else None


def model_version(tracking_uri: str, version: int | str) -> Any | None:
    """The registry's record of one version (MLflow's ModelVersion: run_id, source, ...); None when
    there is no such version."""
    return _or_none(
        lambda: client(tracking_uri).get_model_version(MODEL_NAME, str(version)),
        f"could not read version {version} of {MODEL_NAME!r}",
        tracking_uri,
    )


def run_params(tracking_uri: str, run_id: str) -> dict[str, str] | None:
    """The parameters logged by the training run `run_id`; None when there is no such run."""
    run = _or_none(lambda: client(tracking_uri).get_run(run_id), f"could not read run {run_id}", tracking_uri)
    return None if run is None else dict(run.data.params)


def list_versions(tracking_uri: str) -> list[dict[str, Any]]:
    """Every version with its aliases, run and holdout metrics, oldest first; [] when nothing is
    registered yet."""
    mlflow_client = client(tracking_uri)
    model = _or_none(
        lambda: mlflow_client.get_registered_model(MODEL_NAME),
        f"could not read the model {MODEL_NAME!r}",
        tracking_uri,
    )
    if model is None:
        return []
    aliases_of: dict[str, list[str]] = {}
    for alias, v in model.aliases.items():
        aliases_of.setdefault(str(v), []).append(alias)
    out = []
    with _asking(f"could not list the versions of {MODEL_NAME!r}", tracking_uri):
        for v in mlflow_client.search_model_versions(f"name='{MODEL_NAME}'"):
            run = mlflow_client.get_run(v.run_id)
            out.append(
                {
                    "version": int(v.version),
                    "aliases": sorted(aliases_of.get(str(v.version), [])),
                    "run_id": v.run_id,
                    "created": v.creation_timestamp,
                    "metrics": dict(run.data.metrics),
                }
            )
    return sorted(out, key=lambda v: v["version"])


def load_version(tracking_uri: str, version: int | str) -> Bundle | None:
    """The bundle registered as `version`; None when there is no such version."""
    import mlflow

    def load() -> Any:
        mlflow.set_tracking_uri(tracking_uri)
        return mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/{version}")

    model = _or_none(load, f"could not load version {version} of {MODEL_NAME!r}", tracking_uri)
    if model is None:
        return None
    bundle: Bundle = model.unwrap_python_model().bundle
    return bundle


def set_alias(tracking_uri: str, alias: str, version: int | str) -> None:
    """Point `alias` at `version` (the registry checks that the version exists)."""
    with _asking(f"could not point {alias!r} of {MODEL_NAME!r} at version {version}", tracking_uri):
        client(tracking_uri).set_registered_model_alias(MODEL_NAME, alias, str(version))
