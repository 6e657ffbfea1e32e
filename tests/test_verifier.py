"""The independent verifier: every HARD rule a set can break, by property and by example.

Rule IDs (POLICY.md) appear in the test names: T1-T12, C1, C2, C4, C5, C6.
"""

from __future__ import annotations

import ast
import json
import random
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import service.policy.verifier as verifier_module
from benchmarks.policy_cases import INJECTABLE, make_case
from benchmarks.verifier import count
from jianfu.cli import app
from service.policy.checkfile import read_check
from service.policy.rules import SET_RULES
from service.policy.verifier import verify
from tests.conftest import ROOT, SAMPLES

CHECKS = SAMPLES / "checks"


def _rules(case) -> set[str]:  # type: ignore[no-untyped-def]
    return {v.rule for v in verify(case.hw_set, case.student, case.klass, case.evening, case.policy)}


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**64 - 1), inject=st.sampled_from((None, *INJECTABLE)))
def test_valid_sets_pass_and_one_injected_violation_is_reported_as_exactly_its_rule(
    seed: int, inject: str | None
) -> None:
    case = make_case(random.Random(seed), inject)
    assert _rules(case) == set(case.expected), (inject, case.how)


def test_twenty_thousand_cases_no_misses_no_false_alarms_every_rule_exercised() -> None:
    result = count(20_000, seed=7)
    assert result["misses"] == 0 and result["false_alarms"] == 0, result["examples"]
    assert set(result["per_rule"]) == {"valid", *SET_RULES}
    assert min(result["per_rule"].values()) > 800


