"""Typed answers graded on the server (service.grading, issue 16): a table of equivalent and
non-equivalent answers (fractions, decimals, negatives, full-width input, units, empty, very long),
and properties: a number in any of the forms a student writes is graded as the key's comparison of
values says; every gradable item of the sample bank accepts its own key, typed plainly or in
full-width characters with spaces, and refuses every other item's key that means something else."""

from __future__ import annotations

import csv
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.grading import MAX_ANSWER, BadAnswer, gradable, grade, normalise, number
from tests.conftest import SAMPLES

AREA = "梯形的上底 2 分米，下底 19 分米，高 12 分米，面积是多少平方分米？"
DENSITY = "某物体体积 153 cm³，质量 122.4 g，求其密度（g/cm³）。"
MULTIPLES = "990 是 2、3、5 中哪些数的倍数？"
BUFFALO = "拿 6 根小棒，平均分成 3 份，每份几根？摆一摆再说一说。"

TABLE = [  # key, typed, stem, right?
    ("0.5", "1/2", "", True),
    ("0.5", ".5", "", True),
    ("0.5", "0.50", "", True),
    ("1/2", "2/4", "", True),
    ("10/21", "10／21", "", True),
    ("1/2", "0.6", "", False),
    ("1/3", "0.33", "", False),  # a rounded decimal is not the fraction
    ("12", "12.0", "", True),
    ("12", "１２", "", True),  # full-width digits
    ("2.31", "２．３１", "", True),
    ("2.31", "2。31", "", True),  # the IME's full stop as a decimal point
    ("2.31", " 2.31 ", "", True),
    ("-24", "－２４", "", True),
    ("-24", "−24", "", True),  # the minus sign
    ("-24", "24", "", False),
    ("-24", "- 24", "", True),
    ("126", "126平方分米", AREA, True),  # the unit the item names
    ("126", "126 dm²", AREA, True),
    ("126", "126平方米", AREA, False),  # another unit
    ("126", "126米", AREA, False),
    ("0.8", "0.8g/cm³", DENSITY, True),
    ("0.8", "0.8 克/立方厘米", DENSITY, True),
    ("0.8", "0.8kg", DENSITY, False),
    ("118°", "118", "", True),
    ("118°", "118度", "", True),
    ("118°", "１１８°", "", True),
    ("118°", "62°", "", False),
    ("24.4%", "24.4%", "", True),
    ("24.4%", "24.4", "", True),
    ("24.4%", "24.5%", "", False),
    ("x=12", "12", "", True),
    ("x=12", "x = 12", "", True),
    ("x=12", "Ｘ＝１２", "", True),
    ("x=12", "y=12", "", False),
    ("x=-3", "x=-3", "", True),
    ("x=-3", "x=3", "", False),
    ("k=-3,b=-1", "b=-1，k=-3", "", True),
    ("k=-3,b=-1", "k=-3", "", False),
    ("(7,-1)", "（7，-1）", "", True),
    ("(7,-1)", "(-1,7)", "", False),
    ("8……5", "8余5", "", True),
    ("8……5", "8...5", "", True),
    ("8……5", "8……4", "", False),
    ("8:35", "8时35分", "", True),
    ("8:30", "8点半", "", True),
    ("8:35", "8:53", "", False),
    ("x^2+1x+0", "x²+x", "", True),
    ("x^2+4x+-32", "x^2 + 4x - 32", "", True),
    ("x^2+4x+-32", "x^2+4x+32", "", False),
    ("(x+8)(x+2)", "(x+2)(x+8)", "", True),
    ("(x+8)(x+2)", "x^2+10x+16", "", False),  # a factorisation asked: the product is not it
    ("2x+4y", "4y+2x", "", True),
    ("a^12", "a^12", "", True),
    ("a^12", "a^7", "", False),
    ("1,2,3,4,6,12", "12、6、4、3、2、1", "", True),
    ("1,2,3,4,6,12", "1,2,3,4,6", "", False),
    ("235", "2、3、5", MULTIPLES, True),
    ("235", "2和5", MULTIPLES, False),
    ("无", "无", "347 是 2、3、5 中哪些数的倍数？", True),
    ("5√6", "5 √6", "", True),
    ("x≠0", "x != 0", "", True),
    ("<", "＜", "", True),
    ("<", ">", "", False),
    ("红球", "红球", "", True),
    ("红球", "白球", "", False),
    ("SSS", "sss", "", True),
    ("12", "twelve", "", False),
    ("12", "12/0", "", False),  # no division by zero, no crash
]


