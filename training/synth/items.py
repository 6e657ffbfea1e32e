"""Item generators for the synthetic item bank.

Maths items are real problems with their answers (so they can be graded automatically); other
subjects use the templated tasks schools actually set (听写, 朗读, 背诵, 观察日记, …). Each
generator returns variants; items of one variant differ only in their numbers or words and form
a near-duplicate group.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from training.synth.curriculum import KPDef


@dataclass(frozen=True)
class Draft:
    kind: str
    stem: str
    answer: str | None
    base_minutes: float  # the hidden ground truth's typical minutes for an average student
    needs_parent: bool = False


Rng = np.random.Generator
Variant = Callable[[Rng, KPDef], Draft]


def _i(rng: Rng, lo: int, hi: int) -> int:
    return int(rng.integers(lo, hi + 1))


def _fmt(x: float) -> str:
    text = f"{x:.4f}".rstrip("0").rstrip(".")
    return text if text != "-0" else "0"


def _frac(f: Fraction) -> str:
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def _w(stem: str, answer: object, minutes: float) -> Draft:
    return Draft("written", stem, str(answer), minutes)


def _o(stem: str, answer: object, minutes: float) -> Draft:
    return Draft("oral", stem, str(answer), minutes)


# ---- maths -----------------------------------------------------------------------------------


def _add(lo: int, hi: int, carry: bool | None) -> Variant:
    def make(rng: Rng, kp: KPDef) -> Draft:
        while True:
            a, b = _i(rng, lo, hi), _i(rng, lo, hi)
            if a + b <= 100 and (carry is None or ((a % 10 + b % 10) >= 10) == carry):
                break
        return _w(f"计算：{a} + {b} = ？", a + b, 1.0)

    return make


def _oral_add(rng: Rng, kp: KPDef) -> Draft:
    a, b = _i(rng, 11, 59), _i(rng, 11, 39)
    return _o(f"口算并说给同桌听：{a} + {b}", a + b, 1.0)


def _sub(borrow: bool) -> Variant:
    def make(rng: Rng, kp: KPDef) -> Draft:
        while True:
            a, b = _i(rng, 20, 99), _i(rng, 10, 89)
            if a > b and ((a % 10) < (b % 10)) == borrow:
                return _w(f"计算：{a} - {b} = ？", a - b, 1.2)

    return make


def _mixed_add_sub(rng: Rng, kp: KPDef) -> Draft:
    a, b = _i(rng, 20, 60), _i(rng, 5, 30)
    c = _i(rng, 1, a + b - 1)
    return _w(f"计算：{a} + {b} - {c} = ？", a + b - c, 1.5)


def _word_add(rng: Rng, kp: KPDef) -> Draft:
    a, b = _i(rng, 12, 48), _i(rng, 11, 45)
    return _w(f"二（1）班有男生 {a} 人，女生 {b} 人，全班一共有多少人？", a + b, 2.5)


def _times(lo: int, hi: int) -> Variant:
    def make(rng: Rng, kp: KPDef) -> Draft:
        a, b = _i(rng, lo, hi), _i(rng, 1, 9)
        return _o(f"口算：{a} × {b}（背出口诀）", a * b, 0.5)

    return make


def _times_word(rng: Rng, kp: KPDef) -> Draft:
    a, b = _i(rng, 2, 9), _i(rng, 2, 9)
    return _w(f"每盒有 {a} 个鸡蛋，{b} 盒一共有多少个？", a * b, 2.0)


def _div(rng: Rng, kp: KPDef) -> Draft:
    a, b = _i(rng, 2, 6), _i(rng, 2, 9)
    return _o(f"口算：{a * b} ÷ {a}", b, 0.6)


def _div_share(rng: Rng, kp: KPDef) -> Draft:
    a, b = _i(rng, 2, 6), _i(rng, 2, 6)
    return Draft("practical", f"拿 {a * b} 根小棒，平均分成 {a} 份，每份几根？摆一摆再说一说。", str(b), 4.0)


def _div_rem(rng: Rng, kp: KPDef) -> Draft:
    b = _i(rng, 3, 9)
    a = b * _i(rng, 2, 9) + _i(rng, 1, b - 1)
    return _w(f"计算：{a} ÷ {b} = ？……？", f"{a // b}……{a % b}", 1.5)


def _compare(hi: int) -> Variant:
    def make(rng: Rng, kp: KPDef) -> Draft:
        a, b = _i(rng, 1, hi), _i(rng, 1, hi)
        sign = ">" if a > b else "<" if a < b else "="
        return _w(f"在○里填上“>”“<”或“=”：{a} ○ {b}", sign, 0.5)

    return make


def _length(rng: Rng, kp: KPDef) -> Draft:
    a = _i(rng, 1, 9)
    return _w(f"{a} 米 = （ ）厘米", a * 100, 0.8)


def _length_practical(rng: Rng, kp: KPDef) -> Draft:
    thing = ["铅笔", "课本的长边", "文具盒", "自己的一拃", "橡皮"][_i(rng, 0, 4)]
    return Draft("practical", f"用尺子量一量{thing}的长度，记录下来（精确到厘米）。", None, 5.0)


def _angle(rng: Rng, kp: KPDef) -> Draft:
    place = ["课桌面", "门", "三角尺", "书本封面", "窗户"][_i(rng, 0, 4)]
    return Draft("practical", f"找一找{place}上的角，数一数有几个直角，说给家里人听。", None, 4.0)


def _clock(rng: Rng, kp: KPDef) -> Draft:
    h, m = _i(rng, 1, 12), 5 * _i(rng, 0, 11)
    return _o(
        f"钟面上时针指在 {h} 和 {h % 12 + 1} 之间，分针指向 {m // 5 if m else 12}，是几时几分？",
        f"{h}:{m:02d}",
        1.0,
    )


def _combinations(rng: Rng, kp: KPDef) -> Draft:
    n = _i(rng, 3, 5)
    return _w(
        f"用 {n} 个不同的数字卡片中的两张组成两位数（不能重复使用），最多能组成多少个？", n * (n - 1), 3.0
    )


def _dec_times_int(rng: Rng, kp: KPDef) -> Draft:
    a, b = _i(rng, 11, 99) / 10, _i(rng, 2, 19)
    return _w(f"计算：{_fmt(a)} × {b} = ？", _fmt(round(a * b, 4)), 1.5)


def _dec_times_dec(rng: Rng, kp: KPDef) -> Draft:
    a, b = _i(rng, 11, 99) / 10, _i(rng, 11, 99) / 100
    return _w(f"计算：{_fmt(a)} × {_fmt(b)} = ？", _fmt(round(a * b, 4)), 2.0)


def _dec_round(rng: Rng, kp: KPDef) -> Draft:
    a, b = _i(rng, 101, 999) / 100, _i(rng, 11, 99) / 10
    return _w(f"计算 {_fmt(a)} × {_fmt(b)}，结果保留一位小数。", f"{round(a * b + 1e-9, 1):.1f}", 2.5)


def _dec_div_int(rng: Rng, kp: KPDef) -> Draft:
    b = _i(rng, 2, 12)
    q = _i(rng, 11, 199) / 10
    return _w(f"计算：{_fmt(q * b)} ÷ {b} = ？", _fmt(q), 2.0)


def _dec_div_dec(rng: Rng, kp: KPDef) -> Draft:
    b = _i(rng, 2, 9) / 10
    q = _i(rng, 2, 60)
    return _w(f"计算：{_fmt(round(q * b, 4))} ÷ {_fmt(b)} = ？", q, 2.5)


def _repeating(rng: Rng, kp: KPDef) -> Draft:
    b = [3, 6, 9, 11][_i(rng, 0, 3)]
    a = _i(rng, 1, b - 1)
    digits = f"{a / b:.6f}"
    return _w(f"用循环小数表示 {a} ÷ {b} 的商（写出前六位小数）。", digits, 2.5)


def _coordinates(rng: Rng, kp: KPDef) -> Draft:
    c, r = _i(rng, 1, 8), _i(rng, 1, 6)
    return _w(f"小明坐在第 {c} 列第 {r} 行，用数对表示他的位置。", f"({c},{r})", 1.0)


def _probability(rng: Rng, kp: KPDef) -> Draft:
    red, white = _i(rng, 1, 9), _i(rng, 1, 9)
    more = "红球" if red > white else "白球" if white > red else "一样"
    return _w(f"盒子里有 {red} 个红球和 {white} 个白球，任意摸一个，摸到哪种球的可能性大？", more, 1.5)


def _letters(rng: Rng, kp: KPDef) -> Draft:
    a, x = _i(rng, 2, 9), _i(rng, 2, 12)
    return _w(f"当 x = {x} 时，求 {a}x + {a * 2} 的值。", a * x + a * 2, 1.5)


def _linear_eq(rng: Rng, kp: KPDef) -> Draft:
    a, x, b = _i(rng, 2, 9), _i(rng, 1, 15), _i(rng, 1, 30)
    return _w(f"解方程：{a}x + {b} = {a * x + b}", f"x={x}", 2.5)


def _eq_word(rng: Rng, kp: KPDef) -> Draft:
    price, n, paid = _i(rng, 3, 15), _i(rng, 2, 6), 0
    paid = price * n + _i(rng, 1, 20)
    return _w(
        f"妈妈买了 {n} 千克苹果，付了 {paid} 元，找回 {paid - price * n} 元。每千克苹果多少元？（列方程解答）",
        price,
        4.0,
    )


def _area_par(rng: Rng, kp: KPDef) -> Draft:
    b, h = _i(rng, 3, 20), _i(rng, 2, 15)
    return _w(f"平行四边形的底是 {b} 厘米，高是 {h} 厘米，面积是多少平方厘米？", b * h, 2.0)


def _area_tri(rng: Rng, kp: KPDef) -> Draft:
    b, h = _i(rng, 3, 20), 2 * _i(rng, 1, 8)
    return _w(f"三角形的底是 {b} 米，高是 {h} 米，面积是多少平方米？", b * h // 2, 2.0)


def _area_trap(rng: Rng, kp: KPDef) -> Draft:
    a, b, h = _i(rng, 2, 10), _i(rng, 11, 20), 2 * _i(rng, 1, 6)
    return _w(f"梯形的上底 {a} 分米，下底 {b} 分米，高 {h} 分米，面积是多少平方分米？", (a + b) * h // 2, 2.5)


def _area_comp(rng: Rng, kp: KPDef) -> Draft:
    a, b, h = _i(rng, 4, 12), _i(rng, 3, 10), 2 * _i(rng, 1, 5)
    return _w(
        f"一个图形由长 {a} 米、宽 {b} 米的长方形和一个底为 {a} 米、高为 {h} 米的三角形拼成，总面积是多少平方米？",
        _fmt(a * b + a * h / 2),
        4.0,
    )


def _trees(rng: Rng, kp: KPDef) -> Draft:
    gap, n = _i(rng, 2, 10), _i(rng, 5, 30)
    return _w(
        f"在一条长 {gap * n} 米的小路一边植树，每隔 {gap} 米种一棵，两端都种，一共种多少棵？", n + 1, 3.5
    )


def _factors(rng: Rng, kp: KPDef) -> Draft:
    n = [12, 18, 20, 24, 28, 30, 36, 40, 42, 48][_i(rng, 0, 9)]
    return _w(f"写出 {n} 的所有因数。", ",".join(str(d) for d in range(1, n + 1) if n % d == 0), 2.0)


def _divisibility(rng: Rng, kp: KPDef) -> Draft:
    n = _i(rng, 100, 999)
    answer = "".join(d for d, ok in (("2", n % 2 == 0), ("3", n % 3 == 0), ("5", n % 5 == 0)) if ok) or "无"
    return _w(f"{n} 是 2、3、5 中哪些数的倍数？", answer, 1.0)


def _primes(rng: Rng, kp: KPDef) -> Draft:
    n = _i(rng, 11, 99)
    is_prime = all(n % d for d in range(2, math.isqrt(n) + 1))
    return _w(f"{n} 是质数还是合数？", "质数" if is_prime else "合数", 1.0)


def _order_ops(rng: Rng, kp: KPDef) -> Draft:
    a, b, c = _i(rng, 10, 90), _i(rng, 2, 9), _i(rng, 2, 9)
    return _w(f"计算：{a} + {b} × {c} = ？", a + b * c, 1.5)


def _rational_add(rng: Rng, kp: KPDef) -> Draft:
    a, b, c = _i(rng, -20, 20), _i(rng, -20, 20), _i(rng, -20, 20)
    return _w(f"计算：({a}) + ({b}) - ({c})", a + b - c, 1.5)


def _like_terms(rng: Rng, kp: KPDef) -> Draft:
    a, b, c = _i(rng, 2, 9), _i(rng, 1, 9), _i(rng, 1, 9)
    return _w(f"化简：{a}x + {b}y - {c}x", f"{a - c}x+{b}y", 1.5)


def _triangle_angles(rng: Rng, kp: KPDef) -> Draft:
    a, b = _i(rng, 20, 80), _i(rng, 20, 80)
    return _w(f"△ABC 中，∠A = {a}°，∠B = {b}°，求 ∠C。", f"{180 - a - b}°", 1.5)


def _polygon(rng: Rng, kp: KPDef) -> Draft:
    n = _i(rng, 5, 12)
    return _w(f"求 {n} 边形的内角和。", f"{(n - 2) * 180}°", 1.5)


def _congruence(rng: Rng, kp: KPDef) -> Draft:
    rule = ["SSS", "SAS", "ASA", "AAS", "HL"][_i(rng, 0, 4)]
    given = {
        "SSS": "AB=DE，BC=EF，AC=DF",
        "SAS": "AB=DE，∠B=∠E，BC=EF",
        "ASA": "∠A=∠D，AB=DE，∠B=∠E",
        "AAS": "∠A=∠D，∠B=∠E，BC=EF",
        "HL": "∠C=∠F=90°，AB=DE，AC=DF",
    }[rule]
    return _w(f"已知 {given}，△ABC ≌ △DEF 的依据是什么？", rule, 2.5)


def _reflection(rng: Rng, kp: KPDef) -> Draft:
    x, y = _i(rng, -9, 9), _i(rng, -9, 9)
    return _w(f"点 P({x},{y}) 关于 x 轴的对称点坐标是？", f"({x},{-y})", 1.0)


def _isosceles(rng: Rng, kp: KPDef) -> Draft:
    top = 2 * _i(rng, 10, 80)
    return _w(f"等腰三角形的顶角为 {top}°，求底角。", f"{(180 - top) // 2}°", 1.5)


def _powers(rng: Rng, kp: KPDef) -> Draft:
    m, n = _i(rng, 2, 9), _i(rng, 2, 9)
    return _w(f"计算：a^{m} · a^{n}", f"a^{m + n}", 1.0)


def _poly_mult(rng: Rng, kp: KPDef) -> Draft:
    a, b = _i(rng, 1, 9), _i(rng, -9, 9)
    return _w(f"计算：(x + {a})(x {'+' if b >= 0 else '-'} {abs(b)})", f"x^2+{a + b}x+{a * b}", 2.5)


def _special(rng: Rng, kp: KPDef) -> Draft:
    a = _i(rng, 2, 9)
    return _w(f"用乘法公式计算：(x + {a})^2", f"x^2+{2 * a}x+{a * a}", 2.0)


def _factorise(rng: Rng, kp: KPDef) -> Draft:
    p, q = _i(rng, -9, 9), _i(rng, -9, 9)
    return _w(f"因式分解：x^2 {p + q:+d}x {p * q:+d}", f"(x{p:+d})(x{q:+d})", 3.0)


def _fraction_defined(rng: Rng, kp: KPDef) -> Draft:
    a = _i(rng, -9, 9)
    return _w(f"当 x 取何值时，分式 1/(x {-a:+d}) 有意义？", f"x≠{a}", 1.5)


def _fraction_ops(rng: Rng, kp: KPDef) -> Draft:
    a, b = _i(rng, 2, 9), _i(rng, 2, 9)
    return _w(f"计算：1/{a} + 1/{b}", _frac(Fraction(1, a) + Fraction(1, b)), 2.0)


def _fraction_eq(rng: Rng, kp: KPDef) -> Draft:
    a, b = _i(rng, 2, 12), _i(rng, 1, 9)
    return _w(f"解分式方程：{a}/(x + {b}) = 1（并检验）", f"x={a - b}", 4.0)


def _surds(rng: Rng, kp: KPDef) -> Draft:
    a, b = _i(rng, 2, 6), [2, 3, 5, 6, 7][_i(rng, 0, 4)]
    return _w(f"化简：√{a * a * b}", f"{a}√{b}", 2.0)


_TRIPLES = [(3, 4, 5), (5, 12, 13), (8, 15, 17), (7, 24, 25), (6, 8, 10), (9, 12, 15), (20, 21, 29)]


def _pythagoras(rng: Rng, kp: KPDef) -> Draft:
    a, b, c = _TRIPLES[_i(rng, 0, len(_TRIPLES) - 1)]
    return _w(f"直角三角形的两条直角边分别为 {a} 和 {b}，求斜边长。", c, 2.0)


def _parallelogram(rng: Rng, kp: KPDef) -> Draft:
    a, b = _i(rng, 3, 15), _i(rng, 3, 15)
    return _w(f"平行四边形 ABCD 中，AB = {a}，BC = {b}，求它的周长。", 2 * (a + b), 1.5)


def _linear_fn(rng: Rng, kp: KPDef) -> Draft:
    k, b = _i(rng, -5, 5) or 1, _i(rng, -9, 9)
    x = _i(rng, -5, 5)
    return _w(f"一次函数 y = {k}x {b:+d}，当 x = {x} 时 y 等于多少？", k * x + b, 1.5)


def _linear_fit(rng: Rng, kp: KPDef) -> Draft:
    k, b = _i(rng, -5, 5) or 2, _i(rng, -9, 9)
    x1, x2 = _i(rng, -4, 0), _i(rng, 1, 5)
    return _w(
        f"一次函数 y = kx + b 的图象经过 ({x1},{k * x1 + b}) 和 ({x2},{k * x2 + b})，求 k 和 b。",
        f"k={k},b={b}",
        4.0,
    )


def _density(rng: Rng, kp: KPDef) -> Draft:
    v, rho = _i(rng, 10, 200), [0.8, 1.0, 2.7, 7.9, 11.3][_i(rng, 0, 4)]
    return _w(f"某物体体积 {v} cm³，质量 {_fmt(v * rho)} g，求其密度（g/cm³）。", _fmt(rho), 2.5)


def _pressure(rng: Rng, kp: KPDef) -> Draft:
    h = _i(rng, 1, 20)
    return _w(f"水深 {h} 米处的液体压强是多少帕？（g 取 10 N/kg）", h * 10_000, 3.0)


def _buoyancy(rng: Rng, kp: KPDef) -> Draft:
    v = _i(rng, 1, 50) * 10
    return _w(
        f"体积为 {v} cm³ 的铁块完全浸没在水中，受到的浮力是多少牛？（g 取 10 N/kg）",
        _fmt(v * 1e-6 * 1000 * 10),
        3.5,
    )


def _solubility(rng: Rng, kp: KPDef) -> Draft:
    solute, water = _i(rng, 5, 40), _i(rng, 60, 200)
    return _w(
        f"把 {solute} 克食盐溶于 {water} 克水中，溶质质量分数是多少？（保留到 0.1%）",
        f"{100 * solute / (solute + water):.1f}%",
        3.0,
    )


def _ohm(rng: Rng, kp: KPDef) -> Draft:
    r, i = _i(rng, 2, 30), _i(rng, 1, 10) / 10
    return _w(f"电阻为 {r} Ω 的导体中通过 {_fmt(i)} A 的电流，它两端的电压是多少伏？", _fmt(r * i), 2.5)


def _circuits(rng: Rng, kp: KPDef) -> Draft:
    i1, i2 = _i(rng, 1, 9) / 10, _i(rng, 1, 9) / 10
    return _w(
        f"并联电路中两条支路的电流分别为 {_fmt(i1)} A 和 {_fmt(i2)} A，干路电流是多少？", _fmt(i1 + i2), 2.5
    )


def _measure(rng: Rng, kp: KPDef) -> Draft:
    a, b = _i(rng, 20, 60), _i(rng, 5, 30)
    return _w(f"量筒中水的体积为 {a} mL，放入石块后为 {a + b} mL，石块体积是多少 cm³？", b, 2.0)


# ---- templated tasks for the other subjects ------------------------------------------------

_CHARS = list("春夏秋冬风雨雪霜山川河湖花草树木鸟兽虫鱼日月星云江海田林桥船")
_WORDS_EN = [
    "red", "blue", "green", "yellow", "cat", "dog", "panda", "rabbit", "apple", "banana",
    "mother", "father", "sister", "brother", "head", "hand", "Monday", "Friday", "kind", "funny",
    "sandwich", "salad", "swim", "dance", "river", "forest", "lake", "mountain", "exercise", "often",
]  # fmt: skip


def _pick(rng: Rng, pool: list[str], n: int, sep: str) -> str:
    return sep.join(pool[int(i)] for i in rng.choice(len(pool), size=n, replace=False))


def _template(kind: str, text: str, minutes: float, needs_parent: bool = False) -> Variant:
    def make(rng: Rng, kp: KPDef) -> Draft:
        return Draft(
            kind,
            text.format(
                name=kp.name,
                chars=_pick(rng, _CHARS, 4, "、"),
                words=_pick(rng, _WORDS_EN, 4, ", "),
                n=_i(rng, 2, 5),
                m=5 * _i(rng, 1, 4),
            ),
            None,
            minutes,
            needs_parent,
        )

    return make


T = _template
GENERATORS: dict[str, list[Variant]] = {
    "add20": [_add(2, 19, None), _oral_add],
    "sub20": [_sub(True), _oral_add],
    "compare100": [_compare(100), T("oral", "从 {n}0 开始数到 100，数给同桌听。", 2.0)],
    "compare10000": [_compare(10_000), T("oral", "读出下面的数并说出它的组成：{n}0{n}{n}", 1.0)],
    "length_unit": [_length, _length_practical],
    "add100": [_add(10, 60, False), _oral_add, _word_add],
    "add100c": [_add(10, 89, True), _oral_add, _word_add],
    "sub100b": [_sub(True), T("oral", "口算 {n}{m} 减 1{n}，说出你是怎么算的。", 1.0)],
    "mixed_add_sub": [_mixed_add_sub, _word_add],
    "angle_basic": [_angle, T("practical", "用纸折出一个直角，再找一找教室外的直角。", 5.0)],
    "mult_meaning": [_times(2, 5), T("practical", "用小棒摆一摆 {n} 个 {m}，说出乘法算式。", 4.0)],
    "times_table_low": [_times(2, 6), T("oral", "背诵 2～6 的乘法口诀。", 3.0), _times_word],
    "times_table_high": [
        _times(7, 9),
        T("oral", "背诵 7～9 的乘法口诀，背给家长听并签字。", 3.0, True),
        _times_word,
    ],
    "clock": [_clock, T("practical", "记录今晚三个时刻（吃饭、洗澡、睡觉）钟面上是几时几分。", 5.0)],
    "combinations": [_combinations, T("practical", "用 {n} 件上衣和 2 条裤子搭配，摆一摆有几种穿法。", 5.0)],
    "div_meaning": [_div_share, _div],
    "div_table": [_div, _div_share],
    "div_remainder": [_div_rem, _div_share],
    "decimal_compare": [_compare(1000), _dec_times_int],
    "order_ops": [_order_ops],
    "dec_times_int": [
        _dec_times_int,
        T("practical", "记录家里 {n} 种商品的单价，算一算各买 3 件要多少钱。", 8.0),
    ],
    "dec_times_dec": [_dec_times_dec],
    "dec_round": [_dec_round],
    "coordinates": [_coordinates],
    "dec_div_int": [_dec_div_int],
    "dec_div_dec": [_dec_div_dec],
    "repeating_dec": [_repeating],
    "probability": [_probability, T("practical", "抛硬币 20 次，记录正面朝上的次数，说说你的发现。", 8.0)],
    "letters": [_letters],
    "linear_eq": [_linear_eq],
    "eq_word": [_eq_word],
    "area_parallelogram": [_area_par],
    "area_triangle": [_area_tri],
    "area_trapezoid": [_area_trap],
    "area_composite": [_area_comp, T("practical", "量一量自己房间的地面，画出平面图并估算面积。", 12.0)],
    "tree_planting": [_trees],
    "factors": [_factors],
    "divisibility": [_divisibility],
    "primes": [_primes],
    "rational_add": [_rational_add],
    "linear_eq7": [_linear_eq],
    "like_terms": [_like_terms],
    "triangle_angles": [_triangle_angles],
    "polygon_angles": [_polygon],
    "congruence": [_congruence],
    "reflection": [_reflection],
    "isosceles": [_isosceles],
    "powers": [_powers],
    "poly_mult": [_poly_mult],
    "special_products": [_special],
    "factorise": [_factorise],
    "fraction_defined": [_fraction_defined],
    "fraction_ops": [_fraction_ops],
    "fraction_eq": [_fraction_eq],
    "surds": [_surds],
    "pythagoras": [
        _pythagoras,
        T("practical", "量出一个长方形桌面的长和宽，用勾股定理算出对角线，再量一量验证。", 10.0),
    ],
    "parallelogram": [_parallelogram],
    "linear_fn": [_linear_fn, T("written", "在坐标纸上画出一次函数 y = {n}x - {m} 的图象。", 6.0)],
    "linear_fn_fit": [_linear_fit],
    "density": [_density, T("practical", "用家里的量杯和电子秤测一测一个土豆的密度，写出步骤。", 15.0, True)],
    "pressure": [_pressure],
    "buoyancy": [_buoyancy, T("practical", "把鸡蛋放入清水和浓盐水中，观察沉浮并解释原因。", 12.0)],
    "solubility": [_solubility],
    "ohm": [_ohm],
    "circuits": [_circuits],
    "measure": [_measure],
    # 语文
    "pinyin": [T("oral", "拼读本课音节卡片 {n} 遍。", 4.0)],
    "characters": [
        T("written", "看拼音写词语：{chars}（每个写两遍）", 6.0),
        T("oral", "认读生字：{chars}，并各组两个词说给同学听。", 4.0),
        T("written", "用“{chars}”中的两个字各写一句话。", 8.0),
    ],
    "read_text": [
        T("reading", "有感情地朗读课文《{name}》{n} 遍。", 8.0),
        T("oral", "给家人讲一讲《{name}》的故事。", 6.0),
        T("written", "读《{name}》，摘抄你喜欢的 {n} 个句子。", 10.0),
    ],
    "poem": [
        T("oral", "背诵《{name}》。", 6.0),
        T("written", "默写《{name}》。", 6.0),
        T("oral", "背诵《{name}》，请家长听背并签字。", 6.0, True),
    ],
    "radicals": [T("written", "用部首查字法查出“{chars}”的部首和页码。", 8.0)],
    "speaking": [T("oral", "和家人商量一件事（如周末安排），把经过说给同学听。", 6.0)],
    "picture_writing": [T("written", "看图写话：写 {n} 句话，说清图上有谁、在做什么。", 15.0)],
    "reading_comp": [
        T("reading", "阅读与《{name}》相关的短文一篇，完成 {n} 道阅读理解题。", 15.0),
        T("written", "概括《{name}》相关段落的主要意思（不超过 50 字）。", 10.0),
    ],
    "summary_writing": [T("written", "把《{name}》缩写成 300 字左右的短文。", 25.0)],
    "essay": [
        T("written", "习作：{name}（400 字左右）。", 35.0),
        T("written", "为习作“{name}”列提纲。", 10.0),
    ],
    "idioms": [T("written", "用“{chars}”相关的成语各写一句话，共 {n} 句。", 10.0)],
    "classical": [
        T("oral", "朗读并背诵《{name}》第 {n} 段。", 10.0),
        T("written", "解释《{name}》中 {n} 个加点字的意思。", 10.0),
        T("written", "翻译《{name}》中的 2 个句子。", 12.0),
    ],
    "grammar": [T("written", "把 {n} 组打乱顺序的句子排成连贯的语段。", 8.0)],
    "reading_book": [T("reading", "阅读名著 {m} 页，写一条读书笔记。", 25.0)],
    # 英语
    "words": [
        T("oral", "跟读单词：{words}，每个读 3 遍。", 4.0),
        T("written", "默写单词：{words}", 5.0),
        T("reading", "读一读含有 {words} 的英文小绘本。", 10.0),
    ],
    "sentence": [
        T("oral", "用本课句型和家人做 {n} 轮英语问答。", 6.0),
        T("written", "仿照例句，用 {words} 写 {n} 个句子。", 8.0),
    ],
    "song": [T("oral", "学唱本课英文儿歌，唱给家人听。", 5.0)],
    "tense": [
        T("written", "用所给动词的正确形式填空（{n} 题）：{words}", 8.0),
        T("written", "把 {n} 个句子改写成本课时态。", 10.0),
    ],
    "grammar_en": [
        T("written", "语法练习：{name}，完成 {n} 道选择题。", 8.0),
        T("written", "用 {words} 和“{name}”造句 {n} 个。", 10.0),
    ],
    "read_en": [
        T("reading", "阅读英语短文一篇，回答 {n} 个问题。", 12.0),
        T("oral", "朗读课文对话 {n} 遍。", 6.0),
    ],
    "writing_en": [T("written", "英语写作：{name}（60 词左右）。", 25.0)],
    # 科学
    "concept_sci": [
        T("written", "完成“{name}”的概念辨析题 {n} 道。", 8.0),
        T("reading", "阅读科普短文《{name}》并写出 2 个你的疑问。", 12.0),
    ],
    "observe": [
        T("practical", "观察日记：连续观察并记录“{name}”相关现象 {n} 次。", 12.0),
        T("written", "整理“{name}”的观察记录表。", 8.0),
    ],
    # 体育
    "exercise": [
        T("physical", "跳绳 {m} 分钟，记录个数。", 10.0),
        T("physical", "仰卧起坐或开合跳 {n} 组，每组 15 个。", 10.0),
        T("physical", "和家长一起完成 {m} 分钟亲子游戏并签字。", 15.0, True),
    ],
}
