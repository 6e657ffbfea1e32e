"""The data contract: jianfu's records, their columns and how a raw value becomes a typed one.

This module is the authority on what a knowledge point, an item, a school, a class, a student,
teaching progress, a calendar day, an attempt (homework log) and an error-book entry are. File
import and the API both validate through `validate_record`, so a value refused by one is refused
by the other with the same words. It never touches files, the database or HTTP.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from operator import attrgetter
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "Asia/Shanghai"
MAX_ATTEMPT_SECONDS = 6 * 3600
MAX_TEXT = 4000

SUBJECTS: dict[str, str] = {
    "chinese": "语文",
    "math": "数学",
    "english": "英语",
    "science": "科学",
    "morality": "道德与法治",
    "pe": "体育",
    "art": "艺术",
}
SUBJECTS_EN: dict[str, str] = {
    "chinese": "Chinese", "math": "Maths", "english": "English", "science": "Science",
    "morality": "Morality and law", "pe": "PE", "art": "Art",
}  # fmt: skip
WEEKDAYS: tuple[tuple[str, str], ...] = (
    ("周一", "Monday"), ("周二", "Tuesday"), ("周三", "Wednesday"), ("周四", "Thursday"),
    ("周五", "Friday"), ("周六", "Saturday"), ("周日", "Sunday"),
)  # fmt: skip
ITEM_KINDS: dict[str, str] = {
    "written": "书面",
    "oral": "口头",
    "reading": "阅读",
    "practical": "实践",
    "physical": "体育锻炼",
}
ERROR_TYPES: dict[str, str] = {
    "concept": "概念不清",
    "calculation": "计算错误",
    "careless": "粗心",
    "reading": "审题不清",
    "memory": "记忆错误",
    "other": "其他",
}
DAY_TYPES: dict[str, str] = {"school_day": "上学日", "weekend": "周末", "holiday": "节假日"}
ATTEMPT_SOURCES: dict[str, str] = {"app": "应用", "paper": "纸质", "teacher": "教师录入", "import": "导入"}


class FieldError(ValueError):
    """A value that does not fit its column, said in Chinese and in English."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en


@dataclass(frozen=True, slots=True)
class RecordProblem:
    """One thing wrong with the input, located as precisely as the input allows."""

    file: str
    row: int | None
    column: str | None
    zh: str
    en: str
    sheet: str | None = None  # in an Excel workbook: the sheet, and the cell (C14, A1:B1, 14:14)
    cell: str | None = None

    def where(self, file: str | None = None) -> str:
        """`file:row:column`, or in a workbook `file:sheet!cell` (`students.xlsx:学生!C14`); `file`
        in place of the problem's own (a name without its folder)."""
        where = self.file if file is None else file
        if self.sheet is not None:
            quoted = (
                self.sheet if _BARE_SHEET.fullmatch(self.sheet) else "'" + self.sheet.replace("'", "''") + "'"
            )
            return where + f":{quoted}" + (f"!{self.cell}" if self.cell is not None else "")
        where += f":{self.row}" if self.row is not None else ""
        return where + (f":{self.column}" if self.column is not None else "")

    def __str__(self) -> str:
        return f"{self.where()}: {self.zh} / {self.en}"


_BARE_SHEET = re.compile(r"[^\W\d]\w*")  # a sheet name a reference writes without quotes (学生, Sheet1)


# ----------------------------------------------------------------------------------------------
# Value parsers. Each takes a raw value (a CSV string, or a JSON / Parquet value) and returns a
# typed value or raises FieldError. Blank strings never reach them: the caller treats those as
# missing.


TRUE_WORDS = {"1", "true", "t", "yes", "y", "是", "对", "√", "正确"}
FALSE_WORDS = {"0", "false", "f", "no", "n", "否", "错", "×", "错误"}
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}")
# A mainland resident ID (18 digits, last may be X) or mobile number is never a pseudonymous id.
_REAL_IDENTITY_RE = re.compile(r"\d{17}[\dXx]|1[3-9]\d{9}")


