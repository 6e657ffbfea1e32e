"""ASSISTments 2009-2010 skill builder, as preprocessed by the AKT authors (folder assist2009_pid).

Each `assist2009_pid_testK.csv` holds one fold of students, four lines per student: an id line, the
problem ids, the skill ids, the answers (1 right). A problem with several skills appears as
consecutive rows with the same problem and answer and different skills; we collapse those into one
answer with several skills (question level). There are no timestamps: order is the only clock.
"""

from __future__ import annotations

from pathlib import Path

from models.features import NAN, AnswerLog, ItemInfo
from training.loaders import DataError

FOLDS = (1, 2, 3, 4, 5)


def load_fold(folder: Path, fold: int, skills: dict[str, set[str]] | None = None) -> AnswerLog:
    """One fold's answers; `skills` (problem -> skills) is filled in across folds when given."""
    path = folder / f"assist2009_pid_test{fold}.csv"
    if not path.exists():
        raise DataError(f"{path}: no such file (expected the AKT assist2009_pid layout)")
    lines = path.read_text(encoding="utf-8").splitlines()
    if len(lines) % 4:
        raise DataError(f"{path}: {len(lines)} lines, not a multiple of 4 (id, problems, skills, answers)")
    skills = {} if skills is None else skills
    students: list[str] = []
    items: list[str] = []
    correct: list[int] = []
    for start in range(0, len(lines), 4):
        head, problems, skill_ids, answers = (
            line.strip().rstrip(",").split(",") for line in lines[start : start + 4]
        )
        if not (len(problems) == len(skill_ids) == len(answers)):
            raise DataError(f"{path}:{start + 2}: problems, skills and answers differ in length")
        student = f"f{fold}-{head[-1].strip()}-{start // 4}"
        previous: tuple[str, str] | None = None
        group: set[str] = set()
        for problem, skill, answer in zip(problems, skill_ids, answers, strict=True):
            if answer not in ("0", "1"):
                raise DataError(f"{path}:{start + 4}: answer {answer!r} is not 0 or 1")
            skills.setdefault(problem, set()).add(skill)
            if previous == (problem, answer) and skill not in group:
                group.add(skill)
                continue  # the same answer, listed again for another skill of the problem
            previous, group = (problem, answer), {skill}
            students.append(student)
            items.append(problem)
            correct.append(int(answer))
    n = len(items)
    return AnswerLog(students, items, correct, [NAN] * n, [NAN] * n, {})


def load(folder: Path, folds: tuple[int, ...] = FOLDS) -> dict[int, AnswerLog]:
    """Every fold, sharing one item table (problem -> its skills, seen across all folds)."""
    skills: dict[str, set[str]] = {}
    logs = {fold: load_fold(folder, fold, skills) for fold in folds}
    info = {problem: ItemInfo(kps=tuple(sorted(s))) for problem, s in skills.items()}
    for log in logs.values():
        log.item_info = info
    return logs
