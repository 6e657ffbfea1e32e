"""Schemathesis over the whole OpenAPI description, signed in: generated requests (valid and not)
to every operation must get no server error and answers that match the description (status codes,
content types, bodies, headers). Each operation is called with the token of a role that may use it,
scoped to class east-5-1, so the fuzzing reaches the routes' logic, not only the access checks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance
from sqlalchemy import select

from models.bundle import Bundle
from service.app import create_app
from service.auth import create_user
from service.settings import Settings
from service.store import tables as t
from service.store.db import make_engine
from tests.api.conftest import PASSWORD
from tests.conftest import SAMPLES, FixedModels

# The suite runs the same examples every time (a failure is reproducible, CI is not flaky);
# JIANFU_FUZZ_EXPLORE=1 draws new ones each run and JIANFU_FUZZ_EXAMPLES sets how many per mode.
EXPLORE = os.environ.get("JIANFU_FUZZ_EXPLORE") == "1"
EXAMPLES = int(os.environ.get("JIANFU_FUZZ_EXAMPLES", "25"))
ROLE_OF_TAG = {
    "teacher": "teacher",
    "student": "student",
    "head teacher and school": "head_teacher",
    "data team": "data_team",
    "auth": "student",
    "operations": "student",
}


@pytest.fixture(scope="module")
def fuzzed(samples_sqlite: str, bundle: Bundle, tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("fuzz")
    shutil.copy(Path(samples_sqlite.removeprefix("sqlite:///")), tmp / "school.db")
    engine = make_engine(f"sqlite:///{tmp / 'school.db'}")
    with engine.connect() as conn:
        student = conn.execute(
            select(t.students.c.student_id)
            .where(t.students.c.class_id == "east-5-1")
            .order_by(t.students.c.student_id)
        ).first()[0]
    accounts = {
        "teacher": [("class", "east-5-1", "math")],
        "student": [("student", student, "")],
        "parent": [("student", student, "")],
        "head_teacher": [("class", "east-5-1", "")],
        "data_team": [],
    }
    for role, scopes in accounts.items():
        create_user(engine, f"fuzz-{role}", PASSWORD, role, scopes=scopes)
    create_user(engine, "fuzz-signing_out", PASSWORD, "parent")  # POST /v1/logout ends its own session
    settings_ = Settings(data_dir=tmp / "var", jwt_secret="f" * 40, policy_dir=SAMPLES / "policies")
    app = create_app(settings_, engine=engine, models=FixedModels(bundle))
    with TestClient(app) as client:  # runs the lifespan: the app's services are in place
        tokens = {}
        for role in [*accounts, "signing_out"]:
            r = client.post("/v1/token", data={"username": f"fuzz-{role}", "password": PASSWORD})
            tokens[role] = r.json()["access_token"]
        plan = client.post("/v1/classes/east-5-1/plans", json={"subject": "math", "night": "2026-11-10"},
                           headers={"Authorization": f"Bearer {tokens['teacher']}"})  # fmt: skip
        plan_id = next(p["plan_id"] for p in plan.json()["students"] if p["plan_id"])
        objects = {"class_id": "east-5-1", "student_id": student, "plan_id": plan_id, "kind": "attempts",
                   "night": "2026-11-10", "weekday": "1"}  # fmt: skip
        yield app, tokens, objects
    engine.dispose()


def _fuzz(
    operation: Any, headers: dict[str, str], mode: Any, path: dict[str, str] | None, calls: list[int]
) -> Any:
    strategy = operation.as_strategy(mode, path_parameters=path) if path else operation.as_strategy(mode)

    @settings(
        max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
        derandomize=not EXPLORE,
    )  # fmt: skip
    @given(case=strategy)
    def run(case: Any) -> None:
        calls.append(1)
        # Every check but "schema-valid data is accepted": a request can fit the schema and still be
        # refused for what it says (a file that is not a contract file, a set that breaks a rule),
        # with a documented 422.
        # A generous read timeout (schemathesis waits 10 s): the first call of a route that replays
        # the whole history or exports every attempt can take that long on a busy CI machine; a hang
        # still fails.
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance], timeout=300)

    return run


def test_no_server_errors_and_every_answer_matches_the_description(fuzzed: Any) -> None:
    """Every operation three ways: valid requests about the accounts' own objects (so the routes'
    logic runs, not only the access checks), invalid requests about them (which must be refused),
    and valid requests about arbitrary ids. (schemathesis's pytest plugin does not run under
    pytest 9 yet, so Hypothesis drives each operation's strategies here.) All failures are
    collected and reported together."""
    app, tokens, objects = fuzzed
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    calls: list[int] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        tags = operation.definition.raw.get("tags") or ["operations"]
        role = "signing_out" if operation.path == "/v1/logout" else ROLE_OF_TAG.get(tags[0], "student")
        headers = {"Authorization": f"Bearer {tokens[role]}"}
        names = {p["name"] for p in operation.definition.raw.get("parameters", []) if p.get("in") == "path"}
        mine = {k: v for k, v in objects.items() if k in names} or None
        for mode, path in (
            (GenerationMode.POSITIVE, mine),
            (GenerationMode.NEGATIVE, mine),
            (GenerationMode.POSITIVE, None),
        ):
            try:
                _fuzz(operation, headers, mode, path, calls)()
            except Unsatisfiable:
                continue  # nothing of this operation's request can be made invalid (no body, no query)
            except (Exception, BaseExceptionGroup) as exc:  # a check failed: keep going, report them all
                failures.append(
                    f"{operation.method.upper()} {operation.path} ({mode.value}): {str(exc)[:1500]}"
                )
    assert operations >= 25 and len(calls) >= operations * 20
    assert not failures, "\n\n".join(failures)
