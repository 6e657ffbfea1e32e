"""The synthetic school's curriculum: knowledge points per subject and grade, in textbook order.

Names follow the usual 人教版 sequence. Each grade also lists a few knowledge points of the grade
before (taught last school year) that its first units build on. `gen` names the item generator.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KPDef:
    subject: str
    grade: int
    unit: str
    name: str
    gen: str  # which item generator makes its exercises
    difficulty: float  # the hidden ground truth's mean item difficulty (logit scale)


def _kps(subject: str, grade: int, rows: list[tuple[str, str, str, float]]) -> list[KPDef]:
    return [KPDef(subject, grade, unit, name, gen, diff) for unit, name, gen, diff in rows]


CURRICULUM: list[KPDef] = [
    # ---- 数学 ----
    *_kps(
        "math",
        1,
        [
            ("8.1", "20以内的进位加法", "add20", -1.2),
            ("6.1", "20以内的退位减法", "sub20", -1.0),
            ("4.1", "100以内数的认识", "compare100", -1.1),
        ],
    ),
    *_kps(
        "math",
        2,
        [
            ("1.1", "认识厘米和米", "length_unit", -0.9),
            ("1.2", "用尺子量长度", "length_unit", -0.7),
            ("2.1", "两位数加两位数（不进位）", "add100", -0.8),
            ("2.2", "两位数加两位数（进位）", "add100c", -0.5),
            ("2.3", "两位数减两位数（退位）", "sub100b", -0.3),
            ("2.4", "连加、连减和加减混合", "mixed_add_sub", 0.0),
            ("3.1", "认识角", "angle_basic", -0.6),
            ("4.1", "乘法的初步认识", "mult_meaning", -0.7),
            ("4.2", "2～6的乘法口诀", "times_table_low", -0.5),
            ("6.1", "7～9的乘法口诀", "times_table_high", 0.1),
            ("7.1", "认识时间（几时几分）", "clock", -0.2),
            ("8.1", "数学广角：简单的搭配", "combinations", 0.3),
            ("9.1", "除法的初步认识（平均分）", "div_meaning", -0.2),
            ("9.2", "用2～6的乘法口诀求商", "div_table", 0.0),
            ("10.1", "有余数的除法", "div_remainder", 0.4),
            ("11.1", "万以内数的认识", "compare10000", 0.1),
        ],
    ),
    *_kps(
        "math",
        4,
        [
            ("4.1", "小数的意义和性质", "decimal_compare", -0.4),
            ("4.2", "四则运算顺序", "order_ops", -0.2),
            ("4.3", "运算定律", "order_ops", 0.0),
        ],
    ),
    *_kps(
        "math",
        5,
        [
            ("1.1", "小数乘整数", "dec_times_int", -0.5),
            ("1.2", "小数乘小数", "dec_times_dec", -0.1),
            ("1.3", "积的近似数", "dec_round", 0.2),
            ("2.1", "用数对确定位置", "coordinates", -0.6),
            ("3.1", "除数是整数的小数除法", "dec_div_int", 0.0),
            ("3.2", "一个数除以小数", "dec_div_dec", 0.4),
            ("3.3", "循环小数", "repeating_dec", 0.5),
            ("4.1", "可能性", "probability", -0.3),
            ("5.1", "用字母表示数", "letters", 0.0),
            ("5.2", "解简易方程", "linear_eq", 0.3),
            ("5.3", "列方程解决实际问题", "eq_word", 0.8),
            ("6.1", "平行四边形的面积", "area_parallelogram", -0.1),
            ("6.2", "三角形的面积", "area_triangle", 0.1),
            ("6.3", "梯形的面积", "area_trapezoid", 0.4),
            ("6.4", "组合图形的面积", "area_composite", 0.9),
            ("7.1", "数学广角：植树问题", "tree_planting", 0.8),
            ("8.1", "因数与倍数", "factors", 0.2),
            ("8.2", "2、3、5的倍数特征", "divisibility", 0.0),
            ("8.3", "质数和合数", "primes", 0.4),
        ],
    ),
    *_kps(
        "math",
        7,
        [
            ("1.1", "有理数的加减混合运算", "rational_add", -0.3),
            ("3.1", "一元一次方程", "linear_eq7", 0.0),
            ("2.1", "整式的加减", "like_terms", 0.0),
        ],
    ),
    *_kps(
        "math",
        8,
        [
            ("11.1", "三角形的内角和", "triangle_angles", -0.4),
            ("11.2", "多边形的内角和", "polygon_angles", 0.0),
            ("12.1", "全等三角形的判定", "congruence", 0.5),
            ("13.1", "轴对称与坐标", "reflection", 0.0),
            ("13.2", "等腰三角形的性质", "isosceles", 0.3),
            ("14.1", "同底数幂的乘法", "powers", -0.2),
            ("14.2", "整式的乘法", "poly_mult", 0.2),
            ("14.3", "乘法公式", "special_products", 0.5),
            ("14.4", "因式分解", "factorise", 0.8),
            ("15.1", "分式的意义", "fraction_defined", 0.1),
            ("15.2", "分式的运算", "fraction_ops", 0.6),
            ("15.3", "分式方程", "fraction_eq", 0.9),
            ("16.1", "二次根式的化简", "surds", 0.5),
            ("17.1", "勾股定理", "pythagoras", 0.2),
            ("18.1", "平行四边形的判定", "parallelogram", 0.6),
            ("19.1", "一次函数的图象", "linear_fn", 0.4),
            ("19.2", "待定系数法求一次函数", "linear_fn_fit", 0.8),
        ],
    ),
    # ---- 语文 ----
    *_kps(
        "chinese",
        1,
        [
            ("1.1", "汉语拼音", "pinyin", -1.0),
            ("2.1", "识字与写字（一年级）", "characters", -0.8),
        ],
    ),
    *_kps(
        "chinese",
        2,
        [
            ("1.1", "识字：场景歌", "characters", -0.6),
            ("1.2", "识字：树之歌", "characters", -0.5),
            ("2.1", "课文：小蝌蚪找妈妈", "read_text", -0.7),
            ("2.2", "课文：我是什么", "read_text", -0.6),
            ("3.1", "古诗二首：登鹳雀楼", "poem", -0.4),
            ("3.2", "古诗二首：望庐山瀑布", "poem", -0.3),
            ("4.1", "偏旁部首查字法", "radicals", -0.2),
            ("5.1", "课文：坐井观天", "read_text", -0.4),
            ("5.2", "课文：寒号鸟", "read_text", -0.3),
            ("6.1", "口语交际：商量", "speaking", -0.2),
            ("7.1", "课文：雾在哪里", "read_text", -0.2),
            ("8.1", "看图写话", "picture_writing", 0.3),
        ],
    ),
    *_kps(
        "chinese",
        4,
        [
            ("1.1", "古诗词积累（四年级）", "poem", -0.3),
            ("2.1", "段落大意", "reading_comp", 0.0),
        ],
    ),
    *_kps(
        "chinese",
        5,
        [
            ("1.1", "课文：白鹭", "read_text", -0.4),
            ("1.2", "课文：落花生", "read_text", -0.3),
            ("2.1", "古诗三首：蝉", "poem", -0.2),
            ("2.2", "古诗三首：山居秋暝", "poem", 0.1),
            ("3.1", "民间故事：猎人海力布", "reading_comp", 0.0),
            ("3.2", "缩写故事", "summary_writing", 0.5),
            ("4.1", "古诗词：示儿", "poem", 0.2),
            ("4.2", "课文：圆明园的毁灭", "read_text", 0.1),
            ("5.1", "说明文：太阳", "reading_comp", 0.2),
            ("5.2", "介绍一种事物", "essay", 0.6),
            ("6.1", "课文：慈母情深", "read_text", 0.0),
            ("6.2", "习作：我想对您说", "essay", 0.7),
            ("7.1", "古诗词三首：枫桥夜泊", "poem", 0.3),
            ("8.1", "课文：古人谈读书", "reading_comp", 0.6),
            ("8.2", "成语积累与运用", "idioms", 0.2),
        ],
    ),
    *_kps(
        "chinese",
        7,
        [
            ("1.1", "现代文阅读：记叙文", "reading_comp", 0.0),
            ("2.1", "文言文入门", "classical", 0.4),
        ],
    ),
    *_kps(
        "chinese",
        8,
        [
            ("1.1", "新闻阅读：消息二则", "reading_comp", 0.0),
            ("1.2", "新闻写作", "essay", 0.5),
            ("2.1", "回忆性散文：藤野先生", "read_text", 0.2),
            ("2.2", "传记阅读", "reading_comp", 0.3),
            ("3.1", "文言文：三峡", "classical", 0.5),
            ("3.2", "文言文：答谢中书书", "classical", 0.6),
            ("3.3", "古诗词：野望", "poem", 0.2),
            ("4.1", "散文：背影", "read_text", 0.1),
            ("4.2", "语言要连贯", "grammar", 0.4),
            ("5.1", "说明文：中国石拱桥", "reading_comp", 0.4),
            ("5.2", "说明事物要抓住特征", "essay", 0.7),
            ("6.1", "文言文：《孟子》三章", "classical", 0.9),
            ("6.2", "古诗词：渡荆门送别", "poem", 0.4),
            ("7.1", "名著导读：《红星照耀中国》", "reading_book", 0.3),
        ],
    ),
    # ---- 英语 ----
    *_kps(
        "english",
        1,
        [
            ("1.1", "字母与问候语", "words", -1.0),
        ],
    ),
    *_kps(
        "english",
        2,
        [
            ("1.1", "Colours 颜色词", "words", -0.7),
            ("1.2", "Numbers 1-10", "words", -0.6),
            ("2.1", "Animals 动物词汇", "words", -0.5),
            ("2.2", "Fruit 水果词汇", "words", -0.5),
            ("3.1", "I like... 句型", "sentence", -0.3),
            ("3.2", "Family 家庭成员", "words", -0.4),
            ("4.1", "英文儿歌", "song", -0.5),
            ("4.2", "Body 身体部位", "words", -0.4),
        ],
    ),
    *_kps(
        "english",
        4,
        [
            ("1.1", "四年级核心词汇", "words", -0.4),
            ("2.1", "一般现在时", "tense", 0.0),
        ],
    ),
    *_kps(
        "english",
        5,
        [
            ("1.1", "What's he like? 描述人物", "sentence", -0.2),
            ("1.2", "形容词描述", "words", -0.2),
            ("2.1", "My week 星期", "words", -0.3),
            ("2.2", "What do you have on Mondays?", "sentence", 0.0),
            ("3.1", "What would you like? 食物", "sentence", 0.0),
            ("3.2", "可数与不可数名词", "grammar_en", 0.4),
            ("4.1", "What can you do? 能力", "sentence", 0.1),
            ("4.2", "情态动词 can", "grammar_en", 0.2),
            ("5.1", "There is / There are", "grammar_en", 0.4),
            ("5.2", "方位介词", "words", 0.2),
            ("6.1", "In a nature park", "read_en", 0.3),
            ("6.2", "英语短文写作", "writing_en", 0.7),
        ],
    ),
    *_kps(
        "english",
        7,
        [
            ("1.1", "一般过去时", "tense", 0.1),
            ("2.1", "七年级核心词汇", "words", -0.2),
        ],
    ),
    *_kps(
        "english",
        8,
        [
            ("1.1", "Where did you go on vacation? 一般过去时", "tense", 0.1),
            ("1.2", "不定代词", "grammar_en", 0.3),
            ("2.1", "How often do you exercise? 频度副词", "grammar_en", 0.2),
            ("3.1", "比较级", "grammar_en", 0.4),
            ("3.2", "I'm more outgoing than my sister", "read_en", 0.3),
            ("4.1", "最高级", "grammar_en", 0.5),
            ("5.1", "Do you want to watch a game show? 动词不定式", "grammar_en", 0.6),
            ("6.1", "be going to 表示将来", "tense", 0.4),
            ("6.2", "My New Year's resolutions 写作", "writing_en", 0.8),
            ("7.1", "will 一般将来时", "tense", 0.5),
            ("8.1", "How do you make a banana milk shake? 祈使句", "read_en", 0.4),
            ("8.2", "八年级核心词汇", "words", 0.1),
        ],
    ),
    # ---- 科学（初中，浙教版） ----
    *_kps(
        "science",
        7,
        [
            ("1.1", "科学测量：长度和体积", "measure", -0.2),
            ("2.1", "观察生物", "observe", -0.3),
        ],
    ),
    *_kps(
        "science",
        8,
        [
            ("1.1", "地球上的水", "concept_sci", -0.3),
            ("1.2", "水的组成", "concept_sci", -0.1),
            ("1.3", "水的密度", "density", 0.3),
            ("1.4", "水的压强", "pressure", 0.6),
            ("1.5", "浮力", "buoyancy", 0.8),
            ("1.6", "物质在水中的分散状况", "concept_sci", 0.1),
            ("1.7", "物质在水中的溶解", "solubility", 0.5),
            ("2.1", "大气层", "concept_sci", -0.1),
            ("2.2", "气温", "observe", 0.0),
            ("2.3", "大气的压强", "pressure", 0.6),
            ("2.4", "风和降水", "observe", 0.1),
            ("3.1", "植物生命活动的调节", "concept_sci", 0.2),
            ("3.2", "人体的激素调节", "concept_sci", 0.4),
            ("4.1", "电荷与电流", "circuits", 0.4),
            ("4.2", "电流的测量", "circuits", 0.6),
            ("4.3", "欧姆定律", "ohm", 0.9),
        ],
    ),
    # ---- 体育家庭作业（小学，C7） ----
    *_kps(
        "pe",
        2,
        [
            ("1.1", "跳绳", "exercise", -1.0),
            ("1.2", "亲子游戏与身体协调", "exercise", -0.9),
        ],
    ),
    *_kps(
        "pe",
        5,
        [
            ("1.1", "跳绳与耐力", "exercise", -0.8),
            ("1.2", "仰卧起坐与核心力量", "exercise", -0.6),
        ],
    ),
]