def parse_id(value: Any) -> str:
    text = value if type(value) is str and _ID_RE.fullmatch(value) else str(value).strip()
    if not _ID_RE.fullmatch(text):
        raise FieldError(
            f"标识符 {text[:40]!r} 无效：只能含字母、数字和 _ . : -，以字母或数字开头，最长 64 个字符",
            f"invalid id {text[:40]!r}: letters, digits and _ . : - only, starting with a letter "
            "or digit, at most 64 characters",
        )
    return text


def parse_pseudonymous_id(value: Any) -> str:
    text = parse_id(value)
    if _REAL_IDENTITY_RE.fullmatch(text):
        raise FieldError(
            "学生标识看起来像身份证号或手机号；请使用化名标识（学生是未成年人）",
            "student id looks like a national ID or phone number; use a pseudonymous id "
            "(students are minors)",
        )
    return text


def parse_id_list(value: Any) -> tuple[str, ...]:
    parts = value if isinstance(value, list | tuple) else re.split(r"[;；|]", str(value))
    ids = tuple(parse_id(p) for p in parts if str(p).strip())
    if len(set(ids)) != len(ids):
        raise FieldError("列表中有重复的标识", "the list repeats an id")
    return ids


def text_parser(max_len: int = 200) -> Callable[[Any], str]:
    def parse_text(value: Any) -> str:
        text = str(value).strip()
        if len(text) > max_len:
            raise FieldError(
                f"文本过长：{len(text)} 个字符，最多 {max_len} 个",
                f"text too long: {len(text)} characters, at most {max_len}",
            )
        return text

    return parse_text


def integer_parser(lo: int, hi: int, unit: tuple[str, str] = ("", "")) -> Callable[[Any], int]:
    def parse_integer(value: Any) -> int:
        if isinstance(value, bool):
            raise FieldError(f"应为整数，得到 {value!r}", f"expected a whole number, got {value!r}")
        if isinstance(value, int):
            number = value
        elif type(value) is str and value.isdigit():
            number = int(value)
        else:
            text = str(value).strip()
            try:
                as_float = float(text)
            except ValueError:
                raise FieldError(
                    f"应为整数，得到 {text[:40]!r}", f"expected a whole number, got {text[:40]!r}"
                ) from None
            if not math.isfinite(as_float) or as_float != int(as_float):
                raise FieldError(
                    f"应为整数，得到 {text[:40]!r}", f"expected a whole number, got {text[:40]!r}"
                )
            number = int(as_float)
        if not lo <= number <= hi:
            raise FieldError(
                f"应在 {lo} 到 {hi}{unit[0]} 之间，得到 {number}",
                f"must be between {lo} and {hi}{unit[1]}, got {number}",
            )
        return number

    return parse_integer


def number_parser(lo: float, hi: float, *, lo_open: bool = False) -> Callable[[Any], float]:
    def parse_number(value: Any) -> float:
        if isinstance(value, bool):
            raise FieldError(f"应为数字，得到 {value!r}", f"expected a number, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise FieldError(
                f"应为数字，得到 {str(value)[:40]!r}", f"expected a number, got {str(value)[:40]!r}"
            ) from None
        too_low = number <= lo if lo_open else number < lo
        if not math.isfinite(number) or too_low or number > hi:
            bracket = "(" if lo_open else "["
            raise FieldError(
                f"应在 {bracket}{lo:g}, {hi:g}] 之间，得到 {number:g}",
                f"must be in {bracket}{lo:g}, {hi:g}], got {number:g}",
            )
        return number

    return parse_number


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise FieldError(
        f"应为 0/1（或 true/false、是/否），得到 {text[:40]!r}",
        f"expected 0/1 (or true/false), got {text[:40]!r}",
    )


def parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip().replace("/", "-")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FieldError(
            f"应为日期 YYYY-MM-DD，得到 {text[:40]!r}", f"expected a date YYYY-MM-DD, got {text[:40]!r}"
        ) from None


