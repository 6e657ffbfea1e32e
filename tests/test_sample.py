"""The synthetic school: deterministic, valid, realistic, and its ground truth kept apart."""

from __future__ import annotations

import csv
import filecmp
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

from typer.testing import CliRunner

from jianfu.cli import app
from tests.conftest import SAMPLES


def _rows(name: str) -> list[dict[str, str]]:
    with open(SAMPLES / name, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _same_tree(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.diff_files or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    return not mismatch and not errors and all(_same_tree(a / d, b / d) for d in cmp.common_dirs)


def test_same_seed_gives_byte_identical_trees_and_reproduces_data_samples(tmp_path: Path) -> None:
    for name, hash_seed in (("A", "1"), ("B", "2")):  # separate processes, different str hashing
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run(
            [sys.executable, "-m", "jianfu.cli", "data", "sample", "--out", str(tmp_path / name), "--seed", "7"],
            check=True, env=env, capture_output=True,
        )  # fmt: skip
    assert _same_tree(tmp_path / "A", tmp_path / "B")
    assert _same_tree(tmp_path / "A", SAMPLES.parent / "data_samples") or _only_docs_differ(tmp_path / "A")


def _only_docs_differ(generated: Path) -> bool:
    # data_samples/ also carries its README; everything generated must match byte for byte.
    cmp = filecmp.dircmp(generated, SAMPLES)
    return (
        cmp.right_only == ["README.md"]
        and not cmp.left_only
        and not cmp.diff_files
        and all(_same_tree(generated / d, SAMPLES / d) for d in cmp.common_dirs)
    )


def test_another_seed_gives_another_world(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["data", "sample", "--out", str(tmp_path / "s8"), "--seed", "8", "--weeks", "1"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s8" / "students.csv").read_bytes() != (SAMPLES / "students.csv").read_bytes()


def test_data_samples_validates(runner: CliRunner) -> None:
    result = runner.invoke(app, ["data", "validate", str(SAMPLES)])
    assert result.exit_code == 0, result.output + result.stderr


def test_data_samples_is_small_and_keeps_the_ground_truth_apart() -> None:
    size = sum(p.stat().st_size for p in SAMPLES.rglob("*") if p.is_file())
    assert size < 20 * 1024 * 1024
    contract = {p.name for p in SAMPLES.glob("*.csv")}
    assert not contract & {"ground_truth.csv"}
    assert {p.name for p in (SAMPLES / "ground_truth").iterdir()} >= {
        "students.csv",
        "items.csv",
        "student_kp_state.csv",
    }


def test_the_world_is_what_later_work_needs() -> None:
    schools = _rows("schools.csv")
    assert len(schools) >= 2 and len({s["policy"] for s in schools}) == len(schools)
    policies = {p.stem: p.read_text(encoding="utf-8") for p in (SAMPLES / "policies").glob("*.toml")}
    assert any("T8" in text for text in policies.values()) and any("T9" in text for text in policies.values())
    assert any('"8" = 80' in text for text in policies.values())  # a stricter junior cap (T3)
    classes = _rows("classes.csv")
    assert {2, 5, 8} <= {int(c["grade"]) for c in classes}
    assert all({"chinese", "math", "english"} <= set(c["subjects"].split(";")) for c in classes)
    assert all("science" in c["subjects"] for c in classes if c["grade"] == "8")
    items = _rows("items.csv")
    assert len(items) >= 3000
    assert set(Counter(i["kind"] for i in items)) == {"written", "oral", "reading", "practical", "physical"}
    assert any(i["needs_parent"] == "1" for i in items)
    groups = Counter(i["dup_group"] for i in items)
    assert sum(1 for n in groups.values() if n >= 2) > 100
    math_written = [i for i in items if i["subject"] == "math" and i["kind"] == "written"]
    # Every written maths problem carries its answer, except drawing tasks (画出…的图象).
    assert all(i["answer"] or "画出" in i["stem"] for i in math_written)
    assert sum(bool(i["answer"]) for i in math_written) / len(math_written) > 0.95
    kps = _rows("knowledge_points.csv")
    assert all(re.search(r"[\u4e00-\u9fff]", k["name"]) or k["subject"] == "english" for k in kps)
    assert sum(1 for k in kps if k["prerequisites"]) > len(kps) / 2


def test_maths_answers_are_right() -> None:
    checked = 0
    for item in _rows("items.csv"):
        m = re.fullmatch(r"计算：(\d+) ([+-]) (\d+) = ？", item["stem"])
        if m:
            a, op, b = int(m[1]), m[2], int(m[3])
            assert int(item["answer"]) == (a + b if op == "+" else a - b), item
            checked += 1
        m = re.fullmatch(r"直角三角形的两条直角边分别为 (\d+) 和 (\d+)，求斜边长。", item["stem"])
        if m:
            assert int(item["answer"]) ** 2 == int(m[1]) ** 2 + int(m[2]) ** 2
            checked += 1
        m = re.fullmatch(r"解方程：(\d+)x \+ (\d+) = (\d+)", item["stem"])
        if m:
            assert int(m[1]) * int(item["answer"][2:]) + int(m[2]) == int(m[3])
            checked += 1
    assert checked > 100


def test_the_logs_follow_the_rules_a_school_keeps() -> None:
    items = {i["item_id"]: i for i in _rows("items.csv")}
    students = {s["student_id"]: s["class_id"] for s in _rows("students.csv")}
    grade = {c["class_id"]: int(c["grade"]) for c in _rows("classes.csv")}
    subjects_per_evening: dict[tuple[str, str], set[str]] = defaultdict(set)
    attempts = _rows("attempts.csv")
    for a in attempts:
        g = grade[students[a["student_id"]]]
        item = items[a["item_id"]]
        if g <= 2:
            assert item["kind"] != "written"  # T1
            subjects_per_evening[(a["student_id"], a["night"])].add(item["subject"])
        assert item["needs_parent"] == "0"  # C5
    assert subjects_per_evening and all(len(s) == 1 for s in subjects_per_evening.values())  # T1
    assert 0.55 < sum(a["correct"] == "1" for a in attempts) / len(attempts) < 0.9
    entries = _rows("error_book.csv")
    assert entries and all(grade[students[e["student_id"]]] >= 3 for e in entries)  # R1 from grade 3
    assert any(e["resolved_at"] for e in entries)
