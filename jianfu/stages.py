"""The first start's progress: one bar over its stages, each with an estimate of its seconds, so a
newcomer sees what is happening, how far along it is and about how long is left.

Inside a stage the bar moves with the clock up to 95 % of the stage's estimate (it never claims a
stage finished before it has); at the end of a stage it jumps to the stage's end. The estimate left
is rich's, from the bar's rate. On a pipe (no terminal) each stage is one plain line instead."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn

#: seconds per MB of the school's files, measured on data_samples/ with 2 cores (import: 7.7 MB of
#: CSV in 3.0 s; training: a 5.8 MB attempts file in 29 s). Estimates only set the bar's pace.
IMPORT_SECONDS_PER_MB = 0.4
TRAIN_SECONDS_PER_ATTEMPTS_MB = 5.0


@dataclass(frozen=True)
class Stage:
    key: str
    zh: str
    en: str
    seconds: float  # the estimate


class Stages:
    def __init__(self, stages: list[Stage], console: Console | None = None) -> None:
        self.stages = stages
        self.console = console or Console(stderr=True)
        self.live = self.console.is_terminal
        self._done = 0.0  # the estimates of the stages that have finished
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(), TextColumn("约剩 / left"), TimeRemainingColumn(),
            console=self.console, disable=not self.live,
        )  # fmt: skip
        self._task: TaskID | None = None

    def __enter__(self) -> Stages:
        self._progress.__enter__()
        self._task = self._progress.add_task("", total=sum(s.seconds for s in self.stages))
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(None, None, None)

    @contextmanager
    def stage(self, key: str) -> Iterator[None]:
        number, stage = next((i, s) for i, s in enumerate(self.stages, 1) if s.key == key)
        label = f"[{number}/{len(self.stages)}] {stage.zh} / {stage.en}"
        if not self.live:
            self.console.print(label, highlight=False)
        assert self._task is not None
        self._progress.update(self._task, description=label, completed=self._done)
        stop = threading.Event()
        started = time.monotonic()

        def tick() -> None:
            while not stop.wait(0.25):
                moved = min(time.monotonic() - started, 0.95 * stage.seconds)
                self._progress.update(self._task, completed=self._done + moved)  # type: ignore[arg-type]

        ticker = threading.Thread(target=tick, name="first-start-progress", daemon=True)
        ticker.start()
        try:
            yield
        finally:
            stop.set()
            ticker.join()
            self._done += stage.seconds
            self._progress.update(self._task, completed=self._done)

    def print(self, text: str) -> None:
        """A line above the bar (the bar stays at the bottom)."""
        self._progress.console.print(text, highlight=False, markup=False)
