"""models.registry's one rule for errors: absent answers None (or []), a failing registry raises
RegistryError, for every question (the registered-version paths are exercised by test_pipeline and
test_serving)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from models import registry
from models.registry import RegistryError

QUESTIONS: dict[str, Callable[[str], Any]] = {
    "champion_version": lambda uri: registry.champion_version(uri),
    "champion_version(alias)": lambda uri: registry.champion_version(uri, "staging"),
    "model_version": lambda uri: registry.model_version(uri, 3),
    "run_params": lambda uri: registry.run_params(uri, "0" * 32),
    "load_version": lambda uri: registry.load_version(uri, 3),
    "list_versions": lambda uri: registry.list_versions(uri),
}


@pytest.fixture
def dead_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A tracking URI on a closed port; MLflow told to try once, briefly."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    yield f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("question", QUESTIONS)
def test_absent_is_none_not_an_error(question: str, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    answer = QUESTIONS[question](uri)
    assert answer == ([] if question == "list_versions" else None)
    # The model exists but has no versions and no aliases: still absent.
    registry.client(uri).create_registered_model(registry.MODEL_NAME)
    answer = QUESTIONS[question](uri)
    assert answer == ([] if question == "list_versions" else None)


@pytest.mark.parametrize("question", QUESTIONS)
def test_an_unreachable_registry_raises_registry_error(question: str, dead_registry: str) -> None:
    with pytest.raises(RegistryError) as raised:
        QUESTIONS[question](dead_registry)
    assert dead_registry in str(raised.value) and raised.value.__cause__ is not None


def test_setting_an_alias_on_an_unreachable_registry_raises_registry_error(dead_registry: str) -> None:
    with pytest.raises(RegistryError):
        registry.set_alias(dead_registry, "champion", 1)


@pytest.mark.parametrize("args", [["models", "list"], ["models", "promote", "1"]])
def test_the_cli_says_the_registry_failed_instead_of_nothing_registered(
    args: list[str], dead_registry: str
) -> None:
    from typer.testing import CliRunner

    from jianfu.cli import app

    result = CliRunner().invoke(app, [*args, "--tracking-uri", dead_registry])
    assert result.exit_code == 1, result.output
    assert "the model registry failed" in result.output and "no versions yet" not in result.output
