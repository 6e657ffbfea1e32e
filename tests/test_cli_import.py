"""`jianfu data import` shows its progress on a terminal: the rows checked, then the rows written
(rich's progress bar, on stderr); piped, the output is the report alone."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from jianfu.cli import app
from tests.conftest import REFERENCE_FILES


def test_the_import_shows_a_progress_bar_on_a_terminal(runner: CliRunner, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'school.db'}"
    files = [str(p) for p in REFERENCE_FILES]
    shown = runner.invoke(app, ["data", "import", *files, "--database", url], env={"TTY_COMPATIBLE": "1"})
    assert shown.exit_code == 0, shown.output
    assert "写入 / writing" in shown.stderr and "行 / rows" in shown.stderr
    assert "━" in shown.stderr  # the bar
    assert "已导入 / imported" in shown.stdout

    piped = runner.invoke(app, ["data", "import", *files, "--database", url], env={"TTY_COMPATIBLE": "0"})
    assert piped.exit_code == 0, piped.output
    assert piped.stderr == "" and "unchanged" in piped.stdout