def parse_timestamp(value: Any, default_tz: tzinfo) -> datetime:
    """A moment in time. Without an offset it is read in the school's time zone; the offset is kept."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip().replace("/", "-")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise FieldError(
                f"应为时间 YYYY-MM-DDTHH:MM:SS+08:00，得到 {text[:40]!r}",
                f"expected a timestamp YYYY-MM-DDTHH:MM:SS+08:00, got {text[:40]!r}",
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=default_tz)
    elif type(moment.tzinfo) is timezone:
        return moment  # already a fixed offset: keep it as written
    offset = moment.utcoffset()
    assert offset is not None
    # Keep the offset the moment had then (a fixed offset, not a zone name that may change).
    return moment.astimezone(fixed_offset(offset))


@lru_cache(maxsize=64)
def fixed_offset(offset: timedelta) -> timezone:
    return timezone(offset)


def choice_parser(choices: Mapping[str, str], what_zh: str, what_en: str) -> Callable[[Any], str]:
    by_label = {label: code for code, label in choices.items()}

    def parse_choice(value: Any) -> str:
        text = str(value).strip()
        if text.lower() in choices:
            return text.lower()
        if text in by_label:
            return by_label[text]
        allowed = ", ".join(choices)
        raise FieldError(
            f"未知的{what_zh} {text[:40]!r}；可选：{allowed}",
            f"unknown {what_en} {text[:40]!r}; expected one of: {allowed}",
        )

    return parse_choice


def parse_timezone(value: Any) -> str:
    text = str(value).strip()
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise FieldError(
            f"未知的时区 {text[:40]!r}（例如 Asia/Shanghai）",
            f"unknown time zone {text[:40]!r} (e.g. Asia/Shanghai)",
        ) from None
    return text


parse_subject = choice_parser(SUBJECTS, "学科", "subject")
parse_kind = choice_parser(ITEM_KINDS, "题目类型", "item kind")
parse_error_type = choice_parser(ERROR_TYPES, "错因", "error type")
parse_day_type = choice_parser(DAY_TYPES, "日期类型", "day type")
parse_source = choice_parser(ATTEMPT_SOURCES, "来源", "source")
parse_grade = integer_parser(1, 12)
parse_unit = text_parser(20)


# ----------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True, slots=True)
class School:
    school_id: str
    name: str
    region: str
    policy: str | None = None
    timezone: str = DEFAULT_TIMEZONE


@dataclass(frozen=True, slots=True)
class KnowledgePoint:
    kp_id: str
    subject: str
    grade: int
    unit: str
    order: int
    name: str
    prerequisites: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Item:
    item_id: str
    subject: str
    kp_ids: tuple[str, ...]
    grade: int
    kind: str
    stem: str
    needs_parent: bool = False
    dup_group: str | None = None
    est_minutes: float | None = None
    answer: str | None = None


@dataclass(frozen=True, slots=True)
class SchoolClass:
    class_id: str
    school_id: str
    grade: int
    name: str
    subjects: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Student:
    student_id: str
    class_id: str
    display_name: str | None = None
    personal_cap_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class TeachingProgress:
    class_id: str
    subject: str
    kp_id: str
    taught_on: date


@dataclass(frozen=True, slots=True)
class CalendarDay:
    school_id: str
    day: date
    day_type: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    event_id: str
    student_id: str
    item_id: str
    night: date
    submitted_at: datetime
    correct: bool
    seconds: int | None = None
    score: float | None = None
    source: str = "app"


@dataclass(frozen=True, slots=True)
class ErrorBookEntry:
    entry_id: str
    student_id: str
    item_id: str
    created_at: datetime
    error_type: str = "other"
    resolved_at: datetime | None = None
    event_id: str | None = None


Record = (
    School | KnowledgePoint | Item | SchoolClass | Student | TeachingProgress | CalendarDay | Attempt
) | ErrorBookEntry


# ----------------------------------------------------------------------------------------------
# What the validator knows about the world while it checks a record: ids already in the
# database or earlier in the same import, and the clock.


@lru_cache(maxsize=64)
def _zone(name: str) -> tzinfo:
    return ZoneInfo(name)


@dataclass
class Known:
    schools: dict[str, str] = field(default_factory=dict)  # school_id -> time zone name
    kp_subjects: dict[str, str] = field(default_factory=dict)  # kp_id -> subject
    kp_prerequisites: dict[str, tuple[str, ...]] = field(default_factory=dict)
    item_subjects: dict[str, str] = field(default_factory=dict)  # item_id -> subject
    class_schools: dict[str, str] = field(default_factory=dict)  # class_id -> school_id
    class_subjects: dict[str, tuple[str, ...]] = field(default_factory=dict)
    student_classes: dict[str, str] = field(default_factory=dict)  # student_id -> class_id
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    # How far ahead of `now` a timestamp may be before it counts as "in the future" (clock skew).
    future_tolerance: timedelta = timedelta(minutes=10)

    def student_timezone(self, student_id: str) -> tzinfo:
        school = self.class_schools.get(self.student_classes.get(student_id, ""), "")
        return _zone(self.schools.get(school, DEFAULT_TIMEZONE))

    def remember(self, record: Record) -> None:
        """Make a record that passed validation visible to the records checked after it."""
        match record:
            case School():
                self.schools[record.school_id] = record.timezone
            case KnowledgePoint():
                self.kp_subjects[record.kp_id] = record.subject
                self.kp_prerequisites[record.kp_id] = record.prerequisites
            case Item():
                self.item_subjects[record.item_id] = record.subject
            case SchoolClass():
                self.class_schools[record.class_id] = record.school_id
                self.class_subjects[record.class_id] = record.subjects
            case Student():
                self.student_classes[record.student_id] = record.class_id


# ----------------------------------------------------------------------------------------------
# Record specifications: columns, keys and the checks that need more than one value.


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[Any], Any]
    required: bool = True
    zh: str = ""


Check = Callable[[Any, Known], list[tuple[str, FieldError]]]


@dataclass(frozen=True)
class RecordSpec:
    kind: str
    record: type
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    zh: str
    checks: tuple[Check, ...] = ()
    # Field names whose values are timestamps read in the school's time zone.
    timestamps: tuple[str, ...] = ()
    # Records that can never change once written (the homework log); others are upserted.
    immutable: bool = False

    KINDS: ClassVar[dict[str, RecordSpec]] = {}

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def key_of(self, record: Any) -> tuple[Any, ...]:
        return tuple(getattr(record, k) for k in self.key)


def _unknown(column: str, what_zh: str, what_en: str, value: str) -> tuple[str, FieldError]:
    return column, FieldError(f"未知的{what_zh} {value!r}", f"unknown {what_en} {value!r}")


def _check_kp(kp: KnowledgePoint, known: Known) -> list[tuple[str, FieldError]]:
    # Prerequisites may be defined further down the same file: check_knowledge_graph looks at
    # them once the whole file is read.
    if kp.kp_id in kp.prerequisites:
        return [
            (
                "prerequisites",
                FieldError("知识点不能以自己为前置", "a knowledge point cannot be its own prerequisite"),
            )
        ]
    return []


def _check_item(item: Item, known: Known) -> list[tuple[str, FieldError]]:
    out = []
    if not item.kp_ids:
        out.append(("kp_ids", FieldError("至少需要一个知识点", "at least one knowledge point is required")))
    for kp in item.kp_ids:
        subject = known.kp_subjects.get(kp)
        if subject is None:
            out.append(_unknown("kp_ids", "知识点", "knowledge point", kp))
        elif subject != item.subject:
            out.append(
                (
                    "kp_ids",
                    FieldError(
                        f"知识点 {kp} 属于{SUBJECTS[subject]}，题目属于{SUBJECTS[item.subject]}",
                        f"knowledge point {kp} is {subject}, the item is {item.subject}",
                    ),
                )
            )
    return out


def _check_class(cls: SchoolClass, known: Known) -> list[tuple[str, FieldError]]:
    if cls.school_id not in known.schools:
        return [_unknown("school_id", "学校", "school", cls.school_id)]
    if not cls.subjects:
        return [("subjects", FieldError("至少需要一个学科", "at least one subject is required"))]
    return []


def _check_student(student: Student, known: Known) -> list[tuple[str, FieldError]]:
    if student.class_id not in known.class_schools:
        return [_unknown("class_id", "班级", "class", student.class_id)]
    return []


def _check_progress(row: TeachingProgress, known: Known) -> list[tuple[str, FieldError]]:
    out = []
    if row.class_id not in known.class_schools:
        out.append(_unknown("class_id", "班级", "class", row.class_id))
    subject = known.kp_subjects.get(row.kp_id)
    if subject is None:
        out.append(_unknown("kp_id", "知识点", "knowledge point", row.kp_id))
    elif subject != row.subject:
        out.append(
            (
                "kp_id",
                FieldError(
                    f"知识点 {row.kp_id} 不属于该学科", f"knowledge point {row.kp_id} is not {row.subject}"
                ),
            )
        )
    return out


def _check_calendar(day: CalendarDay, known: Known) -> list[tuple[str, FieldError]]:
    if day.school_id not in known.schools:
        return [_unknown("school_id", "学校", "school", day.school_id)]
    return []


def _future(column: str, moment: datetime, known: Known) -> list[tuple[str, FieldError]]:
    if moment > known.now + known.future_tolerance:
        return [
            (
                column,
                FieldError(
                    f"时间 {moment.isoformat()} 在未来", f"timestamp {moment.isoformat()} is in the future"
                ),
            )
        ]
    return []


def _check_attempt(attempt: Attempt, known: Known) -> list[tuple[str, FieldError]]:
    out = []
    if attempt.student_id not in known.student_classes:
        out.append(_unknown("student_id", "学生", "student", attempt.student_id))
    if attempt.item_id not in known.item_subjects:
        out.append(_unknown("item_id", "题目", "item", attempt.item_id))
    out += _future("submitted_at", attempt.submitted_at, known)
    local_day = attempt.submitted_at.astimezone(known.student_timezone(attempt.student_id)).date()
    if local_day < attempt.night:
        out.append(
            (
                "submitted_at",
                FieldError(
                    f"提交时间早于作业当晚 {attempt.night.isoformat()}",
                    f"submitted before the night it belongs to ({attempt.night.isoformat()})",
                ),
            )
        )
    return out


def _check_error_entry(entry: ErrorBookEntry, known: Known) -> list[tuple[str, FieldError]]:
    out = []
    if entry.student_id not in known.student_classes:
        out.append(_unknown("student_id", "学生", "student", entry.student_id))
    if entry.item_id not in known.item_subjects:
        out.append(_unknown("item_id", "题目", "item", entry.item_id))
    out += _future("created_at", entry.created_at, known)
    if entry.resolved_at is not None:
        out += _future("resolved_at", entry.resolved_at, known)
        if entry.resolved_at < entry.created_at:
            out.append(
                (
                    "resolved_at",
                    FieldError("订正时间早于错题记录时间", "resolved before the error was recorded"),
                )
            )
    return out


def _spec(spec: RecordSpec) -> RecordSpec:
    RecordSpec.KINDS[spec.kind] = spec
    return spec


_id = parse_id
_name = text_parser(100)


def _timestamp(value: Any) -> datetime:
    return parse_timestamp(value, ZoneInfo(DEFAULT_TIMEZONE))


SCHOOLS = _spec(
    RecordSpec(
        "schools",
        School,
        (
            Column("school_id", _id, zh="学校标识"),
            Column("name", _name, zh="校名"),
            Column("region", text_parser(100), zh="地区"),
            Column("policy", _id, required=False, zh="政策文件"),
            Column("timezone", parse_timezone, required=False, zh="时区"),
        ),
        key=("school_id",),
        zh="学校",
    )
)
KNOWLEDGE_POINTS = _spec(
    RecordSpec(
        "knowledge_points",
        KnowledgePoint,
        (
            Column("kp_id", _id, zh="知识点标识"),
            Column("subject", parse_subject, zh="学科"),
            Column("grade", parse_grade, zh="课标年级"),
            Column("unit", parse_unit, zh="教材单元"),
            Column("order", integer_parser(1, 100_000), zh="教学顺序"),
            Column("name", _name, zh="名称"),
            Column("prerequisites", parse_id_list, required=False, zh="前置知识点"),
        ),
        key=("kp_id",),
        zh="知识点",
        checks=(_check_kp,),
    )
)
ITEMS = _spec(
    RecordSpec(
        "items",
        Item,
        (
            Column("item_id", _id, zh="题目标识"),
            Column("subject", parse_subject, zh="学科"),
            Column("kp_ids", parse_id_list, zh="知识点"),
            Column("grade", parse_grade, zh="年级"),
            Column("kind", parse_kind, zh="类型"),
            Column("stem", text_parser(MAX_TEXT), zh="题干"),
            Column("needs_parent", parse_bool, required=False, zh="需家长参与"),
            Column("dup_group", _id, required=False, zh="近似题组"),
            Column("est_minutes", number_parser(0, 120, lo_open=True), required=False, zh="预估分钟"),
            Column("answer", text_parser(1000), required=False, zh="答案"),
        ),
        key=("item_id",),
        zh="题目",
        checks=(_check_item,),
    )
)
CLASSES = _spec(
    RecordSpec(
        "classes",
        SchoolClass,
        (
            Column("class_id", _id, zh="班级标识"),
            Column("school_id", _id, zh="学校标识"),
            Column("grade", parse_grade, zh="年级"),
            Column("name", _name, zh="班级名称"),
            Column("subjects", lambda v: tuple(parse_subject(s) for s in parse_id_list(v)), zh="学科"),
        ),
        key=("class_id",),
        zh="班级",
        checks=(_check_class,),
    )
)
STUDENTS = _spec(
    RecordSpec(
        "students",
        Student,
        (
            Column("student_id", parse_pseudonymous_id, zh="学生标识"),
            Column("class_id", _id, zh="班级标识"),
            Column("display_name", text_parser(40), required=False, zh="显示名"),
            Column(
                "personal_cap_minutes",
                integer_parser(0, 240, (" 分钟", " minutes")),
                required=False,
                zh="个人上限",
            ),
        ),
        key=("student_id",),
        zh="学生",
        checks=(_check_student,),
    )
)
TEACHING_PROGRESS = _spec(
    RecordSpec(
        "teaching_progress",
        TeachingProgress,
        (
            Column("class_id", _id, zh="班级标识"),
            Column("subject", parse_subject, zh="学科"),
            Column("kp_id", _id, zh="知识点"),
            Column("taught_on", parse_date, zh="授课日期"),
        ),
        key=("class_id", "kp_id"),
        zh="教学进度",
        checks=(_check_progress,),
    )
)
CALENDAR = _spec(
    RecordSpec(
        "calendar",
        CalendarDay,
        (
            Column("school_id", _id, zh="学校标识"),
            Column("day", parse_date, zh="日期"),
            Column("day_type", parse_day_type, zh="日期类型"),
            Column("note", text_parser(100), required=False, zh="备注"),
        ),
        key=("school_id", "day"),
        zh="校历",
        checks=(_check_calendar,),
    )
)
ATTEMPTS = _spec(
    RecordSpec(
        "attempts",
        Attempt,
        (
            Column("event_id", _id, zh="事件标识"),
            Column("student_id", _id, zh="学生标识"),
            Column("item_id", _id, zh="题目标识"),
            Column("night", parse_date, zh="作业日期"),
            Column("submitted_at", _timestamp, zh="提交时间"),
            Column("correct", parse_bool, zh="是否正确"),
            Column(
                "seconds",
                integer_parser(1, MAX_ATTEMPT_SECONDS, (" 秒（6 小时）", " seconds (6 hours)")),
                required=False,
                zh="用时（秒）",
            ),
            Column("score", number_parser(0, 1), required=False, zh="得分"),
            Column("source", parse_source, required=False, zh="来源"),
        ),
        key=("event_id",),
        zh="作业记录",
        checks=(_check_attempt,),
        timestamps=("submitted_at",),
        immutable=True,
    )
)
ERROR_BOOK = _spec(
    RecordSpec(
        "error_book",
        ErrorBookEntry,
        (
            Column("entry_id", _id, zh="错题标识"),
            Column("student_id", _id, zh="学生标识"),
            Column("item_id", _id, zh="题目标识"),
            Column("created_at", _timestamp, zh="记录时间"),
            Column("error_type", parse_error_type, required=False, zh="错因"),
            Column("resolved_at", _timestamp, required=False, zh="订正时间"),
            Column("event_id", _id, required=False, zh="来源事件"),
        ),
        key=("entry_id",),
        zh="错题本",
        checks=(_check_error_entry,),
        timestamps=("created_at", "resolved_at"),
    )
)

# Reference data first: each kind may only point at kinds before it.
IMPORT_ORDER: tuple[str, ...] = (
    "schools",
    "knowledge_points",
    "items",
    "classes",
    "students",
    "teaching_progress",
    "calendar",
    "attempts",
    "error_book",
)


def spec_for(kind: str) -> RecordSpec:
    return RecordSpec.KINDS[kind]


@lru_cache(maxsize=32)
def _plan(spec: RecordSpec) -> tuple[tuple[str, Callable[[Any], Any], bool, str, bool], ...]:
    return tuple((c.name, c.parse, c.required, c.zh, c.name in spec.timestamps) for c in spec.columns)


def validate_record(
    spec: RecordSpec, raw: Mapping[str, Any], known: Known
) -> tuple[Any | None, list[tuple[str, FieldError]]]:
    """Turn one raw row (CSV strings or JSON values) into a record, or say what is wrong with it.

    Returns (record, []) or (None, [(column, error), ...]). Blank values count as missing.
    """
    values: dict[str, Any] = {}
    errors: list[tuple[str, FieldError]] = []
    later: list[tuple[str, Any]] = []
    for name, parse, required, zh, is_timestamp in _plan(spec):
        raw_value = raw.get(name)
        if raw_value is None or raw_value == "" or (type(raw_value) is str and raw_value.isspace()):
            if required:
                errors.append((name, FieldError(f"缺少必填值（{zh}）", f"a value is required ({name})")))
        elif is_timestamp:
            later.append((name, raw_value))  # read in the student's school time zone, once ids are parsed
        else:
            try:
                values[name] = parse(raw_value)
            except FieldError as exc:
                errors.append((name, exc))
    if later:
        tz = known.student_timezone(values.get("student_id", ""))
        for name, raw_value in later:
            try:
                values[name] = parse_timestamp(raw_value, tz)
            except FieldError as exc:
                errors.append((name, exc))
    if errors:
        return None, errors
    record = spec.record(**values)
    for check in spec.checks:
        errors += check(record, known)
    if errors:
        return None, errors
    return record, []


_FIELDS: dict[type, tuple[tuple[str, ...], Callable[[Any], Any]]] = {}


def _fields_of(record_type: type) -> tuple[tuple[str, ...], Callable[[Any], Any]]:
    found = _FIELDS.get(record_type)
    if found is None:
        names = tuple(f.name for f in fields(record_type))
        found = _FIELDS[record_type] = (names, attrgetter(*names))
    return found


def record_values(record: Any) -> tuple[Any, ...]:
    """The record's values in field order."""
    return _fields_of(type(record))[1](record)


