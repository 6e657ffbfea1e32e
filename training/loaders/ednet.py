"""EdNet KT1 answer logs (Riiid), one CSV per user joined with the questions table.

`elapsed_time` (ms) is per question. Rows that share a user and a timestamp are one question bundle
(parts 3, 4, 6, 7: several questions on one passage) and carry the same value, which is the bundle's
time divided by its number of questions: elapsed × size is a whole second far more often than
elapsed itself (58 % against 30 % of bundle rows in this extract; 68 % for single questions). So a
bundle's time is the sum of its rows, and each row keeps its share.
"""

from __future__ import annotations

import csv
from pathlib import Path

from models.features import AnswerLog, ItemInfo
from training.loaders import DataError

COLUMNS = ("user_id", "timestamp", "elapsed_time", "question_id", "tags", "correct")


def load(folder: Path) -> AnswerLog:
    files = sorted(folder.glob("_u*.csv"))
    if not files:
        raise DataError(f"{folder}: no user files (_u*.csv)")
    rows: list[tuple[str, float, str, int, float]] = []
    info: dict[str, ItemInfo] = {}
    for path in files:
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(f"{path}:1: missing columns {', '.join(missing)}")
            for line, row in enumerate(reader, start=2):
                try:
                    at = int(row["timestamp"]) / 1000.0
                    seconds = float(row["elapsed_time"]) / 1000.0 if row["elapsed_time"] else float("nan")
                    correct = int(row["correct"])
                except ValueError as exc:
                    raise DataError(f"{path}:{line}: {exc}") from None
                question = row["question_id"]
                if question not in info:
                    info[question] = ItemInfo(kps=tuple(t for t in row["tags"].split(";") if t))
                rows.append((row["user_id"], at, question, correct, seconds))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return AnswerLog(
        [r[0] for r in rows], [r[2] for r in rows], [r[3] for r in rows], [r[1] for r in rows],
        [r[4] for r in rows], info,
    )  # fmt: skip
