"""The first start's progress: stages named in both languages, a bar that ends full, an estimate."""

from __future__ import annotations

import io
import time

from rich.console import Console

from jianfu.stages import Stage, Stages


def _stages() -> list[Stage]:
    return [Stage("a", "准备", "getting ready", 0.2), Stage("b", "训练", "training", 5.0)]


def test_on_a_pipe_each_stage_is_one_line_in_both_languages_in_order() -> None:
    out = io.StringIO()
    with Stages(_stages(), Console(file=out, force_terminal=False)) as bar:
        with bar.stage("a"):
            pass
        bar.print("between")
        with bar.stage("b"):
            pass
    assert out.getvalue().splitlines() == ["[1/2] 准备 / getting ready", "between", "[2/2] 训练 / training"]


def test_on_a_terminal_the_bar_moves_inside_a_stage_without_claiming_it_done_and_ends_full() -> None:
    out = io.StringIO()
    with Stages(_stages(), Console(file=out, force_terminal=True, width=120)) as bar:
        task = bar._progress.tasks[0]
        with bar.stage("a"):
            time.sleep(1.0)  # longer than the stage's estimate: the bar waits at 95 % of it
            assert 0 < task.completed <= 0.95 * 0.2 + 1e-9
        assert task.completed == 0.2
        with bar.stage("b"):
            pass
        assert task.completed == task.total
    assert "[2/2] 训练 / training" in out.getvalue() and "left" in out.getvalue()