def record_as_dict(record: Any) -> dict[str, Any]:
    return dict(zip(_fields_of(type(record))[0], record_values(record), strict=True))


def check_knowledge_graph(
    rows: Iterable[tuple[int, KnowledgePoint]], known: Known
) -> list[tuple[int, str, FieldError]]:
    """Prerequisites that name no known knowledge point, and prerequisite cycles: (row, column, error)."""
    rows = list(rows)
    out: list[tuple[int, str, FieldError]] = []
    for row, kp in rows:
        for pre in kp.prerequisites:
            if pre not in known.kp_subjects:
                out.append(
                    (
                        row,
                        "prerequisites",
                        FieldError(
                            f"未知的前置知识点 {pre!r}", f"unknown prerequisite knowledge point {pre!r}"
                        ),
                    )
                )
    graph = dict(known.kp_prerequisites)
    row_of = {kp.kp_id: row for row, kp in rows}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                cycle = " → ".join([*path[path.index(nxt) :], nxt])
                out.append(
                    (
                        row_of.get(node, 0),
                        "prerequisites",
                        FieldError(f"前置关系成环：{cycle}", f"prerequisites form a cycle: {cycle}"),
                    )
                )
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for kp_id in row_of:
        if kp_id not in state:
            visit(kp_id, [kp_id])
    return out
