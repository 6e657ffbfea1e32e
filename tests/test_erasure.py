"""A guardian's deletion beyond the service's own tables: training, the promotion gate and `jianfu
train` leave the deleted students out (training is handed who they are: it does not read the
database); the deletion records' migration keeps the records made before keys, marked as such."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import insert, select
from typer.testing import CliRunner

from jianfu.cli import app
from service.settings import get_settings
from service.store import tables as t
from service.store.db import alembic_config, make_engine, upgrade
from service.store.erasure import UNKEYED, erase_student, load_erasures, unkeyed_hash
from service.store.importer import import_files
from tests.conftest import REFERENCE_FILES, SAMPLES
from training.loaders import DataError
from training.loaders.contract import load
from training.pipeline import MIN_STUDENTS, train

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
KEY = "e" * 40


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A school's files with the answers of MIN_STUDENTS + 1 students of one class, and those."""
    folder = tmp_path_factory.mktemp("school")
    for path in REFERENCE_FILES:
        shutil.copy(path, folder / path.name)
    header, *rows = (SAMPLES / "attempts.csv").read_text(encoding="utf-8").splitlines()
    students = sorted({r.split(",")[1] for r in rows if r.split(",")[2].startswith("math-g5")})
    students = students[: MIN_STUDENTS + 1]
    mine = [r for r in rows if r.split(",")[1] in students]
    (folder / "attempts.csv").write_text("\n".join([header, *mine]) + "\n", encoding="utf-8")
    return folder, students


def test_the_training_loader_leaves_deleted_students_out_unread(school: tuple[Path, list[str]]) -> None:
    """Finding 7: the training loader loaded a deleted student's answers again."""
    folder, students = school
    gone = students[0]
    everyone = load(folder)
    assert gone in everyone.log.students and gone in everyone.students
    theirs = sum(s == gone for s in everyone.log.students)
    left = load(folder, leave_out={gone}.__contains__)
    assert gone not in left.log.students and gone not in left.students
    assert len(left.log) == len(everyone.log) - theirs
    assert left.left_out == theirs + 1  # their answers and their row in students.csv


def test_training_leaves_deleted_students_out(school: tuple[Path, list[str]], tmp_path: Path) -> None:
    """train() learns from the students not deleted only: with two of the eleven deleted, too few
    are left, and it says so before anything is fitted or logged."""
    folder, students = school
    with pytest.raises(DataError, match=f"answers from {MIN_STUDENTS - 1} student"):
        train(folder, f"sqlite:///{tmp_path / 'mlflow.db'}", leave_out=set(students[:2]).__contains__)


@pytest.fixture
def erased_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str, str]]:
    """A school database (the CLI's settings: JIANFU_ERASURE_SECRET) with one student deleted:
    (url, the deleted student, another)."""
    url = f"sqlite:///{tmp_path / 'school.db'}"
    engine = make_engine(url)
    upgrade(engine)
    assert import_files(engine, REFERENCE_FILES).ok
    with engine.connect() as conn:
        gone, other = conn.execute(select(t.students.c.student_id).limit(2)).scalars()
    erase_student(engine, gone, key=KEY, requested_by="data", now=NOW)
    engine.dispose()
    monkeypatch.setenv("JIANFU_ERASURE_SECRET", KEY)
    monkeypatch.setenv("JIANFU_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield url, gone, other
    get_settings.cache_clear()


@pytest.mark.parametrize("command_line", [["train"], ["models", "promote", "2"]])
def test_jianfu_train_and_promote_read_the_deletions_from_the_database(
    command_line: list[str], erased_db: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`jianfu train` and the promotion gate's evaluation hand training the database's deletions."""
    url, gone, other = erased_db
    handed: dict[str, Callable[[str], bool] | None] = {}

    def fake(*args: Any, leave_out: Callable[[str], bool] | None = None, **kwargs: Any) -> dict[str, Any]:
        handed["leave_out"] = leave_out
        return {"version": 2, "run_id": "r", "seconds": 0.0, "metrics": {}, "notes": [], "alias": "champion"}

    monkeypatch.setattr("training.pipeline.train", fake)
    monkeypatch.setattr("training.pipeline.promote", fake)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = CliRunner().invoke(app, [*command_line, "--database", url, "--tracking-uri", uri])
    assert result.exit_code == 0, result.output
    leave_out = handed["leave_out"]
    assert leave_out is not None and leave_out(gone) and not leave_out(other)


def test_jianfu_train_refuses_when_it_cannot_read_the_deletions(tmp_path: Path) -> None:
    unreachable = "postgresql://nobody@127.0.0.1:1/none"
    result = CliRunner().invoke(app, ["train", "--database", unreachable, "--tracking-uri", "sqlite://"])
    assert result.exit_code == 1 and "cannot read the deletion records" in result.output


def test_the_migration_keeps_records_made_before_keys_as_unkeyed(db_url: str) -> None:
    """0007 marks every record there is as "sha256" (unkeyed), which is still matched; down and up again."""
    engine = make_engine(db_url)
    try:
        command.downgrade(alembic_config(engine), "0004")
        with engine.begin() as conn:
            old = {"student_hash": unkeyed_hash("stu-old"), "erased_at": NOW, "requested_by": "data"}
            conn.execute(insert(t.erasures).values(old))  # as 0003 made them: no scheme
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(select(t.erasures.c.scheme)).scalars().all() == [UNKEYED]
            assert "stu-old" in load_erasures(conn, KEY)
    finally:
        engine.dispose()