@pytest.mark.parametrize(("key", "typed", "stem", "right"), TABLE)
def test_equivalent_and_non_equivalent_answers(key: str, typed: str, stem: str, right: bool) -> None:
    graded = grade(key=key, typed=typed, stem=stem)
    assert graded.correct is right, (key, typed, graded.typed)
    assert len(graded.typed) <= MAX_ANSWER * 3


@pytest.mark.parametrize("typed", ["", "   ", "\u3000", "x" * (MAX_ANSWER + 1), "1" * 100_000])
def test_an_empty_or_very_long_answer_is_refused_clearly_not_graded(typed: str) -> None:
    with pytest.raises(BadAnswer) as refused:
        grade(key="12", typed=typed, stem="")
    assert (
        refused.value.zh and refused.value.en and ("empty" in refused.value.en or "long" in refused.value.en)
    )


def test_only_written_items_with_a_key_are_graded() -> None:
    assert gradable("written", "12")
    assert not gradable("written", None) and not gradable("written", " ")
    for kind in ("oral", "reading", "practical", "physical"):
        assert not gradable(kind, "12"), kind  # the student reports these (self-report)
    assert not gradable("practical", "2") and BUFFALO


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


FORMS = [
    lambda f: f"{f.numerator}/{f.denominator}",
    lambda f: f"{f.numerator * 3}/{f.denominator * 3}",
    lambda f: _fullwidth(f"{f.numerator}/{f.denominator}"),
    lambda f: f" {f.numerator} / {f.denominator} ",
]


def _decimal(f: Fraction) -> str | None:
    """The exact decimal of f, if it has one (denominator 2^a 5^b)."""
    d = f.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    if d != 1:
        return None
    text = f"{float(f):.12f}".rstrip("0").rstrip(".")
    return text if Fraction(text) == f else None


fractions = st.fractions(min_value=-1000, max_value=1000, max_denominator=64)


@given(key=fractions, typed=fractions, form=st.integers(0, len(FORMS) - 1), as_decimal=st.booleans())
def test_a_number_in_any_form_is_graded_as_comparing_values_says(
    key: Fraction, typed: Fraction, form: int, as_decimal: bool
) -> None:
    key_text = _decimal(key) or f"{key.numerator}/{key.denominator}"
    written = (_decimal(typed) if as_decimal else None) or FORMS[form](typed)
    assert grade(key=key_text, typed=written).correct is (key == typed), (key_text, written)


def _bank() -> list[dict[str, str]]:
    with open(SAMPLES / "items.csv", encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if gradable(r["kind"], r["answer"])]


def test_every_gradable_item_of_the_sample_bank_accepts_its_key_and_refuses_other_answers() -> None:
    bank = _bank()
    assert len(bank) > 1000  # the sample bank's maths and science items: the test could fail
    for row in bank:
        key, stem = row["answer"], row["stem"]
        assert grade(key=key, typed=key, stem=stem).correct, key
        assert grade(key=key, typed=f" {_fullwidth(key)} ", stem=stem).correct, key
    # a number key against every other item's number key: right exactly when the values are equal
    numeric = [r for r in bank if number(normalise(r["answer"])) is not None and "倍数" not in r["stem"]]
    values = sorted({number(normalise(r["answer"])) for r in numeric})  # type: ignore[type-var]
    assert len(values) > 100
    for row in numeric[::5]:
        value = number(normalise(row["answer"]))
        for other in values[::3]:
            typed = f"{other.numerator}/{other.denominator}"  # type: ignore[union-attr]
            assert grade(key=row["answer"], typed=typed, stem=row["stem"]).correct is (other == value)


KEYS = ["12", "-24", "1/2", "118°", "24.4%", "x=3", "k=-3,b=-1", "(7,-1)", "8……5", "8:35", "x^2+1x+0",
        "(x+8)(x+2)", "1,2,3,4,6,12", "235", "5√6", "<", "红球"]  # fmt: skip


@given(
    key=st.sampled_from(KEYS),
    typed=st.text(max_size=120),
    stem=st.sampled_from(["", AREA, DENSITY, MULTIPLES]),
)
def test_any_text_is_graded_or_refused_as_unreadable_never_a_crash(key: str, typed: str, stem: str) -> None:
    try:
        graded = grade(key=key, typed=typed, stem=stem)
    except BadAnswer:
        assert len(typed) > MAX_ANSWER or not normalise(typed)
    else:
        assert isinstance(graded.correct, bool)
