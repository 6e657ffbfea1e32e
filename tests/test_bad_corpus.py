"""Every malformed file is refused with its exact message (file:row:column, Chinese and English),
exit status 1, and the database left exactly as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from jianfu.cli import app
from service.store.db import make_engine
from service.store.tables import attempts
from tests.conftest import database_digest

CORPUS = Path(__file__).parent / "bad_corpus"
EXPECTED: dict[str, list[str]] = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))


def test_the_corpus_is_complete() -> None:
    files = sorted(p.name for p in CORPUS.glob("*.csv"))
    assert files == sorted(EXPECTED)
    assert len(files) + 1 >= 20  # + the 10 MB field made below


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_file_is_refused_and_writes_nothing(
    name: str, samples_sqlite: str, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(samples_sqlite)
    before = database_digest(engine)
    monkeypatch.chdir(CORPUS)
    result = runner.invoke(app, ["data", "import", name, "--database", samples_sqlite])
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == EXPECTED[name]
    for line in EXPECTED[name][:-1]:
        assert line.startswith(name + ":")  # every problem names the file (and row, column where known)
    assert database_digest(engine) == before
    engine.dispose()


def test_a_10mb_field_is_refused(tmp_path: Path, samples_sqlite: str, runner: CliRunner) -> None:
    path = tmp_path / "items-10mb-field.csv"
    stem = "很长的题干" * (10 * 1024 * 1024 // 15)
    path.write_text(
        f"item_id,subject,kp_ids,grade,kind,stem\nx-big,math,math-g5-01,5,written,{stem}\n", encoding="utf-8"
    )
    assert path.stat().st_size > 10_000_000
    engine = make_engine(samples_sqlite)
    before = database_digest(engine)
    result = runner.invoke(app, ["data", "import", str(path), "--database", samples_sqlite])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{path}:2: 字段过长（超过 100000 个字符）；停止读取此文件 / "
        "a field is longer than 100000 characters; stopped reading this file"
    )
    assert database_digest(engine) == before
    engine.dispose()


def test_valid_rows_before_a_bad_one_are_not_written(reference_engine, runner: CliRunner) -> None:  # type: ignore[no-untyped-def]
    """All or nothing, on SQLite and PostgreSQL: 500 good rows and one bad one write nothing."""
    url = reference_engine.url.render_as_string(hide_password=False)
    result = runner.invoke(
        app, ["data", "import", str(CORPUS / "attempts-valid-rows-then-one-bad.csv"), "--database", url]
    )
    assert result.exit_code == 1
    assert ":502:seconds:" in result.stderr
    with reference_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(attempts)).scalar_one() == 0


def test_errors_are_listed_all_at_once_up_to_a_limit(
    tmp_path: Path, samples_sqlite: str, runner: CliRunner
) -> None:
    path = tmp_path / "attempts-many-bad.csv"
    rows = [
        f"b{i},stu-65a1c97c,math-g5-01-001,2026-10-12,2026-10-12T19:30:00+08:00,1,-{i + 1},,app"
        for i in range(30)
    ]
    path.write_text(
        "event_id,student_id,item_id,night,submitted_at,correct,seconds,score,source\n"
        + "\n".join(rows)
        + "\n"
    )
    result = runner.invoke(
        app, ["data", "import", str(path), "--database", samples_sqlite, "--max-problems", "10"]
    )
    lines = result.stderr.splitlines()
    assert result.exit_code == 1
    assert [line.split(":")[1] for line in lines[:10]] == [str(r) for r in range(2, 12)]
    assert lines[10] == "… 另有 20 个问题未显示 / … and 20 more problems not shown"
    assert lines[11].startswith("30 个问题")
