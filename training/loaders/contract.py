"""Training data from files in the data contract (a school export, or data_samples/).

Files are read and validated by the same code as `jianfu data import` (models.schema), so a log the
service would refuse is refused here too, with the same file:row:column messages. The folder's
`ground_truth/` (synthetic schools only) is never read: models must not see the truth they are
measured against. Students deleted on a guardian's request are left out unread (`leave_out`, which
the caller builds from the service's deletion records: training does not read the database).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.features import NAN, AnswerLog, ItemInfo
from models.files import Problems, validated_records
from models.schema import Known, spec_for
from training.loaders import DataError

NEEDED = ("schools", "knowledge_points", "items", "classes", "students", "attempts")


@dataclass
class SchoolData:
    log: AnswerLog  # attempts, by student and time
    error_book: list[Any]  # ErrorBookEntry records
    students: dict[str, str]  # student -> class
    left_out: int = 0  # rows of deleted students, not read


def load(
    folder: Path, now: datetime | None = None, leave_out: Callable[[str], bool] | None = None
) -> SchoolData:
    """Read and validate the contract files of `folder`; DataError lists every problem.
    leave_out: students deleted on a guardian's request; every row of theirs is passed over."""
    problems = Problems(limit=50)
    left_out = 0

    def erased(student_id: str) -> bool:
        nonlocal left_out
        gone = leave_out is not None and leave_out(student_id)
        left_out += gone
        return gone

    known = Known(now=now or datetime.now(UTC))
    records: dict[str, list[Any]] = {}
    for kind in (*NEEDED[:5], "teaching_progress", "calendar", "attempts", "error_book"):
        path = folder / f"{kind}.csv"
        if not path.exists():
            if kind in NEEDED:
                problems.add(str(path), None, None, "缺少文件", "missing file")
            continue
        spec = spec_for(kind)
        found = records.setdefault(kind, [])
        for _, record in validated_records(
            path, spec, known, problems, leave_out=None if leave_out is None else erased
        ):
            known.remember(record)
            found.append(record)
    if problems:
        raise DataError("\n".join(problems.lines()))
    attempts = records.get("attempts", [])
    if not attempts:
        raise DataError(
            f"{folder / 'attempts.csv'}: the homework log is empty: there is nothing to learn from"
        )
    info = {
        i.item_id: ItemInfo(
            kps=i.kp_ids, kind=i.kind, grade=i.grade, est_minutes=i.est_minutes, subject=i.subject
        )
        for i in records["items"]
    }
    attempts.sort(key=lambda a: (a.student_id, a.submitted_at, a.event_id))
    log = AnswerLog(
        [a.student_id for a in attempts],
        [a.item_id for a in attempts],
        [int(a.correct) for a in attempts],
        [a.submitted_at.timestamp() for a in attempts],
        [float(a.seconds) if a.seconds is not None else NAN for a in attempts],
        info,
    )
    students = {s.student_id: s.class_id for s in records["students"]}
    return SchoolData(log, records.get("error_book", []), students, left_out)
