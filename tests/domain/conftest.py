"""The domain functions called directly, without HTTP: the same school as the API's tests (all of
data_samples/ in a SQLite copy, or a real PostgreSQL), the same trained model, no app, no client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from models.bundle import Bundle
from service.access import StudentRef, student_ref
from service.policy.policy import PolicyBook
from service.runtime import Services
from service.settings import Settings
from service.store import tables as t
from tests.conftest import SAMPLES, FixedModels, school_of_own

NIGHT = date(2026, 11, 10)  # a Tuesday
CLASS = "east-5-1"


def _services(engine: Engine, bundle: Bundle, tmp_path: Path) -> Services:
    settings = Settings(data_dir=tmp_path / "var", jwt_secret="k" * 40, policy_dir=SAMPLES / "policies")
    return Services(
        settings, engine, PolicyBook(settings.policy_dir), FixedModels(bundle), settings.signing_key()
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def svc(
    request: pytest.FixtureRequest, samples_sqlite: str, bundle: Bundle, tmp_path: Path
) -> Iterator[Services]:
    """The services one process holds, on a school of its own (SQLite and PostgreSQL)."""
    engine = school_of_own(request, request.param, samples_sqlite, tmp_path)
    try:
        yield _services(engine, bundle, tmp_path)
    finally:
        engine.dispose()


def students_of(engine: Engine, class_id: str = CLASS) -> list[str]:
    """The class's students without a personal cap, by id."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(t.students.c.student_id)
                .where(t.students.c.class_id == class_id, t.students.c.personal_cap_minutes.is_(None))
                .order_by(t.students.c.student_id)
            ).scalars()
        )


def ref(engine: Engine, student_id: str) -> StudentRef:
    found = student_ref(engine, student_id)
    assert found is not None
    return found
