"""Policy as data (POLICY.md T1-T4, T6-T9, C4, C5): the national defaults, a region's file and a
school's file; files may only tighten what they extend, and bad files are refused at load with the
file, the key and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.policy.policy import NATIONAL, PolicyError, load_policy
from tests.conftest import SAMPLES

POLICIES = SAMPLES / "policies"


def test_national_defaults_carry_the_rules() -> None:
    policy = load_policy(NATIONAL)
    assert [policy.cap(g) for g in (3, 6, 7, 9, 10)] == [60, 60, 90, 90, 120]  # T2, T3, T4
    assert "written" not in policy.allowed_kinds(1) and "written" not in policy.allowed_kinds(2)  # T1
    assert policy.subjects_per_evening(2) == 1 and policy.subjects_per_evening(4) is None  # T1
    assert policy.noon_assignment is False  # T7
    assert policy.weekend_above_school_day is False  # T6
    assert policy.needs_parent_allowed is False  # C5
    assert policy.max_per_dup_group == 1 and policy.repeat_days == 7  # C4


def test_the_two_sample_schools_have_their_own_options() -> None:
    east = load_policy(POLICIES / "sch-east.toml")
    west = load_policy(POLICIES / "sch-west.toml")
    assert east.subjects_per_evening(4) == 2 and west.subjects_per_evening(4) is None  # T8
    assert east.written_only_in == ("chinese", "math", "english") and west.written_only_in == ()  # T9
    assert (west.cap(7), west.cap(8), west.cap(9)) == (80, 80, 120)  # T3, grade 9 raised by the region
    assert east.cap(9) == 120 and east.cap(5) == 60
    assert west.sources[-2:] == [str(POLICIES / "zhejiang.toml"), str(POLICIES / "sch-west.toml")]


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def region(tmp_path: Path) -> Path:
    return _write(tmp_path, "region", 'region = "r"\nextends = "national"\n[caps]\n"7" = 80\n')


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[homework]\nmax = 3\n', "key 'homework': unknown key"),
        ('[caps]\n"5" = -10\n', "key 'caps.5': cannot be negative, got -10"),
        ('[caps]\n"7" = 85\n', "key 'caps.7': 85 is above the 80 of the policy it extends; a file may only tighten"),
        ('[caps]\n"13" = 60\n', "key 'caps.13': unknown key"),
        ('raises = ["caps.7"]\n[caps]\n"7" = 100\n', "key 'raises': only a region's file may raise a value"),
        ('[items]\nmax_per_dup_group = 2\n', "key 'items.max_per_dup_group': 2 is above the 1"),
        ('[items]\nrepeat_days = 3\n', "key 'items.repeat_days': 3 is below the 7"),
        ('[items]\nneeds_parent_allowed = true\n', "key 'items.needs_parent_allowed': cannot be turned on"),
        ('[days]\nnoon_assignment = true\n', "key 'days.noon_assignment': cannot be turned on"),
        ('[kinds]\n"1-2" = ["oral", "written"]\n', "key 'kinds.1-2': adds written"),
        ('[kinds]\n"1-2" = ["singing"]\n', "key 'kinds.1-2': unknown item kind(s) singing"),
        ('[subjects]\nmax_per_evening = { "1-2" = 2 }\n', "key 'subjects.max_per_evening': 1-2 = 2 is above the 1"),
        ('[caps]\n"5" = "sixty"\n', "key 'caps.5': should be a whole number, got 'sixty'"),
        ('[days]\nbedtime = { "1-6" = "21:40" }\n', "key 'days.bedtime': 1-6 is later than the 21:20 it extends"),
        ('[days]\nbedtime = { "1-6" = "9pm" }\n', "key 'days.bedtime': '1-6' should be a time of day"),
    ],
    ids=["unknown key", "negative cap", "above regional cap", "unknown grade", "school raises", "dup group",
         "repeat days", "needs parent", "noon", "written in grade 1-2", "unknown kind", "subjects", "type",
         "later bedtime", "bedtime format"],
)  # fmt: skip
def test_a_bad_school_file_is_refused_with_file_key_and_reason(region: Path, body: str, message: str) -> None:
    school = _write(region.parent, "school", f'school = "s"\nextends = "region"\n{body}')
    with pytest.raises(PolicyError) as refused:
        load_policy(school)
    assert any(p.startswith(str(school)) and message in p for p in refused.value.problems), (
        refused.value.problems
    )


def test_a_school_may_tighten(region: Path) -> None:
    school = _write(region.parent, "school", 'school = "s"\nextends = "region"\n[caps]\n"7" = 70\n"5" = 45\n'
                    '[subjects]\nmax_per_evening = { "3-5" = 2 }\n[items]\nmax_per_kp = 2\n')  # fmt: skip
    policy = load_policy(school)
    assert (policy.cap(7), policy.cap(5), policy.subjects_per_evening(4), policy.max_per_kp) == (70, 45, 2, 2)


def test_bedtimes_come_from_the_national_file_and_a_school_may_make_them_earlier(region: Path) -> None:
    national = load_policy(region)
    assert (national.bedtime(2), national.bedtime(8), national.bedtime(11)) == ("21:20", "22:00", "23:00")
    school = _write(
        region.parent, "school", 'school = "s"\nextends = "region"\n[days]\nbedtime = { "1-2" = "20:30" }\n'
    )
    earlier = load_policy(school)
    assert (earlier.bedtime(1), earlier.bedtime(5)) == ("20:30", "21:20")


def test_extends_must_lead_to_a_file(tmp_path: Path) -> None:
    school = _write(tmp_path, "school", 'school = "s"\nextends = "nowhere"\n')
    with pytest.raises(PolicyError, match=r"key 'extends': no policy file .*nowhere.toml"):
        load_policy(school)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('region = "r2"\nextends = "national"\nraises = ["days.noon_assignment", "caps.9"]\n[days]\nnoon_assignment = true\n',
         "'days.noon_assignment' cannot be raised; a region may raise only minutes caps"),
        ('region = "r2"\nextends = "national"\nraises = ["items.needs_parent_allowed"]\n[items]\nneeds_parent_allowed = true\n',
         "'items.needs_parent_allowed' cannot be raised"),
        ('region = "r2"\nextends = "region"\nraises = ["caps.5"]\n[caps]\n"5" = 300\n',
         "key 'extends': a region's file extends the national one directly"),
    ],
    ids=["noon", "needs parent", "a file calling itself a region"],
)  # fmt: skip
def test_a_region_may_raise_only_caps_and_only_over_national(region: Path, text: str, message: str) -> None:
    path = _write(region.parent, "r2", text)
    with pytest.raises(PolicyError) as refused:
        load_policy(path)
    assert any(message in p for p in refused.value.problems), refused.value.problems


def test_an_empty_written_subject_list_cannot_undo_a_stricter_one(region: Path) -> None:
    strict = _write(
        region.parent, "strict", 'school = "s"\nextends = "region"\n[subjects]\nwritten_only_in = ["math"]\n'
    )
    assert load_policy(strict).written_only_in == ("math",)
    loose = _write(
        region.parent, "loose", 'school = "s2"\nextends = "strict"\n[subjects]\nwritten_only_in = []\n'
    )
    with pytest.raises(PolicyError) as refused:
        load_policy(loose)
    assert any("an empty list lets every subject set written work" in p for p in refused.value.problems)
