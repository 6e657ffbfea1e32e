"""Typed answers graded on the server (有布置必批改, C8): a pure function from an item's answer key
and what the student typed to right or wrong, accepting the forms a student writes for the same
answer — 0.5 = 1/2 = .5, spaces, full-width digits and punctuation (０.５, （２，６）), a minus sign
of any kind, the unit the item names (126 平方分米, 118°), x=3 or 3, 8……5 or 8余5, 9:30 or 9时30分,
(x+8)(x+2) in either order, x²+x for x^2+1x+0, the factors of 12 in any order.

Only written items with an answer key are graded (`gradable`); reading, practical and oral work is
reported by the student or parent (self-report) and marked so in the log. Nothing here touches the
database or HTTP: service.records calls it and stores the outcome.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction

MAX_ANSWER = 100  # characters a typed answer may have (a longer one is refused, not graded)
GRADABLE_KINDS = frozenset({"written"})


class BadAnswer(ValueError):
    """A typed answer that cannot be graded at all (empty, too long): said in English and Chinese."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.en, self.zh = en, zh


@dataclass(frozen=True)
class Graded:
    correct: bool
    typed: str  # what was typed, normalised (what the log keeps)


def gradable(kind: str, answer: str | None) -> bool:
    """Whether an item's answers are graded on the server (else reported by the student: self-report)."""
    return kind in GRADABLE_KINDS and bool(answer and answer.strip())


_SUPERSCRIPTS = str.maketrans({"⁰": "^0", "¹": "^1", "²": "^2", "³": "^3", "⁴": "^4", "⁵": "^5", "⁶": "^6",
                               "⁷": "^7", "⁸": "^8", "⁹": "^9"})  # fmt: skip
_AFTER_NFKC = str.maketrans({"−": "-", "–": "-", "—": "-", "‐": "-", "。": ".", "、": ",", "；": ",",
                             ";": ",", "×": "*", "·": "*", "≠": "≠"})  # fmt: skip


def normalise(text: str) -> str:
    """Full-width to half-width (NFKC), superscript powers to ^n, one minus sign, no spaces, lower case."""
    text = text.translate(_SUPERSCRIPTS)
    text = unicodedata.normalize("NFKC", text).translate(_AFTER_NFKC)
    text = re.sub(r"\s+", "", text).lower()
    return text.replace("!=", "≠").replace("<>", "≠")


_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_NUMBER_RE = re.compile(rf"^({_NUMBER})(?:/({_NUMBER}))?$")


def number(text: str) -> Fraction | None:
    """A number as typed (12, -3, 0.5, .5, 1/2, -1/2, 2.5/5), exactly, or None."""
    found = _NUMBER_RE.match(text)
    if not found:
        return None
    value = Fraction(found.group(1))
    if found.group(2) is not None:
        below = Fraction(found.group(2))
        if below == 0:
            return None
        value /= below
    return value


# Units a student may write for the one an item names (left: as the item names it).
_UNIT_ALIASES = {
    "米": {"m"}, "厘米": {"cm"}, "分米": {"dm"}, "千米": {"km", "公里"}, "毫米": {"mm"},
    "平方米": {"m^2", "m2"}, "平方厘米": {"cm^2", "cm2"}, "平方分米": {"dm^2", "dm2"},
    "立方米": {"m^3", "m3"}, "立方厘米": {"cm^3", "cm3"}, "立方分米": {"dm^3", "dm3"},
    "克": {"g"}, "千克": {"kg", "公斤"}, "牛": {"n", "牛顿"}, "元": {"块", "块钱"}, "°": {"度"},
    "g/cm^3": {"g/cm3", "克/立方厘米"}, "cm^3": {"cm3", "立方厘米", "ml", "毫升"}, "a": {"安", "安培"}, "帕": {"pa"}, "伏": {"v"},
}  # fmt: skip
_ASKED_UNIT = re.compile(r"(?:多少|几)([^\d\s？?，,。.（）()“”]{1,4}?)[？?]")
_PAREN_UNIT = re.compile(r"[（(]([a-z][a-z/^\d]{0,7})[）)][。.]?$")


def units(stem: str) -> set[str]:
    """The unit an item names for its answer ("面积是多少平方分米？", "求其密度（g/cm³）", "多少 cm³？"),
    with the ways a student may write it; empty when it names none."""
    text = normalise(stem)
    named: set[str] = set()
    for pattern in (_ASKED_UNIT, _PAREN_UNIT):
        named.update(m.group(1) for m in pattern.finditer(text) if not m.group(1).isdigit())
    plain = re.search(r"多少([a-z][a-z/^\d]{0,7})[？?]", text)
    if plain:
        named.add(plain.group(1))
    out = set()
    for unit in named:
        out.add(unit)
        out.update(_UNIT_ALIASES.get(unit, ()))
    return out


def _strip_unit(text: str, allowed: set[str]) -> str:
    for unit in sorted(allowed, key=len, reverse=True):
        if unit and text.endswith(unit) and number(text[: -len(unit)]) is not None:
            return text[: -len(unit)]
    return text


def _numbers(text: str) -> list[Fraction] | None:
    parts = [p for p in re.split(r"[,，和]", text) if p]
    found = [number(p) for p in parts]
    return None if not parts or any(f is None for f in found) else found  # type: ignore[return-value]


_TERM = re.compile(r"([+-]?)(\d+(?:\.\d+)?)?((?:[a-z](?:\^\d+)?)*)")


