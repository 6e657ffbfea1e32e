"""Shared fixtures: the CLI runner, databases (SQLite files and a real PostgreSQL), the samples."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select, text
from typer.testing import CliRunner

from service.store import tables as t
from service.store.db import make_engine, upgrade
from service.store.importer import import_files
from service.store.local_pg import local_postgres
from service.store.tables import metadata

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data_samples"
REFERENCE_FILES = [
    SAMPLES / f"{k}.csv"
    for k in ("schools", "knowledge_points", "items", "classes", "students", "teaching_progress", "calendar")
]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL for the whole test session (pgserver, or JIANFU_TEST_POSTGRES_URL)."""
    with local_postgres() as url:
        yield url


def fresh_postgres_database(server_url: str) -> str:
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    base, _, query = server_url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database with the schema, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
    else:
        url = fresh_postgres_database(request.getfixturevalue("postgres_server"))
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def reference_engine(engine: Engine) -> Engine:
    """A database holding the synthetic school's reference data (no logs)."""
    report = import_files(engine, REFERENCE_FILES)
    assert report.ok, report.problems.lines()
    return engine


@pytest.fixture(scope="session")
def samples_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite database holding all of data_samples/, shared by tests that only read it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('samples') / 'samples.db'}"
    engine = make_engine(url)
    upgrade(engine)
    report = import_files(engine, [SAMPLES])
    assert report.ok, report.problems.lines()
    engine.dispose()
    return url


def school_of_own(
    request: pytest.FixtureRequest, dialect: str, samples_sqlite: str, tmp_path: Path
) -> Engine:
    """All of data_samples/ in a database of the test's own: a copy of the shared SQLite file, or a
    fresh PostgreSQL database with the samples imported."""
    if dialect == "sqlite":
        shutil.copy(Path(samples_sqlite.removeprefix("sqlite:///")), tmp_path / "school.db")
        return make_engine(f"sqlite:///{tmp_path / 'school.db'}")
    engine = make_engine(fresh_postgres_database(request.getfixturevalue("postgres_server")))
    upgrade(engine)
    assert import_files(engine, [SAMPLES]).ok
    return engine


def untaught_item(engine: Engine, night: date, class_id: str = "east-5-1") -> tuple[str, str]:
    """A written grade-5 maths item on a point the class has not been taught by the night (C2
    refuses it), and that point."""
    with engine.connect() as conn:
        taught = select(t.teaching_progress.c.kp_id).where(
            t.teaching_progress.c.class_id == class_id, t.teaching_progress.c.taught_on <= night
        )
        row = conn.execute(
            select(t.items.c.item_id, t.item_kps.c.kp_id)
            .join(t.item_kps, t.item_kps.c.item_id == t.items.c.item_id)
            .where(t.items.c.subject == "math", t.items.c.grade == 5, t.items.c.kind == "written",
                   t.item_kps.c.kp_id.not_in(taught))
            .order_by(t.items.c.item_id)
            .limit(1)
        ).one()  # fmt: skip
    return str(row.item_id), str(row.kp_id)


def database_digest(engine: Engine) -> dict[str, str]:
    """Every table's rows, hashed: equal digests mean the database holds exactly the same data."""
    digest = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            h = hashlib.sha256()
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            for row in rows:
                h.update(repr(tuple(row)).encode())
            digest[table.name] = f"{len(rows)}:{h.hexdigest()}"
    return digest


@pytest.fixture(scope="session")
def bundle():  # type: ignore[no-untyped-def]
    """The models trained on data_samples/ (about 10 s), shared by the planner and API tests."""
    from training.loaders.contract import load
    from training.pipeline import fit_bundle

    return fit_bundle(load(SAMPLES), "tests")


@dataclass(frozen=True)
class _Served:
    version: str
    bundle: Any


class FixedModels:
    """A holder serving one bundle that is already loaded (the registry is not part of these tests)."""

    def __init__(self, bundle: Any) -> None:
        self.served = _Served("7", bundle)

    @property
    def ready(self) -> bool:
        return True

    def current(self) -> _Served:
        return self.served

    def status(self) -> dict[str, Any]:
        return {"version": self.served.version, "last_error": None}

    def check_once(self, retry_refused: bool = False) -> str:
        return "unchanged"


# the browser tests' fixtures (tests/browser.py): the served app, chromium, a page
from tests.browser import browser, page, site  # noqa: E402, F401