def test_the_property_check_catches_a_broken_verifier(monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness can fail: with the syllabus guard switched off, or one band rule misnamed,
    it reports misses (so 0 misses above means something)."""
    monkeypatch.setattr(verifier_module, "_syllabus", lambda *a: [])
    result = count(3_000, seed=3)
    assert result["misses_by_rule"].get("C1", 0) > 50 and result["misses_by_rule"].get("C2", 0) > 50
    monkeypatch.undo()
    monkeypatch.setattr(verifier_module, "_band_rule", lambda grade: "T2")
    result = count(3_000, seed=3)
    assert result["misses_by_rule"].get("T3", 0) > 50 and result["false_alarms_by_rule"].get("T3", 0) > 50


# --- the sample check files and `jianfu check` ----------------------------------------------


def test_sample_checks_hold_valid_and_one_file_per_set_rule() -> None:
    names = {p.name for p in CHECKS.glob("*.json")}
    assert names == {"valid.json"} | {f"violates-{r}.json" for r in SET_RULES}


def test_jianfu_check_passes_the_valid_sample(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check", str(CHECKS / "valid.json")])
    assert result.exit_code == 0, result.output
    assert "passes every rule" in result.output


@pytest.mark.parametrize("rule", SET_RULES)
def test_jianfu_check_names_exactly_the_broken_rule_and_what_to_change(runner: CliRunner, rule: str) -> None:
    result = runner.invoke(app, ["check", str(CHECKS / f"violates-{rule}.json")])
    assert result.exit_code == 1, result.output
    lines = [line.strip() for line in result.output.splitlines()[1:] if line.strip()]
    assert lines and all(line.split()[0] == rule for line in lines), result.output
    zh = [line for line in lines if any("\u4e00" <= ch <= "\u9fff" for ch in line)]
    assert zh and all("请" in line for line in zh)  # every Chinese message says what to change


def test_jianfu_check_exit_2_names_json_paths_of_a_bad_file(runner: CliRunner, tmp_path: Path) -> None:
    data = json.loads((CHECKS / "valid.json").read_text(encoding="utf-8"))
    data["set"]["items"][1]["tier"] = "core"
    data["set"]["items"][2]["minutes"] = -3
    data["evening"]["surprise"] = 1
    del data["student"]["student_id"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(app, ["check", str(bad)])
    assert result.exit_code == 2
    for where in (
        "$.set.items[1].tier",
        "$.set.items[2].minutes",
        "$.evening.surprise",
        "$.student.student_id",
    ):
        assert f"{bad}: {where}:" in result.stderr, result.stderr
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    result = runner.invoke(app, ["check", str(tmp_path / "broken.json")])
    assert result.exit_code == 2 and "line 1" in result.stderr


def test_a_bad_policy_reference_is_named(runner: CliRunner, tmp_path: Path) -> None:
    data = json.loads((CHECKS / "valid.json").read_text(encoding="utf-8"))
    data["policy"] = "no-such-school.toml"
    (tmp_path / "c.json").write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(app, ["check", str(tmp_path / "c.json")])
    assert result.exit_code == 2 and "$.policy" in result.stderr


# --- rules by example: boundaries and exceptions --------------------------------------------


def _valid():  # type: ignore[no-untyped-def]
    return read_check(CHECKS / "valid.json")


def _run(req, **changes):  # type: ignore[no-untyped-def]
    return [v.rule for v in verify(changes.get("hw_set", req.hw_set), changes.get("student", req.student),
                                   changes.get("klass", req.klass), changes.get("evening", req.evening), req.policy)]  # fmt: skip


def test_T2_a_set_exactly_at_the_remaining_minutes_fits_and_a_tenth_more_does_not() -> None:
    req = _valid()
    left = min(req.evening.cap_minutes - sum(req.evening.reserved.values()), req.evening.allowance_minutes)
    assert _run(req, hw_set=replace(req.hw_set, conservative_minutes=left)) == []
    over = replace(req.hw_set, conservative_minutes=left + 0.1)
    assert _run(req, hw_set=over) == ["T5"]  # within the cap: another subject's share is in the way
    empty = replace(req.evening, reserved={}, allowance_minutes=None)
    big = replace(req.hw_set, conservative_minutes=61.0, basic_conservative_minutes=61.0,
                  items=tuple(replace(i, tier="basic", minutes=15.1) for i in req.hw_set.items))  # fmt: skip
    assert _run(req, hw_set=big, evening=empty) == ["T2"]


def test_T6_weekend_and_holiday_get_no_more_than_a_school_day() -> None:
    req = read_check(CHECKS / "violates-T6.json")
    assert _run(req) == ["T6"]
    assert _run(req, evening=replace(req.evening, day_type="holiday")) == ["T6"]
    assert _run(req, evening=replace(req.evening, day_type="school_day")) == ["T2"]


def test_C2_taught_today_is_allowed_taught_tomorrow_is_not() -> None:
    req = _valid()
    kp = req.hw_set.items[0].kp_ids[0]
    night = req.evening.night
    today = replace(req.klass, taught={**req.klass.taught, kp: night})
    assert _run(req, klass=today) == []
    tomorrow = replace(req.klass, taught={**req.klass.taught, kp: date.fromordinal(night.toordinal() + 1)})
    assert _run(req, klass=tomorrow) == ["C2"]


def test_C4_an_error_book_review_may_come_back_inside_the_repeat_window() -> None:
    req = _valid()
    item = req.hw_set.items[0]
    recent = replace(req.student, recent={item.item_id: date.fromordinal(req.evening.night.toordinal() - 2)})
    assert _run(req, student=recent) == ["C4"]
    review = replace(req.hw_set, items=(replace(item, review=True), *req.hw_set.items[1:]))
    assert _run(req, student=recent, hw_set=review) == []


def test_T10_personal_cap_lower_than_the_grade_cap_is_the_students_own_limit() -> None:
    req = read_check(CHECKS / "violates-T2.json")  # 99 conservative minutes, grade cap 60
    small = replace(req.hw_set, conservative_minutes=50.0, basic_conservative_minutes=50.0,
                    items=tuple(replace(i, minutes=7.0) for i in req.hw_set.items))  # fmt: skip
    assert _run(req, hw_set=small) == []
    capped = replace(req.student, personal_cap_minutes=40)
    assert _run(req, hw_set=small, student=capped, evening=replace(req.evening, cap_minutes=40.0)) == ["T10"]


def test_T11_a_ledger_cap_that_differs_from_the_rules_is_reported_either_way() -> None:
    req = _valid()
    assert _run(req, evening=replace(req.evening, cap_minutes=75.0)) == ["T11"]
    assert "T11" in _run(req, evening=replace(req.evening, cap_minutes=45.0))


def test_T12_exemption_covers_written_work_only() -> None:
    req = read_check(CHECKS / "violates-C5.json")  # a PE set: physical activities, no written items
    exempt = replace(req.student, exempt=True)
    assert _run(req, student=exempt) == ["C5"]  # the exemption does not flag non-written items


def test_T1_grade_2_one_subject_per_evening() -> None:
    req = read_check(CHECKS / "violates-T1.json")
    no_written = replace(req.hw_set, items=tuple(i for i in req.hw_set.items if i.kind != "written"))
    assert _run(req, hw_set=no_written) == []
    second = replace(req.evening, reserved={"chinese": 5.0})
    assert _run(req, hw_set=no_written, evening=second) == ["T1"]


def test_the_verifier_shares_no_code_with_the_planner() -> None:
    """Imports of the verifier: the standard library, the data contract and the policy file only."""
    tree = ast.parse((ROOT / "service" / "policy" / "verifier.py").read_text(encoding="utf-8"))
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "collections", "collections.abc", "dataclasses", "datetime", "math",
                        "models.schema", "service.policy.policy"}, imported  # fmt: skip


def test_T10_nan_infinite_zero_or_negative_minutes_are_refused() -> None:
    req = _valid()
    for bad in (float("nan"), float("inf"), 0.0, -5.0):
        items = (replace(req.hw_set.items[0], minutes=bad), *req.hw_set.items[1:])
        assert _run(req, hw_set=replace(req.hw_set, items=items)) == ["T10"], bad
    assert _run(req, hw_set=replace(req.hw_set, conservative_minutes=float("nan"))) == ["T10"]


def test_T7_any_slot_but_the_evening_is_refused() -> None:
    req = _valid()
    for slot in ("noon", "Noon", "lunch"):
        assert _run(req, hw_set=replace(req.hw_set, slot=slot)) == ["T7"]


def test_C1_an_item_without_knowledge_points_is_refused() -> None:
    req = _valid()
    items = (replace(req.hw_set.items[0], kp_ids=()), *req.hw_set.items[1:])
    assert _run(req, hw_set=replace(req.hw_set, items=items)) == ["C1"]


def test_C4_caps_count_what_other_plans_set_tonight() -> None:
    req = _valid()
    first = req.hw_set.items[0]
    other = (("other-item", first.dup_group, ("some-kp",)),)
    assert _run(req, student=replace(req.student, tonight=other)) == ["C4"]  # near-duplicate group
    same = ((first.item_id, None, ()),)
    assert _run(req, student=replace(req.student, tonight=same)) == ["C4"]  # the same item again
    unrelated = (("x", "another-group", ("another-kp",)),)
    assert _run(req, student=replace(req.student, tonight=unrelated)) == []


def test_independent_violations_are_all_reported_not_only_the_first() -> None:
    req = read_check(CHECKS / "violates-C5.json")
    noon = replace(req.hw_set, slot="noon")
    assert _run(req, hw_set=noon) == ["T7", "C5"]
    exempt_noon = read_check(CHECKS / "violates-T12.json")
    assert set(_run(exempt_noon, hw_set=replace(exempt_noon.hw_set, slot="noon"))) == {"T7", "T12"}


def test_the_verifier_writes_minutes_as_the_pages_do() -> None:
    from service.policy import verifier
    from service.policy.minutes import shown

    for x in (0.0, 0.04, 0.05, 1.0, 1.25, 12.5, 25.0, 34.46, 34.5, 59.95, 60.0, 89.99):
        assert verifier._m(x) == shown(x), x