def _polynomial(text: str) -> dict[tuple[tuple[str, int], ...], Fraction] | None:
    """A sum of monomials (x^2+4x-32, 2x+4y, a^12, -3x+1y) as {monomial: coefficient}, or None."""
    text = text.replace("+-", "-").replace("-+", "-").replace("--", "+").replace("*", "")
    if not text or not re.fullmatch(r"[0-9a-z^+\-.]+", text):
        return None
    out: dict[tuple[tuple[str, int], ...], Fraction] = {}
    position = 0
    while position < len(text):
        m = _TERM.match(text, position)
        if m is None or m.end() == position or (not m.group(2) and not m.group(3)):
            return None
        if position > 0 and not m.group(1):
            return None  # two terms with no sign between them
        coefficient = Fraction(m.group(2) or "1") * (-1 if m.group(1) == "-" else 1)
        powers: dict[str, int] = {}
        for var, power in re.findall(r"([a-z])(?:\^(\d+))?", m.group(3)):
            powers[var] = powers.get(var, 0) + int(power or 1)
        key = tuple(sorted(powers.items()))
        out[key] = out.get(key, Fraction(0)) + coefficient
        position = m.end()
    return {k: v for k, v in out.items() if v != 0}


def _factors(text: str) -> list[tuple[tuple[tuple[str, int], ...], Fraction]] | None:
    """A product of bracketed factors ((x+8)(x+2)) as a sorted list of their polynomials, or None."""
    found = re.fullmatch(r"(\([^()]+\))+", text)
    if not found:
        return None
    out = []
    for inner in re.findall(r"\(([^()]+)\)", text):
        poly = _polynomial(inner)
        if poly is None:
            return None
        out.append(tuple(sorted(poly.items())))
    return sorted(out)  # type: ignore[arg-type]


def _assignments(text: str) -> dict[str, Fraction] | None:
    """k=-3,b=-1 (any order) as {name: value}, or None."""
    parts = [p for p in re.split(r"[,，和]", text) if p]
    out = {}
    for part in parts:
        m = re.fullmatch(r"([a-z])=(.+)", part)
        value = number(m.group(2)) if m else None
        if m is None or value is None:
            return None
        out[m.group(1)] = value
    return out or None


def _clock(text: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"(\d{1,2})(?::|时|点)(\d{1,2})分?", text) or re.fullmatch(
        r"(\d{1,2})(?:时|点)(整)", text
    )
    if m is None:
        half = re.fullmatch(r"(\d{1,2})(?:时|点)半", text)
        return (int(half.group(1)), 30) if half else None
    return int(m.group(1)), 0 if m.group(2) == "整" else int(m.group(2))


def _remainder(text: str) -> tuple[Fraction, Fraction] | None:
    m = re.fullmatch(rf"({_NUMBER})(?:\.{{2,}}|…+|余)({_NUMBER})", text)
    if m is None:
        return None
    q, r = number(m.group(1)), number(m.group(2))
    return None if q is None or r is None else (q, r)


def _digit_set(text: str) -> frozenset[str] | None:
    """The answer to "n 是 2、3、5 中哪些数的倍数？" (key 235: 2, 3 and 5) as a set of digits."""
    bare = re.sub(r"[,，和]", "", text)
    return frozenset(bare) if bare.isdigit() and len(set(bare)) == len(bare) else None


def check(typed: str) -> str:
    """The typed answer, refused when it cannot be graded at all (empty, too long)."""
    if len(typed) > MAX_ANSWER:
        raise BadAnswer(f"the answer is too long: at most {MAX_ANSWER} characters ({len(typed)} typed)",
                        f"答案太长：最多 {MAX_ANSWER} 个字符（输入了 {len(typed)} 个）")  # fmt: skip
    text = normalise(typed)
    if not text:
        raise BadAnswer(
            "the answer is empty: type the answer before submitting", "答案是空的：请先写答案再提交"
        )
    return text


def grade(*, key: str, typed: str, stem: str = "") -> Graded:
    """Whether `typed` is the answer `key` of an item whose question is `stem` (for the unit it
    names and what kind of answer it asks). Raises BadAnswer when `typed` is empty or too long."""
    text = check(typed)
    return Graded(correct=equivalent(key, text, stem), typed=text)


def equivalent(key: str, typed: str, stem: str = "") -> bool:
    """Whether the (normalised) typed answer says what the key says."""
    want, text = normalise(key), normalise(typed)
    if want == text:
        return True
    allowed = units(stem)
    if want.endswith("°"):  # an angle: the key names its unit
        allowed |= {"°", "度"}
        want = want[:-1]
    if want.endswith("%"):
        percent = number(want[:-1])
        got = number(_strip_unit(text, {"%"}))
        return percent is not None and got is not None and got == percent
    if "哪些数的倍数" in normalise(stem) and want.isdigit():
        return _digit_set(want) == _digit_set(text)
    if (value := number(want)) is not None:
        got = number(_strip_unit(text, allowed))
        return got is not None and got == value
    if (assigned := _assignments(want)) is not None:
        if len(assigned) == 1 and (got := number(text)) is not None:  # x=3 written as 3
            return next(iter(assigned.values())) == got
        return _assignments(text) == assigned
    if (pair := _remainder(want)) is not None:
        return _remainder(text) == pair
    if (time := _clock(want)) is not None:
        return _clock(text) == time
    if (
        want.startswith("(")
        and want.endswith(")")
        and (nums := _numbers(want[1:-1])) is not None
        and len(nums) > 1
    ):
        inner = text[1:-1] if text.startswith("(") and text.endswith(")") else None
        return inner is not None and _numbers(inner) == nums
    if (listed := _numbers(want)) is not None and len(listed) > 1:  # the factors of 12: any order
        got_list = _numbers(text)
        return got_list is not None and sorted(got_list) == sorted(listed)
    if (factors := _factors(want)) is not None:
        return _factors(text) == factors
    if (poly := _polynomial(want)) is not None:
        return _polynomial(text) == poly
    return False
