"""The typed objects the domain functions take and return — also the bodies of API v1 (with the
examples its OpenAPI page shows) and what the pages render."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

# Inputs are read as written, not coerced: a date is "YYYY-MM-DD" (not a number of seconds), a
# number is a JSON number (not true), a flag is true or false (not "yes").
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        return value
    raise ValueError("expected a date written YYYY-MM-DD")


_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _iso_time(value: Any) -> Any:
    if isinstance(value, datetime) or (isinstance(value, str) and _TIME.match(value)):
        return value
    raise ValueError("expected an ISO 8601 time with its UTC offset, e.g. 2026-11-10T19:40:00+08:00")


def _query_flag(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("expected true or false")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
IsoTime = Annotated[AwareDatetime, BeforeValidator(_iso_time)]
QueryFlag = Annotated[bool, BeforeValidator(_query_flag)]
Number = Annotated[float, Field(strict=True)]
Whole = Annotated[int, Field(strict=True)]
Flag = Annotated[bool, Field(strict=True)]
Subject = Annotated[str, Field(pattern=r"^[a-z][a-z_]{0,15}$", description="a subject, e.g. math")]

# Ids in request bodies: as long as the data contract's ids (models.schema: at most 64 characters).
Id = Annotated[str, Field(min_length=1, max_length=64)]

SubjectStr = str
Tier = Literal["basic", "extension"]


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds")
    role: str


class Me(BaseModel):
    user_id: str
    username: str
    role: str
    students: list[str]
    classes: dict[str, list[str]]
    schools: list[str]
    districts: list[str] = []


class PlanRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"subject": "math", "night": "2026-11-10", "focus_kps": ["math-g5-12"], "share_minutes": 30}
            ]
        },
    )
    subject: Subject
    night: IsoDate
    focus_kps: list[Id] = Field(default_factory=list, max_length=20, description="today's lesson")
    share_minutes: Number | None = Field(
        default=None, gt=0, le=240, description="at most this many minutes of the evening for this subject"
    )
    replan: Literal["missing", "replace_drafts"] | None = Field(
        default=None,
        description="when the class already has sets for the subject and night (else 409 saying what is "
        "there): 'missing' plans only students without a set; 'replace_drafts' discards the drafts and plans "
        "every student without a published set. Published sets are never changed.",
    )


class PlannedItemOut(BaseModel):
    item_id: str
    tier: Tier
    kind: str
    kps: list[str]
    typical_minutes: float
    p_correct: float
    review: bool
    reason_zh: str
    reason_en: str


class StudentPlanOut(BaseModel):
    student_id: str
    display_name: str | None
    status: str
    plan_id: str | None
    items: list[PlannedItemOut]
    typical_minutes: float
    conservative_minutes: float
    available_minutes: float
    method: str
    notes: list[str]
    violations: list[str]
    levels: dict[str, str] = Field(description="mastery level (等级 A-D) per knowledge point; never a rank")


class NoTime(BaseModel):
    """Why some students of a class get nothing in a subject tonight, and what to do about it."""

    reason: Literal["no_share", "share_used", "evening_full", "no_homework"] = Field(
        description="no_share: the split of tonight gives the subject no minutes; share_used: its minutes are "
        "taken by sets already made; evening_full: other subjects hold the whole evening; no_homework: the "
        "grade has no homework time (T1)"
    )
    subject: str
    night: date
    students: list[str] = Field(description="the students it applies to (pseudonymous ids)")
    subjects_tonight: list[str] = Field(description="the subjects that have the evening's time")
    split: Literal["default", "set"] = Field(
        description="whether the split in force is the school's default or the head teacher's"
    )
    zh: str
    en: str
    fix: str = Field(description="the page where it is changed (the head teacher's allocations)")


class ClassPlanOut(BaseModel):
    class_id: str
    subject: str
    night: date
    model_version: str | None
    students: list[StudentPlanOut]
    summary: dict[str, Any]
    no_time: list[NoTime] = Field(
        default_factory=list, description="why students got nothing (status no_time), and what to do"
    )


class PlanChanged(BaseModel):
    plan_id: str
    status: str


class PublishClass(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"subject": "math", "night": "2026-11-10"}]}
    )
    subject: Subject
    night: IsoDate


class Published(BaseModel):
    published: list[str]
    not_published: dict[str, str] = Field(description="plan -> why (expired, not a draft)")


class CheckItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_id: str = Field(min_length=1, max_length=64)
    tier: Tier = "basic"
    minutes: float | None = Field(
        default=None, gt=0, le=240, description="your estimate; the model's is the floor"
    )
    review: bool = False


class CheckRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "student_id": "stu-0ab6b770",
                    "night": "2026-11-10",
                    "subject": "math",
                    "items": [{"item_id": "math-g5-12-001", "tier": "basic"}],
                }
            ]
        },
    )
    student_id: str = Field(min_length=1, max_length=64)
    night: IsoDate
    subject: Subject
    items: list[CheckItem] = Field(min_length=1, max_length=60)


class ViolationOut(BaseModel):
    rule: str
    item_id: str | None
    zh: str
    en: str


class CheckResult(BaseModel):
    ok: bool
    violations: list[ViolationOut]
    typical_minutes: float
    conservative_minutes: float


class AttemptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_id: str = Field(
        min_length=1, max_length=64, description="the client's id: a re-sent answer is stored once"
    )
    item_id: str = Field(min_length=1, max_length=64)
    night: IsoDate
    submitted_at: IsoTime
    correct: Flag | None = Field(
        default=None,
        description="right or wrong as the student, a parent or a teacher says it (self-report); "
        "give `answer` instead for an item graded on the server",
    )
    answer: str | None = Field(
        default=None,
        max_length=2000,
        description="the answer as typed, graded on the server for written items with an answer key "
        "(service.grading: 0.5 = 1/2, full-width digits, the unit the item names); at most 100 characters",
    )
    seconds: Whole | None = Field(default=None, ge=1, le=21600)
    score: Number | None = Field(default=None, ge=0, le=1)
    source: Literal["app", "paper", "teacher"] = "app"

    @model_validator(mode="after")
    def _one_of(self) -> AttemptIn:
        if (self.correct is None) == (self.answer is None):
            raise ValueError(
                "give either `correct` (self-report) or `answer` (graded), not both, not neither"
            )
        return self


class AttemptBatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "attempts": [
                        {
                            "event_id": "app-7f3a-0001",
                            "item_id": "math-g5-12-001",
                            "night": "2026-11-10",
                            "submitted_at": "2026-11-10T19:42:00+08:00",
                            "correct": False,
                            "seconds": 140,
                        }
                    ]
                }
            ]
        },
    )
    attempts: list[AttemptIn] = Field(min_length=1, max_length=500)


class GradedOut(BaseModel):
    event_id: str
    item_id: str
    correct: bool = Field(description="the server's grading of the typed answer (the key itself is not sent)")


class AttemptsStored(BaseModel):
    stored: int
    already_stored: int
    error_book_opened: int
    error_book_resolved: int
    graded: list[GradedOut] = Field(default=[], description="each typed answer of the batch, right or wrong")


class TonightItem(BaseModel):
    plan_id: str
    subject: str
    item_id: str
    tier: Tier
    kind: str
    stem: str = Field(description="the question as the student reads it (题干)")
    typical_minutes: float
    reason_zh: str
    reason_en: str
    done: bool
    result: Literal["right", "wrong"] | None = Field(
        default=None, description="a done item's result (the last answer tonight)"
    )
    graded: bool = Field(
        default=False,
        description="the answer is typed and graded on the server (send `answer`); else the student "
        "reports right or wrong (reading, practical, oral work)",
    )
    timed_out: bool = Field(
        default=False, description="not done because the evening's time ran out (作业熔断): not held against"
    )


class Tonight(BaseModel):
    student_id: str
    night: date
    cap_minutes: float | None
    planned_minutes: float = Field(description="typical minutes of everything set tonight")
    bound_minutes: float = Field(
        default=0.0,
        description="the conservative bound (保守估计) of everything set tonight: the same "
        "figures as the teacher's preview and the worksheet (service.policy.minutes)",
    )
    items: list[TonightItem]
    left_out: int = Field(default=0, description="items that do not fit before bedtime when `now` is given")
    bedtime: str | None = None
    excused: bool = Field(
        default=False,
        description="a parent excused tonight's written work (家长签字免写, T12): it is not to be done, "
        "and nothing of it moves to another night",
    )
    stopped: Literal["cap", "bedtime"] | None = Field(
        default=None,
        description="the evening was stopped because its time was up (作业熔断): the cap reached by real "
        "minutes, or bedtime; what was left is not done, not held against the student, not carried over",
    )
    spent_minutes: float = Field(default=0.0, description="real minutes recorded by tonight's answers")


class ItemPoint(BaseModel):
    kp_id: str
    name: str


class ItemOut(BaseModel):
    """One item of the bank as a student app shows it; its answer only for a teacher of its subject."""

    item_id: str
    subject: str
    grade: int
    kind: str
    stem: str = Field(description="the question as the student reads it (题干)")
    points: list[ItemPoint] = Field(description="its knowledge points, first the main one")
    needs_parent: bool
    estimated_minutes: float | None = Field(description="the author's estimate, if any")
    answer: str | None = Field(
        default=None, description="the answer key: only for a teacher of the item's subject, never a family"
    )


class ErrorBookEntry(BaseModel):
    entry_id: str
    item_id: str
    subject: str
    kps: list[str]
    created_at: datetime
    resolved_at: datetime | None
    error_type: str


class BookItem(BaseModel):
    """One error-book entry as a student reads it: the question, when it went wrong, and whether it has
    been right since (a record, not homework: reviews come only through the planner, T11)."""

    entry_id: str
    item_id: str
    stem: str = Field(description="the question (题干)")
    went_wrong: datetime
    right_since: datetime | None = Field(description="when it was answered right afterwards, if it was")


class BookPoint(BaseModel):
    kp_id: str
    name: str = Field(description="the knowledge point's name (知识点)")
    entries: list[BookItem]


class BookSubject(BaseModel):
    subject: str
    points: list[BookPoint]


class ErrorBookByPoint(BaseModel):
    """A student's error book grouped by subject and knowledge point, only items of the student's own
    grade and their class's subjects (another grade's item in the book is left out)."""

    student_id: str
    display_name: str | None = None
    open_entries: int
    subjects: list[BookSubject]


class ExemptionIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"night": "2026-11-10", "note": "发烧"}]}
    )
    night: IsoDate
    note: str | None = Field(default=None, max_length=200)


class ExemptionOut(BaseModel):
    student_id: str
    night: date
    recorded: bool
    excused: bool = Field(
        default=True, description="whether the evening is excused now (false after an undo)"
    )
    note: str | None = Field(default=None, description="the parent's reason")


class StopIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"night": "2026-11-10"}]})
    night: IsoDate


class StopOut(BaseModel):
    """作业熔断: the evening stopped because its time was up; what was left is not done, never held
    against the student, never carried to another night (T12), kept as a censored observation."""

    student_id: str
    night: date
    reason: Literal["cap", "bedtime"]
    minutes_spent: float
    items_left: list[str] = Field(description="the items not done because time ran out")
    recorded: bool = Field(description="false when the evening had already been stopped")


class AllocationIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"weights": {"math": 1, "chinese": 1}}]}
    )
    weights: dict[Annotated[str, Field(pattern=r"^[a-z][a-z_]{0,15}$")], Number] = Field(
        min_length=1, max_length=12, description="subject -> share (> 0)"
    )


class DaySplit(BaseModel):
    split: Literal["default", "set"] = Field(description="the school's default or the head teacher's")
    weights: dict[str, float]
    minutes: dict[str, float] = Field(description="each subject's minutes of the evening's cap")


class Allocations(BaseModel):
    class_id: str
    weekdays: dict[int, dict[str, float]] = Field(
        description="0 = Monday .. 6 = Sunday; absent = the school default"
    )
    cap_minutes: float | None = Field(default=None, description="the class's evening cap (the grade's)")
    in_force: dict[int, DaySplit] = Field(
        default_factory=dict,
        description="every weekday's split in force (set or default), in minutes of the cap; a student with "
        "a lower cap of their own gets the same proportions of it",
    )


class ReleaseIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"night": "2026-11-10", "subject": "math", "to_subjects": ["chinese"]}]
        },
    )
    night: IsoDate
    subject: Subject
    to_subjects: list[Subject] = Field(min_length=1, max_length=12)


class Released(BaseModel):
    class_id: str
    night: date
    subject: str
    minutes_moved: float = Field(description="summed over the class's students, this night only")


class StudentEvening(BaseModel):
    student_id: str
    display_name: str | None
    cap_minutes: float | None
    reserved_minutes: dict[str, float] = Field(description="conservative minutes held per subject")
    planned_minutes: dict[str, float] = Field(
        description="typical minutes per subject (drafts and published)"
    )
    exempt: bool
    reported_minutes: float | None
    typical_minutes: float = Field(
        0.0,
        description="typical minutes of the evening's sets, all subjects (service.policy.minutes); 0 if excused",
    )
    bound_minutes: float = Field(
        0.0, description="conservative bound of the evening's sets, all subjects (保守估计); 0 if excused"
    )
    subjects: list[str] = Field(
        default_factory=list,
        description="subjects whose set is handed out to the student tonight (none if excused)",
    )


class SubjectTonight(BaseModel):
    subject: str
    handed_out: int = Field(
        description="students whose set of the subject is handed out tonight (not excused)"
    )
    drafts: int = Field(description="students with a draft of the subject not yet published (not excused)")


class ClassEvening(BaseModel):
    class_id: str
    night: date
    students: list[StudentEvening]
    homework: list[SubjectTonight] = Field(
        default_factory=list,
        description="the subjects with sets tonight (handed out or drafted), and for how many students",
    )
    excused: int = Field(0, description="students whose evening a parent excused (T12): no minutes counted")


class NoticeDay(BaseModel):
    night: date
    subjects: dict[str, float] = Field(description="average typical minutes per student, per subject")
    total_minutes: float = Field(description="average typical minutes per student, all subjects")
    items: float = Field(description="average number of items per student")


class Notice(BaseModel):
    class_id: str
    week_of: date
    days: list[NoticeDay]
    cap_minutes: float
    sets_handed_out: int = Field(
        0, description="sets handed out to the class that week (excused evenings' left out)"
    )
    note: str = (
        "班级作业总量公示：只含全班平均，不含任何学生个人信息 / class totals only, no individual data (R3)"
    )


class EveningReportIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"night": "2026-11-10", "minutes": 55}]}
    )
    night: IsoDate
    minutes: Number = Field(ge=0, le=720)


class BurdenDay(BaseModel):
    night: date
    cap_minutes: float
    estimated_minutes: float = Field(description="average planned (typical) minutes per student with work")
    reported_minutes: float | None = Field(description="average real minutes, where reported")
    reports: int
    over_cap: int = Field(description="students whose reported evening exceeded the cap")
    over_cap_students: list[str] = Field(
        description="who they are, for the head teacher to act on (never ranked)"
    )


class Burden(BaseModel):
    class_id: str
    days: list[BurdenDay]
    flagged: bool = Field(description="some reported evening exceeded the cap")


class EditRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"items": [{"item_id": "math-g5-12-001", "tier": "basic"},
                                                   {"item_id": "math-g5-12-004", "tier": "extension"}]}]},
    )  # fmt: skip
    items: list[CheckItem] = Field(min_length=1, max_length=60)


class EditedPlan(BaseModel):
    plan_id: str
    status: str
    items: list[dict[str, Any]]
    typical_minutes: float
    conservative_minutes: float


class ProgressIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"subject": "math", "points": {"math-g5-13": "2026-11-10"}}]},
    )
    subject: Subject
    points: dict[Id, IsoDate] = Field(
        min_length=1, max_length=200, description="knowledge point -> taught on"
    )


class ProgressOut(BaseModel):
    class_id: str
    subject: str
    recorded: int


class StudentLevels(BaseModel):
    student_id: str
    display_name: str | None
    levels: dict[str, str]


class ClassMastery(BaseModel):
    class_id: str
    subject: str
    night: date
    model_version: str
    levels: list[StudentLevels] = Field(description="by pseudonymous id; levels A-D, never ranks (R5)")
    attention: list[str] = Field(description="students with a D on a point taught in the last two weeks (R6)")


class ImportResult(BaseModel):
    committed: bool
    files: list[str]
    counts: dict[str, dict[str, int]]
    erased_rows_left_out: int


class ImportProblem(BaseModel):
    file: str
    row: int | None
    field: str | None
    detail: str
    detail_zh: str | None = None
    sheet: str | None = Field(None, description="in an Excel workbook: the sheet")
    cell: str | None = Field(
        None, description="in an Excel workbook: the cell (C14), cells (A1:B1) or row (14:14)"
    )
    where: str | None = Field(
        None,
        description="the place as people write it: file:row:field, or file:sheet!cell (students.xlsx:学生!C14)",
    )


class ImportProgress(BaseModel):
    phase: Literal["receiving", "queued", "checking", "writing", "done"] = "queued"
    rows_checked: int = 0
    rows_written: int = Field(default=0, description="rows handled in the write transaction (all or nothing)")


class ImportJob(BaseModel):
    """An import running in the background: poll GET /v1/imports/{job_id} until it is done (the
    result, as a synchronous import answered it) or failed (the problems by file, row and field)."""

    job_id: str
    state: Literal["queued", "running", "done", "failed", "interrupted"]
    dry_run: bool
    files: list[str]
    progress: ImportProgress
    detail: str | None = Field(None, description="why it failed or was interrupted")
    detail_zh: str | None = None
    problems: list[ImportProblem] = Field(default_factory=list)
    problem_count: int = 0
    result: ImportResult | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class ModelStatus(BaseModel):
    ready: bool
    version: str | None
    status: dict[str, Any]


class Reloaded(BaseModel):
    outcome: str
    version: str | None


class Erased(BaseModel):
    student_id: str
    removed: dict[str, int] = Field(description="rows removed, table by table")
    erased_at: datetime
    note: str = "已删除；今后的导入会跳过该学生，导出中不会出现 / deleted; later imports leave the student out, no export contains them"


class ReliabilityBin(BaseModel):
    lo: float
    hi: float
    answers: int
    predicted: float = Field(description="mean P(correct) of the bin's answers")
    observed: float = Field(description="share of them right")


class HealthGroup(BaseModel):
    school_id: str
    subject: str
    answers: int
    ece: float = Field(description="expected calibration error of P(correct) (10 equal-width bins)")
    reliability: list[ReliabilityBin]
    sources: dict[str, float] = Field(description="share of the answers by who marked them")


class SchoolCoverage(BaseModel):
    school_id: str
    timed_evenings: int = Field(description="sittings of timed answers in the window")
    timed_within_bound: float | None = Field(description="share of them the model's evening bound covered")
    reported_evenings: int = Field(description="evenings families reported (R4) that had published sets")
    reported_within_bound: float | None = Field(description="share of them within the sets' bound")


class HealthFlag(BaseModel):
    kind: Literal["calibration", "coverage"]
    school_id: str
    subject: str | None
    detail: str
    detail_zh: str


class ModelHealth(BaseModel):
    version: str
    start: date
    until: date
    days: int
    answers: int = Field(description="answers in the window")
    reference_ece: float | None = Field(description="the calibration error the version was registered with")
    coverage_target: float
    groups: list[HealthGroup]
    coverage: list[SchoolCoverage]
    flags: list[HealthFlag]


# -- District (教育局) figures (issue 19): classes and schools as a whole, never a student ----------


class UnitFigures(BaseModel):
    """A class's (or a school's, or the district's) evenings over the period, as counts and shares:
    nothing in it is about one student."""

    classes: int = Field(description="classes counted in these figures")
    classes_with_sets: int = Field(description="classes with homework set in the period")
    classes_with_reports: int = Field(description="classes with a reported (or recorded) evening")
    classes_within_cap_estimated: int = Field(
        description="classes with sets, none of whose evenings went over the cap by estimated time"
    )
    classes_within_cap_reported: int = Field(
        description="classes with reports, none of whose evenings went over the cap by reported time (R4)"
    )
    evenings_estimated: int = Field(description="student evenings with homework set")
    evenings_over_cap_estimated: int
    evenings_reported: int = Field(description="student evenings with a reported (or recorded) time")
    evenings_over_cap_reported: int = Field(description="reported evenings over the cap (R4): how often")
    nights_over_cap_reported: int = Field(
        description="nights on which at least one reported evening was over the cap"
    )
    over_cap_mean_minutes: float | None = Field(
        description="by how much: the average minutes over the cap of those evenings"
    )
    sets: int = Field(description="homework sets handed out (one student, one night, one subject)")
    sets_both_tiers: int = Field(description="sets with both a basic and an extension tier")
    items: int
    non_written_items: int = Field(description="practical, inquiry, reading, oral and physical items (C7)")
    exemptions: int = Field(description="evenings a parent excused (T12)")
    share_within_cap_estimated: float | None = Field(None, description="of the classes with sets")
    share_within_cap_reported: float | None = Field(None, description="of the classes with reports")
    tiering_share: float | None = None
    non_written_share: float | None = None


class DistrictUnit(BaseModel):
    """One class, or a school's small classes together ("other classes"); figures withheld
    (`suppressed`) where fewer students than the threshold stand behind them."""

    unit_id: str = Field(
        description="the class id, or '<school>/other' for the school's small classes together"
    )
    name: str
    grade: int | None
    classes: int
    students: int | None = Field(description="how many students (withheld when suppressed)")
    suppressed: bool
    figures: UnitFigures | None


class DistrictSchool(BaseModel):
    school_id: str
    name: str
    classes: int
    suppressed: bool
    withheld_classes: int = Field(
        description="classes withheld (too few students) and so left out of the school's figures: the "
        "totals are over the shown classes only, so no subtraction gives a withheld class away"
    )
    figures: UnitFigures | None
    units: list[DistrictUnit]


class DistrictSummary(BaseModel):
    district_id: str
    name: str
    start: date
    end: date
    min_class_size: int = Field(description="classes with fewer students are merged or withheld")
    figures: UnitFigures = Field(description="the district's totals, over the shown classes only")
    withheld_classes: int = Field(
        description="classes withheld (too few students) and left out of every total, the district's too"
    )
    schools: list[DistrictSchool]
    over_cap_units: list[str] = Field(description="classes (units) with reported evenings over the cap (R4)")
    over_cap_schools: list[str] = Field(description="schools with reported evenings over the cap (R4)")
    note: str = (
        "只含班级和学校的合计，不含任何学生个人信息 / classes and schools as a whole, no individual data"
    )


class DistrictNotices(BaseModel):
    district_id: str
    week_of: date
    notices: list[Notice]
    withheld: list[str] = Field(description="classes below the threshold: their notices are not shown here")
    note: str = "各班作业公示（R3）：只含全班平均 / every class's weekly notice (R3): class averages only"


class DistrictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    district_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=100)
    schools: list[str] = Field(min_length=1)
